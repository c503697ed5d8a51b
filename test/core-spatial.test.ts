// The spatial index's level structure (reference-behaviour.md (g)1–3): grids per level, annotations
// per level, and which annotation goes to which level, with and without shuffling.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildSpatialIndex, defineGrids, levelQuotas, type SpatialLevelEntries } from '../src/core/spatial';
import { prepare, type Prepared } from '../src/core/prepare';
import { normalizeCoordSpace } from '../src/core/coords';
import { writePrecomputedAnnotations } from '../src/export/run';
import { readDatasetWithNeuroglancer } from './helpers/ngread';
import { col, table, tempDir, testRandom } from './helpers/coretables';

const tmp = tempDir();
after(tmp.cleanup);

const NM = 1e-9;
const f32 = (xs: number[]) => xs.map((x) => Math.fround(x));

/** Grid shapes and chunk sizes per level, as [shape, chunk] pairs. */
function grids(lower: number[], upper: number[], scales: number[], levels: number) {
  return defineGrids(lower, upper, scales, levels).map((g) => [g.gridShape, g.chunkSize]);
}

describe('grids per level (reference-behaviour.md (g)1)', () => {
  test('[0,0,0]–[100,10,1], 8 levels: split the physically longest axis, and any axis > 1.5× the new size', () => {
    const shapes = [[1, 1, 1], [2, 1, 1], [4, 1, 1], [8, 1, 1], [16, 2, 1], [32, 4, 1], [64, 8, 1], [128, 16, 1]];
    const chunks = [[100, 10, 1], [50, 10, 1], [25, 10, 1], [12.5, 10, 1], [6.25, 5, 1], [3.125, 2.5, 1], [1.5625, 1.25, 1], [0.78125, 0.625, 1]];
    assert.deepEqual(grids([0, 0, 0], [100, 10, 1], [NM, NM, NM], 8), shapes.map((s, k) => [s, chunks[k]]));
  });

  test('[0,0,0]–[1,1,1] with scales [100,10,1] m: anisotropy comes from the scales', () => {
    const shapes = [[1, 1, 1], [2, 1, 1], [4, 1, 1], [8, 1, 1], [16, 2, 1], [32, 4, 1]];
    const chunks = [[1, 1, 1], [0.5, 1, 1], [0.25, 1, 1], [0.125, 1, 1], [0.0625, 0.5, 1], [0.03125, 0.25, 1]];
    assert.deepEqual(grids([0, 0, 0], [1, 1, 1], [100, 10, 1], 6), shapes.map((s, k) => [s, chunks[k]]));
  });

  test('[10,10,10]–[30,30,30]: tied axes split together', () => {
    assert.deepEqual(grids([10, 10, 10], [30, 30, 30], [NM, NM, NM], 4), [
      [[1, 1, 1], [20, 20, 20]],
      [[2, 2, 2], [10, 10, 10]],
      [[4, 4, 4], [5, 5, 5]],
      [[8, 8, 8], [2.5, 2.5, 2.5]],
    ]);
  });

  test('[0,0,0]–[3,5,7]', () => {
    assert.deepEqual(grids([0, 0, 0], [3, 5, 7], [NM, NM, NM], 4), [
      [[1, 1, 1], [3, 5, 7]],
      [[1, 1, 2], [3, 5, 3.5]],
      [[1, 2, 2], [3, 2.5, 3.5]],
      [[2, 2, 4], [1.5, 2.5, 1.75]],
    ]);
  });

  test('[-3.5,2,7]–[12.25,3,7.5] with scales [8,8,40] nm', () => {
    const c = normalizeCoordSpace({ names: ['x', 'y', 'z'], units: ['nm', 'nm', 'nm'], scales: [8, 8, 40] });
    assert.deepEqual(grids([-3.5, 2, 7], [12.25, 3, 7.5], c.scales, 7), [
      [[1, 1, 1], [15.75, 1, 0.5]],
      [[2, 1, 1], [7.875, 1, 0.5]],
      [[4, 1, 1], [3.9375, 1, 0.5]],
      [[8, 1, 1], [1.96875, 1, 0.5]],
      [[16, 1, 2], [0.984375, 1, 0.25]],
      [[32, 2, 4], [0.4921875, 0.5, 0.125]],
      [[64, 4, 8], [0.24609375, 0.25, 0.0625]],
    ]);
  });

  test('4-D [0,0,0,0]–[10,10,10,1]', () => {
    const g = defineGrids([0, 0, 0, 0], [10, 10, 10, 1], [NM, NM, NM, NM], 5).map((l) => l.gridShape);
    assert.deepEqual(g, [[1, 1, 1, 1], [2, 2, 2, 1], [4, 4, 4, 1], [8, 8, 8, 1], [16, 16, 16, 2]]);
  });

  test('chunk sizes are float32-rounded (0.7 → 0.699999988079071)', () => {
    const [level0] = defineGrids([0, 0], [0.7, 0.3], [NM, NM], 1);
    assert.deepEqual(level0.chunkSize, f32([0.7, 0.3]));
    assert.equal(level0.chunkSize[0], 0.699999988079071);
  });

  test('a zero-extent axis counts as one coordinate unit: finite chunk sizes, same grids as extent 1', () => {
    const flat = defineGrids([0, 0, 5], [100, 10, 5], [NM, NM, NM], 8);
    const unit = defineGrids([0, 0, 0], [100, 10, 1], [NM, NM, NM], 8);
    assert.deepEqual(flat, unit);
    const point = defineGrids([3, 4, 5], [3, 4, 5], [NM, NM, NM], 3);
    for (const l of point) for (const x of l.chunkSize) assert.ok(Number.isFinite(x) && x > 0, `chunk size ${x}`);
    assert.deepEqual(point.map((l) => [l.gridShape, l.chunkSize]), [
      [[1, 1, 1], [1, 1, 1]],
      [[2, 2, 2], [0.5, 0.5, 0.5]],
      [[4, 4, 4], [0.25, 0.25, 0.25]],
    ]);
  });
});

