import { defineConfig } from '@playwright/test';
import * as path from 'node:path';
import base from './playwright.config';

// `scripts/screenshot`: one Parley (release build) on a fresh database, a short conversation,
// and screenshots of it (docs/screenshot.png for the README; light, dark and 375 px wide under
// end2end/test-results/screenshots for review). Not part of the test suite.
const port = Number(process.env.PARLEY_E2E_PORT ?? 3190);
const root = path.resolve(__dirname, '..');

export default defineConfig({
  ...base,
  testDir: './docs',
  fullyParallel: false,
  workers: 1,
  use: { ...base.use, baseURL: `http://127.0.0.1:${port}` },
  webServer: {
    command: path.join(root, 'target', 'release', 'parley'),
    cwd: root,
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      LEPTOS_OUTPUT_NAME: 'parley',
      LEPTOS_SITE_ROOT: path.join(root, 'target', 'site'),
      LEPTOS_SITE_PKG_DIR: 'pkg',
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      PARLEY_DATA_DIR: process.env.PARLEY_E2E_DATA_DIR ?? path.join(__dirname, '.cache', 'screenshot-data'),
      RUST_LOG: 'warn',
    },
  },
});
