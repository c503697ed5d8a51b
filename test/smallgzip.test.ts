// The built-in gzip encoder for small values: every output is a gzip member zlib inflates back to
// the input, for incompressible, repetitive and record-like data of every size it accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { smallGzip, SMALL_GZIP_MAX } from '../src/core/smallgzip';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

test('round-trips through zlib for sizes 0..SMALL_GZIP_MAX and every kind of content', () => {
  const rnd = lcg(7);
  const sizes = [0, 1, 2, 3, 4, 5, 28, 255, 256, 257, 258, 259, 1000, 4095, 4096, SMALL_GZIP_MAX];
  for (let t = 0; t < 400; t++) sizes.push(Math.floor(rnd() * (SMALL_GZIP_MAX + 1)));
  for (const [k, n] of sizes.entries()) {
    const d = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      switch (k % 4) {
        case 0: d[i] = (rnd() * 256) | 0; break; // incompressible: stored block
        case 1: d[i] = (rnd() * 3) | 0; break; // long matches
        case 2: d[i] = i % 4 === 3 ? 0 : (rnd() * 256) | 0; break; // float-like records
        default: d[i] = (i * 7) & 0xff; // periodic, matches at distance 256
      }
    }
    const g = smallGzip(d);
    assert.equal(g[0], 0x1f);
    assert.equal(g[1], 0x8b);
    assert.deepEqual(new Uint8Array(gunzipSync(g)), d, `size ${n}, kind ${k % 4}`);
  }
});

test('a run of one byte compresses to a few bytes (length 258 matches at distance 1)', () => {
  const d = new Uint8Array(SMALL_GZIP_MAX).fill(42);
  const g = smallGzip(d);
  assert.ok(g.length < 100, `${g.length} bytes`);
  assert.deepEqual(new Uint8Array(gunzipSync(g)), d);
});

test('incompressible data costs at most the 5-byte stored-block header over gzip framing', () => {
  const rnd = lcg(3);
  const d = Uint8Array.from({ length: 1000 }, () => (rnd() * 256) | 0);
  assert.ok(smallGzip(d).length <= 1000 + 5 + 18);
});

test('refuses values larger than SMALL_GZIP_MAX', () => {
  assert.throws(() => smallGzip(new Uint8Array(SMALL_GZIP_MAX + 1)), RangeError);
});

test('encodeChunks: small values (built-in encoder) mixed with large ones (zlib) each decode to their input', async () => {
  const { encodeChunks } = await import('../src/core/sharding');
  const rnd = lcg(11);
  const sizes = Uint32Array.from({ length: 300 }, (_, t) => (t % 5 === 0 ? 3000 + Math.floor(rnd() * 60000) : Math.floor(rnd() * 2048)));
  const total = sizes.reduce((a, b) => a + b, 0);
  const data = Uint8Array.from({ length: total }, (_, i) => (i % 7 === 0 ? 0 : (rnd() * 256) | 0));
  const enc = encodeChunks('gzip', 1, data, sizes);
  let at = 0;
  let eat = 0;
  for (let t = 0; t < sizes.length; t++) {
    const back = new Uint8Array(gunzipSync(enc.data.subarray(eat, eat + enc.sizes[t])));
    assert.deepEqual(back, data.subarray(at, at + sizes[t]), `chunk ${t}`);
    at += sizes[t];
    eat += enc.sizes[t];
  }
  assert.equal(eat, enc.data.length);
});
