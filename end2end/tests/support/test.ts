import { test as base, expect } from '@playwright/test';
import { openBots } from './bot';

export { expect };

/**
 * Parley's `test`: Playwright's, plus one promise: every browser context a test opens itself
 * (`browser.newContext()`, as `person()` does for each participant) is closed when the test
 * ends, pass or fail. Playwright closes only the context of its own `context` fixture. A context
 * left open keeps its page and its socket alive for the rest of the worker: every later
 * broadcast (presence, typing, lobby messages) reaches it and two cores go on rendering it, so
 * the last tests of a run got slower as the run went on until one timed out with some forty
 * idle chat pages behind it. Bots (support/bot.ts) a failed test did not close are closed too.
 *
 * The fixture is automatic, so it is set up before and torn down after every other fixture of
 * the test: failure screenshots and traces are taken while the pages are still open. On a
 * failure it first attaches the accessibility tree of every page the test opened (Playwright's
 * own error context holds one), which failure-reporter.ts prints: CI keeps only the output.
 */
export const test = base.extend<{ closeOpenedContexts: void }>({
  closeOpenedContexts: [
    async ({ browser }, use, testInfo) => {
      const before = new Set(browser.contexts());
      await use();
      const opened = browser.contexts().filter((context) => !before.has(context));
      if (testInfo.status !== testInfo.expectedStatus) {
        let n = 0;
        for (const page of opened.flatMap((context) => context.pages())) {
          n += 1;
          const tree = await page.locator('body').ariaSnapshot({ timeout: 2_000 }).catch((e) => `(none: ${e})`);
          await testInfo.attach(`page ${n} snapshot`, { body: `${page.url()}\n${tree}`, contentType: 'text/plain' });
        }
      }
      await Promise.all(opened.map((context) => context.close()));
      for (const bot of [...openBots]) bot.close();
    },
    { auto: true },
  ],
});
