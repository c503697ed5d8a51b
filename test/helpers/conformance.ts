// Shared pieces of the conformance tests (test/conformance*.test.ts): write a dataset with our writer
// into a temporary folder, read it back with neuroglancer's own reader (./ngread), and compare every
// annotation with what went in. The expected spatial cells are computed here from first principles
// (grid origin = lower_bound, cells of chunk_size, outer cells open to infinity), independently of
// src/core/spatial.ts, so a wrong cell test in the writer cannot hide behind the same code here.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Field, List, Table, Uint64, vectorFromArray, type Vector } from 'apache-arrow';
import { writePrecomputedAnnotations } from '../../src/export/run';
import type { AnnotationType, CoordSpaceInput, TableInput, WriteOptions, WriteSummary } from '../../src/core/types';
import { readDatasetWithNeuroglancer, type NgAnnotation, type NgDataset } from './ngread';
export { rng, readTree } from './common';
import { rng, readTree } from './common';

// ---- temp folders ----------------------------------------------------------------------------

/** A fresh temporary folder; `cleanup()` removes it (call it from `after`). */
export function tempRoot(prefix: string): { root: string; dir(name: string): string; cleanup(): void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `ng-conf-${prefix}-`));
  let k = 0;
  return {
    root,
    dir: (name: string) => path.join(root, `${name}-${k++}`),
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

// ---- seeded randomness (tests only; independent of src/core/rng.ts) ------------------------------


/** Distinct uint64 ids: small ones, ones around 2^53 and 2^63, and 2^64-1, in random order. */
export function randomIds(n: number, rand: () => number): bigint[] {
  const special = [0n, 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 2n, 2n ** 64n - 1n];
  const out = new Set<bigint>(special.slice(0, Math.min(n, special.length)));
  while (out.size < n) {
    const r = rand();
    const id =
      r < 0.5
        ? BigInt(Math.floor(rand() * 1e6))
        : (BigInt(Math.floor(rand() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand() * 2 ** 32));
    out.add(id);
  }
  const list = [...out];
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return list;
}

export const u64List = (rows: Array<bigint[] | null>): Vector => vectorFromArray(rows, new List(new Field('item', new Uint64(), true)));
export const u64Scalar = (rows: Array<bigint | null>): Vector => vectorFromArray(rows, new Uint64());

// ---- expected annotations ------------------------------------------------------------------

/** The geometry members of an annotation, as the harness decodes them. */
export type Geometry = Pick<NgAnnotation, 'point' | 'pointA' | 'pointB' | 'center' | 'radii' | 'points'>;

export interface Expected {
  id: bigint;
  /** Already rounded to float32 (what neuroglancer must decode). */
  geometry: Geometry;
  /** By property id: the number neuroglancer's deserializer returns. */
  properties: Record<string, number>;
  /** One list per info relationship, in relationship order, as by_id must hold it. */
  relationships: bigint[][];
}

export const f32 = (v: number[]) => v.map(Math.fround);

/** Geometry as we compare it: only the fields of the type, float32 values. */
export function geometryOf(a: NgAnnotation | Expected): Geometry {
  const g = 'geometry' in a ? a.geometry : a;
  const out: Geometry = {};
  for (const k of ['point', 'pointA', 'pointB', 'center', 'radii', 'points'] as const) if (g[k] !== undefined) (out as Record<string, unknown>)[k] = g[k];
  return out;
}

export function propertiesByName(ds: NgDataset, a: NgAnnotation): Record<string, number> {
  const out: Record<string, number> = {};
  ds.properties.forEach((p, i) => (out[p.identifier] = a.properties[i]!));
  return out;
}

/** The record of `got` (geometry + properties) equals `exp`. */
export function assertRecord(ds: NgDataset, got: NgAnnotation, exp: Expected, where: string): void {
  assert.equal(got.id, exp.id, `${where}: id`);
  assert.deepEqual(geometryOf(got), geometryOf(exp), `${where}: geometry of id ${exp.id}`);
  assert.deepEqual(propertiesByName(ds, got), exp.properties, `${where}: properties of id ${exp.id}`);
}

// ---- write + read --------------------------------------------------------------------------

export interface Written {
  dir: string;
  summary: WriteSummary;
  ds: NgDataset;
  warnings: string[];
}

export async function writeAndRead(
  dir: string,
  table: TableInput,
  coords: CoordSpaceInput,
  type: AnnotationType,
  options: WriteOptions = {},
): Promise<Written> {
  const warnings: string[] = [];
  const summary = await writePrecomputedAnnotations(table, coords, type, {
    seed: 1,
    ...options,
    outputDir: dir,
    onWarning: (m) => {
      warnings.push(m);
      options.onWarning?.(m);
    },
  });
  const ds = await readDatasetWithNeuroglancer(dir);
  return { dir, summary, ds, warnings };
}

/** by_id: every annotation decodes to its input record and relationship lists. */
export async function checkById(ds: NgDataset, expected: Expected[]): Promise<void> {
  await inBatches(expected, async (exp) => {
    const got = await ds.getById(exp.id);
    assert.ok(got, `by_id has no entry for id ${exp.id}`);
    assertRecord(ds, got, exp, 'by_id');
    assert.deepEqual(got.relationships, exp.relationships, `by_id relationships of id ${exp.id}`);
  });
}

/** Runs the lookups a few at a time: neuroglancer's reader is async, so file reads overlap. */
async function inBatches<T>(items: T[], fn: (item: T) => Promise<void>, size = 16): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/**
 * by_rel: for every related id, exactly the annotations that list it, once each, ascending by
 * annotation id, records intact; an id nobody lists has no entry.
 */
export async function checkByRelationship(ds: NgDataset, expected: Expected[]): Promise<void> {
  for (let r = 0; r < ds.relationships.length; r++) {
    const name = ds.relationships[r]!;
    const members = new Map<bigint, Expected[]>();
    for (const exp of expected) {
      for (const rel of new Set(exp.relationships[r])) {
        if (!members.has(rel)) members.set(rel, []);
        members.get(rel)!.push(exp);
      }
    }
    await inBatches([...members], async ([rel, list]) => {
      list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const got = await ds.getByRelationship(name, rel);
      assert.ok(got, `by_rel_${name} has no entry for ${rel}`);
      assert.deepEqual(
        got.map((a) => a.id),
        list.map((e) => e.id),
        `by_rel_${name}/${rel}: annotation ids`,
      );
      got.forEach((a, i) => assertRecord(ds, a, list[i]!, `by_rel_${name}/${rel}`));
    });
    // An id that no annotation lists.
    let absent = 123456789n;
    while (members.has(absent)) absent++;
    assert.equal(await ds.getByRelationship(name, absent), undefined, `by_rel_${name}/${absent} should not exist`);
  }
}

// ---- expected spatial cells (independent of src/core/spatial.ts) ------------------------------

export interface Grid {
  lower: number[];
  chunkSize: number[];
  gridShape: number[];
}

const clamp = (c: number, g: number) => (c < 0 ? 0 : c > g - 1 ? g - 1 : c);

/** The cell containing p, clamped to the grid (outer cells extend to infinity). */
export function pointCell(p: number[], grid: Grid): number[] {
  return p.map((x, d) => clamp(Math.floor((x - grid.lower[d]!) / grid.chunkSize[d]!), grid.gridShape[d]!));
}

const key = (cell: number[]) => cell.join('_');

/**
 * Cells a segment passes through: split it at every interior grid plane it crosses (parameter t),
 * and take the cell of the midpoint of each piece. (With random coordinates the segment touches a
 * plane without crossing it with probability zero.)
 */
export function segmentCells(a: number[], b: number[], grid: Grid, out = new Set<string>()): Set<string> {
  const ts = [0, 1];
  for (let d = 0; d < a.length; d++) {
    const dir = b[d]! - a[d]!;
    if (dir === 0) continue;
    for (let i = 1; i < grid.gridShape[d]!; i++) {
      const t = (grid.lower[d]! + grid.chunkSize[d]! * i - a[d]!) / dir;
      if (t > 0 && t < 1) ts.push(t);
    }
  }
  ts.sort((x, y) => x - y);
  for (let k = 0; k + 1 < ts.length; k++) {
    if (ts[k + 1] === ts[k]) continue; // two planes crossed at once (a corner)
    const t = (ts[k]! + ts[k + 1]!) / 2;
    out.add(key(pointCell(a.map((x, d) => x + t * (b[d]! - x)), grid)));
  }
  return out;
}

function* allCells(gridShape: number[]): Generator<number[]> {
  const cell = gridShape.map(() => 0);
  for (;;) {
    yield [...cell];
    let d = 0;
    while (d < cell.length && ++cell[d]! === gridShape[d]) cell[d++] = 0;
    if (d === cell.length) return;
  }
}

/** Closed box of a cell; the first and last cells of an axis reach to -/+ infinity. */
function cellBox(cell: number[], grid: Grid): { lo: number[]; hi: number[] } {
  return {
    lo: cell.map((c, d) => (c === 0 ? -Infinity : grid.lower[d]! + grid.chunkSize[d]! * c)),
    hi: cell.map((c, d) => (c === grid.gridShape[d]! - 1 ? Infinity : grid.lower[d]! + grid.chunkSize[d]! * (c + 1))),
  };
}

/** Every cell the annotation intersects at this grid, as `i_j_k` keys. */
export function expectedCells(g: Geometry, grid: Grid): Set<string> {
  if (g.point) return new Set([key(pointCell(g.point, grid))]);
  if (g.points) {
    const out = new Set<string>();
    for (let v = 0; v + 1 < g.points.length; v++) segmentCells(g.points[v]!, g.points[v + 1]!, grid, out);
    return out;
  }
  if (g.center) {
    const out = new Set<string>();
    const c = g.center;
    const r = g.radii!;
    for (const cell of allCells(grid.gridShape)) {
      const { lo, hi } = cellBox(cell, grid);
      let sum = 0;
      for (let d = 0; d < c.length; d++) {
        const q = Math.min(Math.max(c[d]!, lo[d]!), hi[d]!); // closest point of the cell to the centre
        const delta = q - c[d]!;
        if (delta === 0) continue;
        sum += r[d] === 0 ? Infinity : (delta / r[d]!) ** 2;
      }
      if (sum <= 1) out.add(key(cell));
    }
    return out;
  }
  throw new Error('lines and boxes share a geometry shape: use expectedCellsFor(type, ...)');
}

/** Cells of an annotation of `type`. */
export function expectedCellsFor(type: AnnotationType, g: Geometry, grid: Grid): Set<string> {
  if (type === 'line') return segmentCells(g.pointA!, g.pointB!, grid);
  if (type === 'axis_aligned_bounding_box') {
    const lo = pointCell(g.pointA!.map((x, d) => Math.min(x, g.pointB![d]!)), grid);
    const hi = pointCell(g.pointA!.map((x, d) => Math.max(x, g.pointB![d]!)), grid);
    const shape = lo.map((l, d) => hi[d]! - l + 1);
    const out = new Set<string>();
    for (const off of allCells(shape)) out.add(key(off.map((o, d) => o + lo[d]!)));
    return out;
  }
  return expectedCells(g, grid);
}

/** Does the closed box of `cell` contain point p? (For geometry lying exactly on a plane.) */
export function cellContains(cellKey: string, p: number[], grid: Grid): boolean {
  const { lo, hi } = cellBox(cellKey.split('_').map(Number), grid);
  return p.every((x, d) => x >= lo[d]! && x <= hi[d]!);
}

// ---- spatial invariants ----------------------------------------------------------------------

/** Like ds.allSpatial (every stored cell, keyed i_j_k), with the reads overlapped. */
export async function allChunks(ds: NgDataset, level: number): Promise<Map<string, NgAnnotation[]>> {
  const found: Array<[string, NgAnnotation[]]> = [];
  await inBatches([...allCells(ds.levels[level]!.gridShape)], async (cell) => {
    const list = await ds.getSpatialChunk(level, cell);
    if (list !== undefined) found.push([key(cell), list]);
  }, 64);
  return new Map(found.sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

export interface SpatialResult {
  /** id → [info level index, set of cell keys] */
  placement: Map<bigint, { level: number; cells: Set<string> }>;
  grids: Grid[];
}

/**
 * Reads every stored cell of every level through neuroglancer and checks: records intact, no id
 * twice in a chunk, `limit` = the largest chunk, non-final levels hold at most cells × limit
 * distinct annotations, every annotation at exactly one level, no file that no cell maps to.
 * With `exactCells`, each annotation must be in exactly the cells it intersects.
 */
export async function checkSpatial(
  ds: NgDataset,
  expected: Expected[],
  targetChunkLimit: number,
  exactCells = true,
): Promise<SpatialResult> {
  const byId = new Map(expected.map((e) => [e.id, e]));
  const placement = new Map<bigint, { level: number; cells: Set<string> }>();
  const grids: Grid[] = [];
  assert.ok(ds.levels.length > 0, 'no spatial levels');
  for (const level of ds.levels) {
    const grid: Grid = { lower: ds.raw.lower_bound, chunkSize: level.chunkSize, gridShape: level.gridShape };
    grids.push(grid);
    const chunks = await allChunks(ds, level.index);
    let maxCount = 0;
    const distinct = new Set<bigint>();
    for (const [cell, list] of chunks) {
      assert.ok(list.length > 0, `level ${level.index} cell ${cell}: stored but empty`);
      maxCount = Math.max(maxCount, list.length);
      const seen = new Set<bigint>();
      for (const a of list) {
        assert.ok(!seen.has(a.id), `level ${level.index} cell ${cell}: id ${a.id} twice`);
        seen.add(a.id);
        const exp = byId.get(a.id);
        assert.ok(exp, `level ${level.index} cell ${cell}: unknown id ${a.id}`);
        assertRecord(ds, a, exp, `spatial level ${level.index} cell ${cell}`);
        const prev = placement.get(a.id);
        if (prev === undefined) placement.set(a.id, { level: level.index, cells: new Set([cell]) });
        else {
          assert.equal(prev.level, level.index, `id ${a.id} is in levels ${prev.level} and ${level.index}`);
          prev.cells.add(cell);
        }
        distinct.add(a.id);
      }
    }
    assert.ok(chunks.size > 0, `level ${level.index} is listed but has no chunk`);
    assert.equal(level.limit, maxCount, `level ${level.index}: info limit vs largest chunk`);
    if (level.index < ds.levels.length - 1) {
      const cells = level.gridShape.reduce((x, y) => x * y, 1);
      assert.ok(distinct.size <= cells * targetChunkLimit, `level ${level.index}: ${distinct.size} annotations > ${cells} cells × ${targetChunkLimit}`);
    }
    if (!level.sharded) assert.deepEqual(await ds.unrequestedSpatialFiles(level.index), [], `level ${level.index}: files no cell maps to`);
  }
  for (const exp of expected) {
    const p = placement.get(exp.id);
    assert.ok(p, `id ${exp.id} is in no spatial level`);
    if (exactCells) {
      const want = expectedCellsFor(ds.type, exp.geometry, grids[p.level]!);
      assert.deepEqual([...p.cells].sort(), [...want].sort(), `id ${exp.id} (${JSON.stringify(exp.geometry)}) at level ${p.level} grid ${grids[p.level]!.gridShape}: cells`);
    }
  }
  assert.equal(placement.size, expected.length, 'annotations in the spatial index');
  return { placement, grids };
}

/**
 * Grids and quotas as reference-behaviour.md (g) 1-2 describe them, computed here from the info's
 * bounds and neuroglancer's parsed scales: level 0 is one cell; each next level halves the
 * physically longest extent and every other one longer than 1.5 × the new size (zero extents count
 * as one coordinate unit); chunk sizes are float32; level k holds min(cells × limit, what is left)
 * annotations and the last level the rest. Levels that get no annotations are not listed.
 */
export function checkGridsAndQuotas(ds: NgDataset, result: SpatialResult, numSpatialLevels: number, targetChunkLimit: number, n: number): void {
  const lower: number[] = ds.raw.lower_bound;
  const upper: number[] = ds.raw.upper_bound;
  const scales = Array.from(ds.metadata.coordinateSpace.scales as Float64Array);
  const c = lower.map((lo, d) => (upper[d]! > lo ? upper[d]! - lo : 1) * scales[d]!);
  const g = lower.map(() => 1);
  const grids: Array<{ gridShape: number[]; chunkSize: number[] }> = [];
  for (let k = 0; k < numSpatialLevels; k++) {
    if (k > 0) {
      const m = c.indexOf(Math.max(...c));
      const t = c[m]! / 2;
      for (let d = 0; d < c.length; d++) {
        if (d === m || c[d]! / t > 1.5) {
          c[d] = c[d]! / 2;
          g[d] = g[d]! * 2;
        }
      }
    }
    grids.push({ gridShape: [...g], chunkSize: c.map((x, d) => Math.fround(x / scales[d]!)) });
  }
  let left = n;
  const quotas = grids.map((grid, k) => {
    const q = k === grids.length - 1 || targetChunkLimit === 0 ? left : Math.min(left, grid.gridShape.reduce((a, b) => a * b, 1) * targetChunkLimit);
    left -= q;
    return q;
  });
  const listed = quotas.map((q, k) => [q, k] as const).filter(([q]) => q > 0).map(([, k]) => k);
  assert.deepEqual(ds.raw.spatial.map((s: { key: string }) => s.key), listed.map((k) => `by_spatial_level_${k}`), 'spatial levels listed');
  const perLevel = ds.levels.map(() => 0);
  for (const { level } of result.placement.values()) perLevel[level]!++;
  listed.forEach((k, i) => {
    assert.deepEqual(ds.levels[i]!.gridShape, grids[k]!.gridShape, `level ${k} grid_shape`);
    assert.deepEqual(ds.levels[i]!.chunkSize, grids[k]!.chunkSize, `level ${k} chunk_size`);
    assert.equal(perLevel[i], quotas[k], `level ${k}: annotations (quota)`);
  });
}

// ---- files ---------------------------------------------------------------------------------


export { Table };
