import { test, expect } from '@playwright/test';
import * as fs from 'node:fs';

// First load of the sign-in page in a fresh browser context (empty cache), five times:
// the compressed bytes of wasm + js + css as transferred, and the time from navigation start
// until the page is interactive (the WASM has hydrated and enabled the sign-in button).
// Written as JSON to $PARLEY_BENCH_BROWSER_OUT for parley-loadgen's report.

const LOADS = 5;

type Load = { bytes: Record<string, number>; encodings: Record<string, string>; interactiveMs: number };

test('first load: compressed bytes and time to interactive', async ({ browser }) => {
  const loads: Load[] = [];
  for (let i = 0; i < LOADS; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    // Stamps the moment the sign-in button is enabled, on the page's own clock.
    await page.addInitScript(() => {
      const w = window as unknown as { __interactive?: number };
      const check = () => {
        const button = document.querySelector<HTMLButtonElement>('form.sign-in button[type=submit], form button[type=submit]');
        if (w.__interactive === undefined && button && !button.disabled) {
          w.__interactive = performance.now();
        }
      };
      new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true });
    });
    const assets: Promise<[string, number, string]>[] = [];
    page.on('response', (response) => {
      const url = new URL(response.url());
      const kind = url.pathname.endsWith('.wasm') ? 'wasm'
        : url.pathname.endsWith('.js') ? 'js'
        : url.pathname.endsWith('.css') ? 'css' : null;
      if (!kind) return;
      assets.push(
        response.request().sizes().then((s) => [kind, s.responseBodySize, response.headers()['content-encoding'] ?? 'identity']),
      );
    });
    await page.goto('/');
    await page.waitForFunction(() => (window as unknown as { __interactive?: number }).__interactive !== undefined);
    const interactiveMs = await page.evaluate(() => (window as unknown as { __interactive: number }).__interactive);
    const bytes: Record<string, number> = { wasm: 0, js: 0, css: 0 };
    const encodings: Record<string, string> = {};
    for (const [kind, size, encoding] of await Promise.all(assets)) {
      bytes[kind] += size;
      encodings[kind] = encoding;
    }
    loads.push({ bytes, encodings, interactiveMs });
    await context.close();
  }

  const first = loads[0];
  expect(first.bytes.wasm, 'the WASM was loaded').toBeGreaterThan(0);
  expect(first.encodings.wasm, 'the WASM is served compressed').toMatch(/^(br|gzip)$/);
  const sorted = loads.map((l) => l.interactiveMs).sort((a, b) => a - b);
  const result = {
    loads: LOADS,
    wasmBytes: first.bytes.wasm,
    jsBytes: first.bytes.js,
    cssBytes: first.bytes.css,
    totalCompressedBytes: first.bytes.wasm + first.bytes.js + first.bytes.css,
    encodings: first.encodings,
    interactiveMs: sorted[Math.floor(LOADS / 2)],
    interactiveMsAll: loads.map((l) => Math.round(l.interactiveMs)),
  };
  console.log(JSON.stringify(result));
  const out = process.env.PARLEY_BENCH_BROWSER_OUT;
  if (out) fs.writeFileSync(out, JSON.stringify(result, null, 2));
});
