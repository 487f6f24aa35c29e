import * as fs from 'node:fs';
import type { Reporter, TestCase, TestResult } from '@playwright/test/reporter';

/**
 * Prints, for each failed test, the accessibility tree of each of its pages: the snapshots
 * tests/support/test.ts attaches (`page N snapshot`), or else Playwright's own error context.
 *
 * CI keeps only the run's output, not `test-results/`, so without this a failure that does not
 * happen here leaves nothing to read but the locator that was not found.
 */
class FailureContextReporter implements Reporter {
  onTestEnd(test: TestCase, result: TestResult): void {
    if (result.status === 'passed' || result.status === 'skipped') return;
    const ours = result.attachments.filter((a) => /^page \d+ snapshot$/.test(a.name) && a.body);
    const shown = ours.length > 0 ? ours : result.attachments.filter((a) => a.name === 'error-context' && a.path);
    for (const attachment of shown) {
      let text: string;
      try {
        text = attachment.body ? attachment.body.toString('utf8') : fs.readFileSync(attachment.path!, 'utf8');
      } catch {
        continue;
      }
      const lines = text.split('\n');
      const head = lines.slice(0, 300).join('\n');
      const more = lines.length > 300 ? `\n… ${lines.length - 300} more lines` : '';
      process.stdout.write(`\n--- ${attachment.name} of "${test.title}" ---\n${head}${more}\n--- end ---\n`);
    }
  }

  printsToStdio(): boolean {
    return false;
  }
}

export default FailureContextReporter;
