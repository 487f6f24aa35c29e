import { defineConfig, devices } from '@playwright/test';
import * as path from 'node:path';

// scripts/test picks a free port and a temporary data dir; these defaults serve a manual run.
const port = Number(process.env.PARLEY_E2E_PORT ?? 3100);
const dataDir = process.env.PARLEY_E2E_DATA_DIR ?? path.join(__dirname, '.cache', 'data');
const root = path.resolve(__dirname, '..');
// The two nodes of the cross-node tests (tests/cluster.spec.ts) listen on the next two ports.
export const clusterPorts = [port + 1, port + 2];

/** What every Parley process of the run gets. */
const serverEnv = {
  LEPTOS_OUTPUT_NAME: 'parley',
  LEPTOS_SITE_ROOT: path.join(root, 'target', 'site'),
  LEPTOS_SITE_PKG_DIR: 'pkg',
  // A scripted test participant fills rooms faster than a person types, and every browser
  // context of a run connects from 127.0.0.1 (the limits have their own Rust tests).
  PARLEY_RATE_PER_SECOND: '1000',
  PARLEY_RATE_BURST: '1000',
  PARLEY_MAX_CONNECTIONS_PER_IP: '1000',
  PARLEY_MAX_CONNECTIONS_PER_PERSON: '100',
  // Parallel tests sign the same few names in many times and create many rooms, and every
  // registration and sign-in of a run comes from 127.0.0.1 (the per-address default of 30 a
  // minute was hit once the whole run took three minutes).
  PARLEY_SIGN_IN_ATTEMPTS_PER_MINUTE: '1000',
  PARLEY_AUTH_ATTEMPTS_PER_ADDRESS_PER_MINUTE: '10000',
  PARLEY_MAX_ROOMS_PER_PERSON: '1000',
  // The administrators of the tests: bots.spec.ts shares "Moderator" (it only calls the admin
  // API); each test of moderation.spec.ts has its own, because every tab of a person hears that
  // person's news (a room deleted in one test is a notice in another test's tab of the same
  // administrator, replacing the status that test waits for).
  PARLEY_ADMINS: 'Moderator,Mod-Ban,Mod-Delete,Mod-Panel,Mod-Sessions',
  RUST_LOG: process.env.RUST_LOG ?? 'info',
};

export default defineConfig({
  testDir: './tests',
  outputDir: path.join(__dirname, 'test-results'),
  // The budget for a whole scenario, not a speed check: every step still has its own 10 s
  // expect timeout. The three-person scenario took 19 s in one CI run and over 60 s in another
  // on the same two cores (three Chromium pages, two test workers, three Parley nodes).
  timeout: 120_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  forbidOnly: true,
  retries: 0,
  workers: 2,
  // The second prints each failure's page snapshot: CI keeps the output, not test-results/.
  reporter: [['list'], ['./failure-reporter.ts']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        // Debian's Chromium: Playwright's own browser download is not reachable here.
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          args: [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
          ],
        },
      },
    },
  ],
  // The release build made by `cargo leptos build --release --precompress --split` (scripts/test).
  webServer: [
    {
      command: path.join(root, 'target', 'release', 'parley'),
      cwd: root,
      url: `http://127.0.0.1:${port}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'pipe',
      stderr: 'pipe',
      env: { ...serverEnv, LEPTOS_SITE_ADDR: `127.0.0.1:${port}`, PARLEY_DATA_DIR: dataDir },
    },
    {
      // Two nodes on their own Redis and PostgreSQL (Debian's packages, started in a temp dir).
      command: `${path.join(__dirname, 'cluster.sh')} ${clusterPorts.join(' ')}`,
      cwd: root,
      url: `http://127.0.0.1:${clusterPorts[1]}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'pipe',
      stderr: 'pipe',
      // The script stops Redis and PostgreSQL on SIGTERM (a SIGKILL would leave them running).
      gracefulShutdown: { signal: 'SIGTERM', timeout: 10_000 },
      env: serverEnv,
    },
  ],
});
