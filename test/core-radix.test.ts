// The radix sorts against a plain BigInt comparison sort: order, stability, and the shortcuts
// (already sorted input, digits shared by every key, large bucket keys).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argsortU64, sortByU64, stableSortByKeys } from '../src/core/radix';
import { rng } from './helpers/common';

function reference(keys: BigUint64Array, order: Uint32Array): number[] {
  // Array.prototype.sort is stable; ties keep their order in `order`.
  return Array.from(order).sort((a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : 0));
}

function randomKeys(n: number, seed: number, make: (r: () => number) => bigint): BigUint64Array {
  const r = rng(seed);
  return BigUint64Array.from({ length: n }, () => make(r));
}

const u32 = (r: () => number) => BigInt(Math.floor(r() * 2 ** 32));
const cases: Array<[string, (r: () => number) => bigint]> = [
  ['full 64-bit range', (r) => (u32(r) << 32n) | u32(r)],
  ['few distinct values (ties)', (r) => BigInt(Math.floor(r() * 5)) << 40n],
  ['high word only', (r) => u32(r) << 32n],
  ['small values', (r) => BigInt(Math.floor(r() * 70000))],
  ['extremes', (r) => [0n, 1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 32n - 1n, 2n ** 32n][Math.floor(r() * 6)]],
];

for (const [name, make] of cases) {
  test(`argsortU64 / sortByU64: ${name}`, () => {
    const keys = randomKeys(5000, name.length, make);
    const identity = Uint32Array.from({ length: keys.length }, (_, i) => i);
    assert.deepEqual(Array.from(argsortU64(keys)), reference(keys, identity));
    // A permuted starting order: ties must keep that order.
    const start = Uint32Array.from(reference(randomKeys(5000, 99, (r) => u32(r)), identity));
    assert.deepEqual(Array.from(sortByU64(start, keys)), reference(keys, start));
  });
}

test('argsortU64: sorted input is returned in one scan, and a copy', () => {
  const keys = BigUint64Array.from({ length: 1000 }, (_, i) => BigInt(i) * 12345678901n);
  const order = argsortU64(keys);
  assert.deepEqual(Array.from(order), Array.from({ length: 1000 }, (_, i) => i));
  const start = Uint32Array.from({ length: 1000 }, (_, i) => i);
  const out = sortByU64(start, keys);
  assert.notEqual(out, start);
  // Equal keys count as sorted and keep their order.
  const ties = new BigUint64Array(10).fill(7n);
  assert.deepEqual(Array.from(sortByU64(Uint32Array.from([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]), ties)), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
});

for (const maxKey of [3, 1000, 2 ** 20 + 5, 2 ** 32 - 1]) {
  test(`stableSortByKeys: keys up to ${maxKey}`, () => {
    const r = rng(maxKey % 1000);
    const n = 4000;
    const order = Uint32Array.from({ length: n }, (_, i) => (i * 7919) % n);
    const keys = Uint32Array.from({ length: n }, () => Math.floor(r() * (maxKey + 1)));
    const expected = Array.from(order, (o, j) => ({ o, k: keys[j], j }))
      .sort((a, b) => a.k - b.k || a.j - b.j)
      .map((x) => x.o);
    assert.deepEqual(Array.from(stableSortByKeys(order, keys, maxKey)), expected);
  });
}
