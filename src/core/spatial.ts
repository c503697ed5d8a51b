// The spatial index: a grid per level (split along the physically longest axes), per-level quotas of
// annotations, one level per annotation, and the exact set of cells each annotation intersects there.
import type { Prepared } from './prepare';
import { MortonEncoder } from './morton';
import { Rng, randomPermutation } from './rng';
import { ExportError } from './errors';

export interface GridLevel {
  gridShape: number[];
  /** float32-rounded chunk size per dimension, in coordinate units. */
  chunkSize: number[];
}

/**
 * Grids for `levels` levels. Level 0 is one cell covering the bounds; each next level halves the
 * physically largest dimension, and every other dimension longer than 1.5x the new size. Degenerate
 * (zero-extent) axes count as one coordinate unit long, so they never divide by zero.
 */
export function defineGrids(lower: number[], upper: number[], scales: number[], levels: number): GridLevel[] {
  const rank = lower.length;
  const c = lower.map((lo, d) => {
    const extent = upper[d] - lo;
    return (extent > 0 ? extent : 1) * scales[d];
  });
  const g = new Array<number>(rank).fill(1);
  const out: GridLevel[] = [];
  for (let k = 0; k < levels; k++) {
    if (k > 0) {
      let m = 0;
      for (let d = 1; d < rank; d++) if (c[d] > c[m]) m = d;
      const t = c[m] / 2;
      for (let d = 0; d < rank; d++) {
        if (d === m || c[d] / t > 1.5) {
          c[d] = c[d] / 2;
          g[d] = g[d] * 2;
        }
      }
    }
    out.push({ gridShape: [...g], chunkSize: c.map((x, d) => Math.fround(x / scales[d])) });
  }
  return out;
}

/** Annotations per level: each level up to cells × limit, the last level takes the rest. */
export function levelQuotas(n: number, grids: GridLevel[], targetChunkLimit: number): number[] {
  const levels = grids.length;
  if (targetChunkLimit === 0) return [n, ...new Array<number>(levels - 1).fill(0)];
  const counts = new Array<number>(levels).fill(0);
  let remaining = n;
  for (let k = 0; k < levels; k++) {
    if (k === levels - 1) {
      counts[k] = remaining;
      break;
    }
    const cells = grids[k].gridShape.reduce((a, b) => a * b, 1);
    const cap = cells * targetChunkLimit;
    counts[k] = Math.min(cap, remaining);
    remaining -= counts[k];
  }
  return counts;
}

export interface SpatialLevelEntries {
  level: number;
  gridShape: number[];
  chunkSize: number[];
  /** Sorted unique chunk keys (compressed Morton codes). */
  codes: Float64Array;
  /** chunkStart[j]..chunkStart[j+1] index into `annotations` for chunk j. */
  chunkStart: Uint32Array;
  /** Annotation indices, grouped by chunk, in within-chunk order. */
  annotations: Uint32Array;
  /** Largest number of entries in one chunk (at least 1). */
  maxCount: number;
}

