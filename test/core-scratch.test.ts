// Reused working memory (src/core/scratch.ts), as the shard workers use it: dirty buffers must not
// change a result, a result must not be overwritten by the next call, and the budget holds. Each
// test file runs in its own process, so turning scratch on here touches no other test.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { isScratch, keepScratch, scratchBytes, scratchU32 } from '../src/core/scratch';
import { argsortU64, sortByU64 } from '../src/core/radix';
import { encodeShardFile, type ShardFileTask } from '../src/core/spillShards';
import { SpillBuckets } from '../src/core/spill';
import { concatBytes, makeShardingSpec } from '../src/core/sharding';
import { rng } from './helpers/common';
import { tempDir } from './helpers/coretables';

const tmp = tempDir('ng-scratch-');
after(tmp.cleanup);

/**
 * A temporary shard file of by_rel or spatial entries (spillShards.ts layout, a 4-byte record): keys
 * from a few cells, annotation ids with high words set, and for spatial entries shuffle positions.
 */
function shardFile(name: string, n: number, spatial: boolean, seed: number, wideKeys = false): ShardFileTask {
  const r = rng(seed);
  const b = new SpillBuckets(tmp.dir, name, 1);
  for (let t = 0; t < n; t++) {
    const at = b.reserve(0, 24) >>> 2;
    const w = b.words(0);
    w.set([Math.floor(r() * 9), wideKeys ? Math.floor(r() * 3) : 0, Math.floor(r() * 2 ** 32), 0x80000000 + Math.floor(r() * 1000), spatial ? Math.floor(r() * 1e6) : 0, t], at);
  }
  b.finish();
  const spec = makeShardingSpec({ preshift_bits: 0, shard_bits: 0, minishard_bits: 1 }, 'raw');
  return { ...b.spillFile(0), shard: 0, spec, gzipLevel: 6, build: { kind: 'multi', entryBytes: 24, spatial, recordSize: 4 } };
}

const big = shardFile('rel', 6000, false, 1);
const small = shardFile('spatial', 2000, true, 2);
/** Cell codes of 2^32 and more: sorted by code, then by position, in two sorts. */
const wide = shardFile('spatial-wide', 2000, true, 3, true);
const bytes = (t: ShardFileTask) => Buffer.from(concatBytes(encodeShardFile(t).parts!));
/** Without scratch: the bytes every later run must match. */
const fresh = { big: bytes(big), small: bytes(small), wide: bytes(wide) };

function reference(keys: BigUint64Array): number[] {
  return Array.from({ length: keys.length }, (_, i) => i).sort((a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : 0));
}

test('off until turned on: fresh zeroed memory', () => {
  const a = scratchU32('t.off', 100);
  assert.ok(!isScratch(a));
  assert.ok(a.every((v) => v === 0));
});

test('sorts on scratch: right on dirty buffers, and earlier results stay intact', () => {
  keepScratch();
  const r = rng(3);
  const results: Array<[Uint32Array, number[]]> = [];
  // Shrinking and growing sizes, so later sorts run on buffers earlier ones filled.
  for (const n of [5000, 1200, 7000, 300, 7000]) {
    const keys = BigUint64Array.from({ length: n }, () => (BigInt(Math.floor(r() * 2 ** 32)) << 32n) | BigInt(Math.floor(r() * 50)));
    const order = argsortU64(keys);
    assert.ok(!isScratch(order), 'a sort returns its own array');
    results.push([order, reference(keys)]);
    // sortByU64 over another key, as parseEntries chains them.
    const second = BigUint64Array.from({ length: n }, (_, i) => BigInt(i % 7));
    const chained = sortByU64(order, second);
    const want = [...order].sort((a, b) => Number(second[a] - second[b]));
    assert.deepEqual(Array.from(chained), want);
  }
  for (const [got, want] of results) assert.deepEqual(Array.from(got), want);
});

test('a use keeps its buffer; beyond the budget, fresh memory', () => {
  keepScratch();
  const a = scratchBytes('t.a', 1000);
  a.fill(7);
  const again = scratchBytes('t.a', 10);
  assert.ok(isScratch(again) && again.buffer === a.buffer);
  assert.equal(again[0], 7, 'not zeroed: callers overwrite what they read');
  const big = scratchBytes('t.big', 80 << 20);
  assert.ok(isScratch(big));
  const over = scratchBytes('t.over', 20 << 20);
  assert.ok(!isScratch(over), 'over the per-thread budget');
});

test('a shard file encoded on scratch another, larger one dirtied: the same bytes', () => {
  keepScratch();
  for (let k = 0; k < 2; k++) {
    assert.ok(bytes(big).equals(fresh.big));
    assert.ok(bytes(small).equals(fresh.small), 'spatial entries order by position, whatever the scratch held');
    assert.ok(bytes(big).equals(fresh.big));
    assert.ok(bytes(wide).equals(fresh.wide), 'with wide cell codes too');
  }
});
