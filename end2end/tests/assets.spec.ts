import { test, expect } from './support/test';

// The WASM bundle is most of a first load. The build compresses it once at Brotli's best
// quality (`cargo leptos build --release --precompress`); the server sends that file instead
// of compressing on the fly at a fast, weaker setting. A file sent from disk has a length;
// on-the-fly compression streams without one.
for (const file of ['/pkg/parley.wasm', '/pkg/parley.js']) {
  test(`${file} goes out as the Brotli file compressed at build time`, async ({ request }) => {
    const served = await request.get(file, { headers: { 'accept-encoding': 'br' } });
    expect(served.status()).toBe(200);
    expect(served.headers()['content-encoding']).toBe('br');

    const precompressed = await request.get(`${file}.br`, { headers: { 'accept-encoding': 'identity' } });
    expect(precompressed.status()).toBe(200);
    const bytes = (await precompressed.body()).length;
    expect(Number(served.headers()['content-length'])).toBe(bytes);

    const plain = await request.get(file, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers()['content-encoding']).toBeUndefined();
    expect((await plain.body()).length).toBeGreaterThan(bytes);
  });
}