/** An append-only typed array that doubles when full. */
class Growable<T extends Uint32Array | Float64Array> {
  length = 0;
  constructor(
    public data: T,
    private readonly make: (n: number) => T,
  ) {}
  push(x: number): void {
    if (this.length === this.data.length) {
      const next = this.make(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = x;
  }
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
}
const growableU32 = () => new Growable(new Uint32Array(1024), (n) => new Uint32Array(n));
const growableF64 = () => new Growable(new Float64Array(1024), (n) => new Float64Array(n));

/** Per level, per axis: cell lower edges, with the outer cells open to ±Infinity (the clamped grid). */
export interface AxisGrid {
  origin: number;
  size: number;
  cells: number;
}

function cellLo(ax: AxisGrid, i: number): number {
  return i === 0 ? -Infinity : ax.origin + ax.size * i;
}
function cellHi(ax: AxisGrid, i: number): number {
  return i === ax.cells - 1 ? Infinity : ax.origin + ax.size * (i + 1);
}

/** First cell index of value x on an axis, clamped to the grid. */
function floorCell(ax: AxisGrid, x: number): number {
  const c = Math.floor((x - ax.origin) / ax.size);
  return c < 0 ? 0 : c >= ax.cells ? ax.cells - 1 : c;
}
/** Exclusive end cell of an interval ending at x: ceil, at least one cell past `start`, clamped. */
function ceilCell(ax: AxisGrid, x: number, start: number): number {
  let c = Math.ceil((x - ax.origin) / ax.size);
  if (c < start + 1) c = start + 1;
  return c > ax.cells ? ax.cells : c;
}

/** Does the segment a→b (closed) meet the closed box of `cell`? Slab test on the signed direction. */
function segmentMeetsCell(a: ArrayLike<number>, aOff: number, b: ArrayLike<number>, bOff: number, axes: AxisGrid[], cell: Int32Array): boolean {
  let t0 = 0;
  let t1 = 1;
  for (let d = 0; d < axes.length; d++) {
    const lo = cellLo(axes[d], cell[d]);
    const hi = cellHi(axes[d], cell[d]);
    const p = a[aOff + d];
    const dir = b[bOff + d] - p;
    if (dir === 0) {
      if (p < lo || p > hi) return false;
      continue;
    }
    let ta = (lo - p) / dir;
    let tb = (hi - p) / dir;
    if (ta > tb) {
      const t = ta;
      ta = tb;
      tb = t;
    }
    if (ta > t0) t0 = ta;
    if (tb < t1) t1 = tb;
    if (t0 > t1) return false;
  }
  return true;
}

function ellipsoidMeetsCell(f: Float32Array, base: number, rank: number, axes: AxisGrid[], cell: Int32Array): boolean {
  let sum = 0;
  for (let d = 0; d < rank; d++) {
    const c = f[base + d];
    const r = f[base + rank + d];
    const lo = cellLo(axes[d], cell[d]);
    const hi = cellHi(axes[d], cell[d]);
    let delta = 0;
    if (c < lo) delta = lo - c;
    else if (c > hi) delta = c - hi;
    if (delta === 0) continue;
    if (r === 0) return false;
    const q = delta / r;
    sum += q * q;
    if (sum > 1) return false;
  }
  return true;
}

export interface SpatialOptions {
  numSpatialLevels: number;
  targetChunkLimit: number;
  shuffle: boolean;
  seed: number;
  scales: number[];
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** What the spatial index reads of the prepared annotations (all of it plain data, so a worker can have it). */
export type SpatialInput = Pick<Prepared, 'type' | 'rank' | 'n' | 'records' | 'recordSize' | 'recordOffsets' | 'lower' | 'upper'>;

/** Assigns levels and cells; returns the non-empty levels in order. */
export function buildSpatialIndex(p: SpatialInput, opts: SpatialOptions): SpatialLevelEntries[] {
  const { n } = p;
  const grids = defineGrids(p.lower, p.upper, opts.scales, opts.numSpatialLevels);
  const quotas = levelQuotas(n, grids, opts.targetChunkLimit);
  const order = opts.shuffle ? randomPermutation(n, new Rng(opts.seed)) : null;
  const f32 = new Float32Array(p.records.buffer, p.records.byteOffset, p.records.byteLength >>> 2);
  const entriesAnn: Array<Growable<Uint32Array>> = [];
  const entriesCode: Array<Growable<Float64Array>> = [];
  let position = 0;
  const reportEvery = 1 << 16;
  for (let level = 0; level < grids.length; level++) {
    const count = quotas[level];
    if (count === 0) continue;
    const { gridShape } = grids[level];
    if (!MortonEncoder.fits(gridShape)) {
      throw new ExportError(`Spatial level ${level} has a grid of ${gridShape.join('x')} cells, too fine to key; use fewer spatial levels or a larger chunk limit`);
    }
    const morton = new MortonEncoder(gridShape);
    const axes = levelAxes(p.lower, grids[level]);
    const ann = growableU32();
    const codes = growableF64();
    entriesAnn.push(ann);
    entriesCode.push(codes);
    const emit = (i: number, code: number) => {
      ann.push(i);
      codes.push(code);
    };
    if (p.type === 'point' && !p.recordOffsets) {
      // Points: one entry each, a tight loop without the generic machinery (most exports).
      if (!pointLevel(p, f32, axes, morton, order, position, count, ann, codes, opts, reportEvery)) return [];
      position += count;
      continue;
    }
    const cells = new CellVisitor(p, f32, axes, morton, emit);
    for (let k = 0; k < count; k++, position++) {
      if ((position & (reportEvery - 1)) === 0) {
        if (opts.signal?.aborted) return [];
        opts.onProgress?.(position, n);
      }
      cells.visit(order ? order[position] : position);
    }
  }
  opts.onProgress?.(n, n);

  const out: SpatialLevelEntries[] = [];
  let li = 0;
  for (let level = 0; level < grids.length; level++) {
    if (quotas[level] === 0) continue;
    const ann = entriesAnn[li].view();
    const codes = entriesCode[li].view();
    li++;
    if (ann.length === 0) continue;
    out.push(groupByChunk(level, grids[level], ann, codes, opts.targetChunkLimit));
  }
  return out;
}

/** Per axis: the clamped grid of one level, with its origin at the lower bounds. */
export function levelAxes(lower: number[], grid: GridLevel): AxisGrid[] {
  return grid.gridShape.map((g, d) => ({ origin: lower[d], size: grid.chunkSize[d], cells: g }));
}

/**
 * The cells of one level that each annotation meets, as Morton codes: `visit(i)` calls `emit(i,
 * code)` once per cell, in odometer order. Used by the in-memory index and by the streamed one.
 */
export class CellVisitor {
  private readonly rank: number;
  private readonly cell: Int32Array;
  private readonly start: Int32Array;
  private readonly end: Int32Array;
  private readonly dv: DataView;
  /** The annotation being visited, for `emitCell` (made once, not per annotation). */
  private i = 0;
  private readonly emitCell = () => this.emit(this.i, this.morton.encode(this.cell));

  constructor(
    private readonly p: Pick<Prepared, 'type' | 'rank' | 'records' | 'recordSize' | 'recordOffsets'>,
    private readonly f32: Float32Array,
    private readonly axes: AxisGrid[],
    private readonly morton: MortonEncoder,
    private readonly emit: (i: number, code: number) => void,
  ) {
    this.rank = p.rank;
    this.cell = new Int32Array(p.rank);
    this.start = new Int32Array(p.rank);
    this.end = new Int32Array(p.rank);
    this.dv = new DataView(p.records.buffer, p.records.byteOffset, p.records.byteLength);
  }

  visit(i: number): void {
    const { p, f32, axes, rank, cell, start, end } = this;
    const byte = p.recordOffsets ? p.recordOffsets[i] : i * p.recordSize;
    const base = byte >>> 2;
    const emitCell = this.emitCell;
    this.i = i;
    switch (p.type) {
      case 'point': {
        for (let d = 0; d < rank; d++) cell[d] = floorCell(axes[d], f32[base + d]);
        emitCell();
        break;
      }
      case 'axis_aligned_bounding_box':
      case 'line':
      case 'ellipsoid': {
        for (let d = 0; d < rank; d++) {
          let lo: number;
          let hi: number;
          if (p.type === 'ellipsoid') {
            lo = f32[base + d] - f32[base + rank + d];
            hi = f32[base + d] + f32[base + rank + d];
          } else {
            lo = Math.min(f32[base + d], f32[base + rank + d]);
            hi = Math.max(f32[base + d], f32[base + rank + d]);
          }
          start[d] = floorCell(axes[d], lo);
          end[d] = ceilCell(axes[d], hi, start[d]);
        }
        forEachCell(start, end, cell, () => {
          if (p.type === 'line' && !segmentMeetsCell(f32, base, f32, base + rank, axes, cell)) return;
          if (p.type === 'ellipsoid' && !ellipsoidMeetsCell(f32, base, rank, axes, cell)) return;
          emitCell();
        });
        break;
      }
      case 'polyline': {
        const nv = this.dv.getUint32(byte, true);
        const vbase = base + 1;
        for (let d = 0; d < rank; d++) {
          let lo = Infinity;
          let hi = -Infinity;
          for (let v = 0; v < nv; v++) {
            const x = f32[vbase + v * rank + d];
            if (x < lo) lo = x;
            if (x > hi) hi = x;
          }
          start[d] = floorCell(axes[d], lo);
          end[d] = ceilCell(axes[d], hi, start[d]);
        }
        forEachCell(start, end, cell, () => {
          if (nv === 1) {
            emitCell();
            return;
          }
          for (let v = 0; v + 1 < nv; v++) {
            if (segmentMeetsCell(f32, vbase + v * rank, f32, vbase + (v + 1) * rank, axes, cell)) {
              emitCell();
              return;
            }
          }
        });
        break;
      }
    }
  }
}

/** The Morton code of the cell holding the point at f32[base ..] (one level's axes and tables). */
export function pointCode(f32: Float32Array, base: number, axes: AxisGrid[], tables: Float64Array[]): number {
  let code = 0;
  for (let d = 0; d < axes.length; d++) code += tables[d][floorCell(axes[d], f32[base + d])];
  return code;
}

/** The entries of one level for fixed-size point records; false when aborted. */
function pointLevel(
  p: SpatialInput,
  f32: Float32Array,
  axes: AxisGrid[],
  morton: MortonEncoder,
  order: Uint32Array | null,
  first: number,
  count: number,
  ann: Growable<Uint32Array>,
  codes: Growable<Float64Array>,
  opts: SpatialOptions,
  reportEvery: number,
): boolean {
  const stride = p.recordSize >>> 2;
  const annOut = new Uint32Array(count);
  const codeOut = new Float64Array(count);
  const tables = morton.tables;
  for (let k = 0; k < count; k++) {
    const position = first + k;
    if ((position & (reportEvery - 1)) === 0) {
      if (opts.signal?.aborted) return false;
      opts.onProgress?.(position, p.n);
    }
    const i = order ? order[position] : position;
    annOut[k] = i;
    codeOut[k] = pointCode(f32, i * stride, axes, tables);
  }
  ann.data = annOut;
  ann.length = count;
  codes.data = codeOut;
  codes.length = count;
  return true;
}

/** Visits every cell of the box [start, end) (odometer order). */
function forEachCell(start: Int32Array, end: Int32Array, cell: Int32Array, fn: () => void): void {
  const rank = start.length;
  for (let d = 0; d < rank; d++) cell[d] = start[d];
  for (;;) {
    fn();
    let d = 0;
    while (d < rank) {
      cell[d]++;
      if (cell[d] < end[d]) break;
      cell[d] = start[d];
      d++;
    }
    if (d === rank) return;
  }
}

/** Stable grouping of entries by chunk code (emission order is kept within a chunk). */
function groupByChunk(level: number, grid: GridLevel, ann: Uint32Array, codes: Float64Array, targetChunkLimit: number): SpatialLevelEntries {
  const m = ann.length;
  const cells = grid.gridShape.reduce((a, b) => a * b, 1);
  let sortedAnn: Uint32Array;
  let sortedCodes: Float64Array;
  if (cells <= 1 << 24 && cells <= 4 * m + 1024) {
    // Counting sort over the code space (codes < number of cells: grids are powers of two).
    const counts = new Uint32Array(cells + 1);
    for (let e = 0; e < m; e++) counts[codes[e] + 1]++;
    for (let c = 0; c < cells; c++) counts[c + 1] += counts[c];
    sortedAnn = new Uint32Array(m);
    sortedCodes = new Float64Array(m);
    for (let e = 0; e < m; e++) {
      const at = counts[codes[e]]++;
      sortedAnn[at] = ann[e];
      sortedCodes[at] = codes[e];
    }
  } else {
    const idx = new Uint32Array(m);
    for (let e = 0; e < m; e++) idx[e] = e;
    idx.sort((a, b) => codes[a] - codes[b] || a - b);
    sortedAnn = new Uint32Array(m);
    sortedCodes = new Float64Array(m);
    for (let e = 0; e < m; e++) {
      sortedAnn[e] = ann[idx[e]];
      sortedCodes[e] = codes[idx[e]];
    }
  }
  const uniq: number[] = [];
  const starts: number[] = [];
  let maxCount = 0;
  for (let e = 0; e < m; e++) {
    if (e === 0 || sortedCodes[e] !== sortedCodes[e - 1]) {
      if (starts.length) maxCount = Math.max(maxCount, e - starts[starts.length - 1]);
      uniq.push(sortedCodes[e]);
      starts.push(e);
    }
  }
  maxCount = Math.max(maxCount, m - starts[starts.length - 1]);
  starts.push(m);
  return {
    level,
    gridShape: grid.gridShape,
    chunkSize: grid.chunkSize,
    codes: Float64Array.from(uniq),
    chunkStart: Uint32Array.from(starts),
    annotations: sortedAnn,
    maxCount: targetChunkLimit === 0 ? 1 : Math.max(1, maxCount),
  };
}