describe('annotations per level (reference-behaviour.md (g)2)', () => {
  const cube = (levels: number) => defineGrids([0, 0, 0], [1, 1, 1], [NM, NM, NM], levels);

  test('N=100000, cube, 6 levels, limit 10000 → [10000, 80000, 10000, 0, 0, 0]', () => {
    assert.deepEqual(levelQuotas(100_000, cube(6), 10_000), [10000, 80000, 10000, 0, 0, 0]);
  });
  test('N=100000, bounds [100,10,1], 6 levels → [10000, 20000, 40000, 30000, 0, 0]', () => {
    assert.deepEqual(levelQuotas(100_000, defineGrids([0, 0, 0], [100, 10, 1], [NM, NM, NM], 6), 10_000), [10000, 20000, 40000, 30000, 0, 0]);
  });
  test('N=1000, cube, 3 levels, limit 100 → [100, 800, 100]', () => {
    assert.deepEqual(levelQuotas(1000, cube(3), 100), [100, 800, 100]);
  });
  test('N=5, 4 levels, limit 1 → [1, 4, 0, 0]', () => {
    assert.deepEqual(levelQuotas(5, cube(4), 1), [1, 4, 0, 0]);
  });
  test('N=1000, 2 levels, limit 1 → [1, 999]: the last level takes the rest', () => {
    assert.deepEqual(levelQuotas(1000, cube(2), 1), [1, 999]);
  });
  test('N=1000, 2-D, 3 levels, limit 50 → [50, 200, 750]', () => {
    assert.deepEqual(levelQuotas(1000, defineGrids([0, 0], [1, 1], [NM, NM], 3), 50), [50, 200, 750]);
  });
  test('N=30, 64 levels, limit 10 → [10, 20, 0, …]', () => {
    assert.deepEqual(levelQuotas(30, cube(64), 10), [10, 20, ...new Array(62).fill(0)]);
  });
  test('limit 0 (one level, no subsampling) → [N]', () => {
    assert.deepEqual(levelQuotas(1234, cube(1), 0), [1234]);
  });
});

/** `n` points in the unit cube; the first two are the corners so the bounds are exactly [0,1]^3. */
function cubePoints(n: number, seed: number): Prepared {
  const rnd = testRandom(seed);
  const xs: number[][] = [[0, 0, 0], [1, 1, 1]];
  while (xs.length < n) xs.push([rnd.below(1000) / 1000, rnd.below(1000) / 1000, rnd.below(1000) / 1000]);
  const t = table({ x: col.f64(xs.map((p) => p[0])), y: col.f64(xs.map((p) => p[1])), z: col.f64(xs.map((p) => p[2])) });
  return prepare(t, null, normalizeCoordSpace('xyz'), 'point', {}, () => {});
}

/** Level of every annotation; asserts each appears in exactly one level and one cell. */
function levelOf(p: Prepared, levels: SpatialLevelEntries[]): number[] {
  const out = new Array<number>(p.n).fill(-1);
  for (const l of levels) {
    for (const i of l.annotations) {
      assert.equal(out[i], -1, `annotation ${i} appears twice`);
      out[i] = l.level;
    }
  }
  assert.ok(out.every((l) => l >= 0), 'every annotation is in a level');
  return out;
}

