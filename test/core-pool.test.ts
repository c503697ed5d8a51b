// The shard encoder pool's planning jobs: the relationship and spatial indexes planned on a worker
// thread are exactly those planned on this one, progress and errors come back, and an aborted export
// stops waiting for a plan at once. (Byte-identical datasets across thread counts: reliability-determinism.)
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ShardEncoder } from '../src/core/pool';
import { buildSpatialIndex, type SpatialInput } from '../src/core/spatial';
import { relationshipIndex, type RelationshipIndexInput } from '../src/core/relationshipIndex';
import { sharedBytes, sharedF64, sharedU64 } from '../src/core/alloc';
import { AbortError } from '../src/core/errors';
import { testRandom } from './helpers/coretables';

const pool = new ShardEncoder(2);
after(() => pool.close());

const OPTIONS = { numSpatialLevels: 5, targetChunkLimit: 50, shuffle: true, seed: 7, scales: [1e-9, 1e-9, 1e-9] };

/** n annotations of `type` in shared memory: points (12-byte records) or lines (24), coordinates in [0, 1000). */
function spatialInput(type: 'point' | 'line', n: number, seed: number): SpatialInput {
  const rand = testRandom(seed);
  const coords = type === 'point' ? 3 : 6;
  // 4 bytes of property after the geometry, as real records have.
  const recordSize = 4 * coords + 4;
  const records = sharedBytes(n * recordSize);
  const f = new Float32Array(records.buffer);
  for (let i = 0; i < n; i++) for (let c = 0; c < coords; c++) f[i * (recordSize / 4) + c] = rand.below(1_000_000) / 1000;
  return { type, rank: 3, n, records, recordSize, lower: [0, 0, 0], upper: [1000, 1000, 1000] };
}

test('the spatial levels planned on a worker are those planned here (points and lines), with progress', async () => {
  assert.equal(pool.threads, 2, 'worker threads are in use');
  for (const type of ['point', 'line'] as const) {
    const input = spatialInput(type, 20_000, type === 'point' ? 1 : 2);
    const seen: number[] = [];
    const onWorker = await pool.spatialIndex(input, OPTIONS, undefined, (done, total) => {
      assert.equal(total, input.n);
      seen.push(done);
    });
    const here = buildSpatialIndex(input, OPTIONS);
    assert.ok(here.length >= 3, `${type}: several levels`);
    assert.deepEqual(onWorker, here, type);
    assert.equal(seen.at(-1), input.n, `${type}: progress reaches the end`);
  }
});

test('a relationship index planned on a worker is the one planned here, duplicates and empty lists included', async () => {
  const rand = testRandom(3);
  const n = 5000;
  const ids = sharedU64(n);
  const offsets = sharedF64(n + 1);
  const lists: bigint[][] = [];
  for (let i = 0; i < n; i++) {
    // Ids in reverse order, so the index is not planned from ids already sorted.
    ids[i] = BigInt(n - i) * 1_000_003n + (1n << 60n);
    const k = rand.below(4);
    const list = Array.from({ length: k }, () => BigInt(rand.below(300)) + (1n << 63n));
    if (k === 3) list[2] = list[0]; // the same related id twice in one list
    lists.push(list);
    offsets[i + 1] = offsets[i] + k;
  }
  const related = sharedU64(offsets[n]);
  related.set(lists.flat());
  const input: RelationshipIndexInput = { n, ids, offsets, related };
  const onWorker = await pool.relationshipIndex(input);
  const here = relationshipIndex(input);
  assert.deepEqual(onWorker, here);
  assert.ok(here.keys.length > 200 && here.pairs < related.length, `${here.keys.length} keys, ${here.pairs} of ${related.length} pairs`);
});

test('an aborted export stops waiting for a plan still running on a worker', async () => {
  const big = spatialInput('point', 2_000_000, 4);
  const controller = new AbortController();
  const t0 = performance.now();
  const plan = pool.spatialIndex(big, { ...OPTIONS, targetChunkLimit: 1000 }, controller.signal);
  setTimeout(() => controller.abort(), 20);
  await assert.rejects(plan, AbortError);
  const waited = performance.now() - t0;
  // Planning 2e6 points takes about a second here; the wait ends with the abort.
  assert.ok(waited < 500, `waited ${waited.toFixed(0)} ms`);
  // And an already aborted signal does not start the job.
  await assert.rejects(pool.relationshipIndex({ n: 0, ids: sharedU64(0), offsets: sharedF64(1), related: sharedU64(0) }, AbortSignal.abort()), AbortError);
});
