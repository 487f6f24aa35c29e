import { defineConfig } from '@playwright/test';
import * as path from 'node:path';
import bench from './playwright.bench.config';

// `scripts/screenshot`: the benchmark's one Parley (release build), on a database of its own,
// a short conversation, and screenshots of it (docs/screenshot.png for the README; light, dark
// and 375 px wide under end2end/test-results/screenshots for review). Not part of the test suite.
const server = bench.webServer as { env: Record<string, string> };

export default defineConfig({
  ...bench,
  testDir: './docs',
  webServer: {
    ...server,
    env: {
      ...server.env,
      PARLEY_DATA_DIR: process.env.PARLEY_E2E_DATA_DIR ?? path.join(__dirname, '.cache', 'screenshot-data'),
    },
  } as typeof bench.webServer,
});