describe('level assignment (reference-behaviour.md (g)3)', () => {
  const opts = { numSpatialLevels: 3, targetChunkLimit: 1, seed: 1, scales: [NM, NM, NM] };

  test('without shuffle: N=12, 3 cube levels, limit 1 → rows in order get [0,1,1,1,1,1,1,1,1,2,2,2]', () => {
    const p = cubePoints(12, 1);
    const levels = buildSpatialIndex(p, { ...opts, shuffle: false });
    assert.deepEqual(levelOf(p, levels), [0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2]);
    assert.deepEqual(levels.map((l) => l.gridShape), [[1, 1, 1], [2, 2, 2], [4, 4, 4]]);
  });

  test('without shuffle: within a chunk, entries keep input row order', () => {
    const p = cubePoints(40, 2);
    const [level0] = buildSpatialIndex(p, { ...opts, numSpatialLevels: 1, targetChunkLimit: 0, shuffle: false });
    assert.deepEqual([...level0.annotations], Array.from({ length: 40 }, (_, i) => i));
    assert.equal(level0.maxCount, 1, 'limit 0 writes limit 1 (no subsampling)');
  });

  test('with shuffle: exact counts per level, random membership, and the same output for the same seed', () => {
    const p = cubePoints(200, 3);
    const run = (seed: number) => buildSpatialIndex(p, { numSpatialLevels: 3, targetChunkLimit: 3, seed, scales: [NM, NM, NM], shuffle: true });
    const a = run(42);
    const counts = (levels: SpatialLevelEntries[]) => [0, 1, 2].map((k) => levelOf(p, levels).filter((l) => l === k).length);
    assert.deepEqual(counts(a), [3, 24, 173]);
    assert.deepEqual(run(42), a, 'same seed, same index');
    const b = run(43);
    assert.deepEqual(counts(b), [3, 24, 173]);
    assert.notDeepEqual(levelOf(p, b), levelOf(p, a), 'another seed picks other annotations');
    // Not the input-order assignment.
    assert.notDeepEqual(levelOf(p, a).slice(0, 3), [0, 0, 0]);
    // Within chunks the order is random too (neuroglancer draws a prefix of each chunk's list).
    const last = a[a.length - 1];
    let descents = 0;
    for (let j = 0; j < last.codes.length; j++) {
      for (let e = last.chunkStart[j] + 1; e < last.chunkStart[j + 1]; e++) if (last.annotations[e] < last.annotations[e - 1]) descents++;
    }
    assert.ok(descents > 10, `within-chunk order is not row order (${descents} descents)`);
  });

  test('unsharded chunk files are named by the cell in dimension order (8×4×2 grid, cell 5,3,1 → "5_3_1")', async () => {
    // Bounds [0,8]×[0,4]×[0,2] give level 3 an 8×4×2 grid of unit cells. With limit 1 and no
    // shuffle, rows 0..10 fill levels 0..2 (1 + 2 + 8) and row 11 lands at level 3.
    const xs = [0, 8, ...new Array(9).fill(1), 5.5];
    const ys = [0, 4, ...new Array(9).fill(1), 3.5];
    const zs = [0, 2, ...new Array(9).fill(1), 1.5];
    const out = join(tmp.dir, 'names');
    await writePrecomputedAnnotations(table({ x: col.f64(xs), y: col.f64(ys), z: col.f64(zs) }), 'xyz', 'point', {
      outputDir: out,
      writeSharded: false,
      numSpatialLevels: 4,
      targetChunkLimit: 1,
      shuffleBeforeAssigningSpatialLevels: false,
    });
    assert.deepEqual(readdirSync(join(out, 'by_spatial_level_3')), ['5_3_1']);
    const ds = await readDatasetWithNeuroglancer(out);
    assert.deepEqual(ds.levels[3].gridShape, [8, 4, 2]);
    assert.deepEqual(await ds.unrequestedSpatialFiles(3), []);
    assert.deepEqual((await ds.getSpatialChunk(3, [5, 3, 1]))?.map((a) => [a.id, a.point]), [[11n, [5.5, 3.5, 1.5]]]);
  });

  test('every point is in the cell that contains it (upper-bound points in the last cell), codes sorted', () => {
    const p = cubePoints(300, 4);
    const levels = buildSpatialIndex(p, { numSpatialLevels: 4, targetChunkLimit: 2, seed: 9, scales: [NM, NM, NM], shuffle: true });
    const f = new Float32Array(p.records.buffer);
    for (const l of levels) {
      for (let j = 1; j < l.codes.length; j++) assert.ok(l.codes[j] > l.codes[j - 1], 'chunk codes ascending and unique');
      let max = 0;
      for (let j = 0; j < l.codes.length; j++) {
        max = Math.max(max, l.chunkStart[j + 1] - l.chunkStart[j]);
        for (let e = l.chunkStart[j]; e < l.chunkStart[j + 1]; e++) {
          const i = l.annotations[e];
          const cell = [0, 1, 2].map((d) => Math.min(l.gridShape[d] - 1, Math.floor(f[3 * i + d] / l.chunkSize[d])));
          // compressed Morton code of a cube grid = plain interleave, x lowest
          let code = 0;
          const bits = Math.log2(l.gridShape[0]);
          for (let b = 0; b < bits; b++) for (let d = 0; d < 3; d++) code += ((cell[d] >> b) & 1) * 2 ** (3 * b + d);
          assert.equal(l.codes[j], code, `annotation ${i} at level ${l.level}`);
        }
      }
      assert.equal(l.maxCount, max, 'limit = the fullest chunk');
    }
  });
});
