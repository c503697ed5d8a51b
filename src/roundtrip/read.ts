// readPrecomputedAnnotations: a precomputed annotation dataset (ours or anyone's) back into Arrow
// tables whose columns are named and typed the way the exporter reads them, so that the table
// exports again to the same dataset. Decoding is inspect's (info.ts, records.ts, sharded.ts): one
// decoder for both. Records come from by_id when there is one (with each annotation's relationship
// lists), else from the spatial levels, finest first, de-duplicated by id (relationships then come
// from the by_rel indexes). No VS Code, no Node-only storage: everything goes through `ReadSource`.
import { Dictionary, Field, Float32, Int32, List, RecordBatch, Table, Uint64, Utf8, makeData, vectorFromArray, type Data, type Vector } from 'apache-arrow';
import type { AnnotationType, PropertySpec } from '../core/types';
import { geometryColumns } from '../shared/guess';
import { argsortU64 } from '../core/radix';
import { parseInfo, type AnnotationInfo, type IndexRef, type Problem, type PropertyInfo } from '../inspect/info';
import { decodeMulti, decodeSingle, type RecordView } from '../inspect/records';
import { parseShardFileName, readShardFrom, shardFileName } from '../inspect/sharded';
import { openSource, type ReadSource } from './source';
import { UserError, throwIfAborted } from '../shared/errors';

/** A dataset that cannot be read: the message names the dataset and what is wrong. */
export class DatasetError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

/** What the tables describe, in the exporter's terms (a mapping without input and output). */
export interface PrecomputedSchema {
  annotationType: AnnotationType;
  /** Coordinate names in dimension order, with their units and scales as the info gives them. */
  coords: string[];
  units: string[];
  scales: number[];
  /** Property specs exactly as in the info (order, types, enum values and labels, descriptions). */
  properties: PropertySpec[];
  relationships: string[];
  description?: string;
  /** Where the annotations were read from. */
  source: 'by_id' | 'spatial';
}

export interface PrecomputedBatch {
  /** annotation_id, geometry (none for polylines), properties, relationships. */
  annotations: RecordBatch;
  /** Polylines only: annotation_id and the coordinates, one row per vertex in order. */
  vertices?: RecordBatch;
}

export interface ReadPrecomputedOptions {
  /** Read through this source instead of opening `dirOrUrl` (e.g. a bucket). */
  source?: ReadSource;
  /** 'auto' (default): by_id when the dataset has one and it can be enumerated, else the spatial index. */
  from?: 'auto' | 'by_id' | 'spatial';
  /** Rows per record batch (default 65 536). */
  batchSize?: number;
  /** Things that do not stop the read (e.g. falling back to the spatial index). */
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

export interface PrecomputedTable extends PrecomputedSchema {
  /** One row per annotation, in ascending annotation_id order. */
  table: Table;
  /** Polylines: one row per vertex, grouped by annotation in the table's order. */
  vertices: Table | null;
}

/** The most shards or cells enumerated when the source cannot list its folders. */
const MAX_ENUMERATED = 1 << 16;
const WHOLE_SHARD_LIMIT = 256 * 1024 * 1024;
const INFO_VERSION = /^neuroglancer_annotations_v(\d+)$/;

/** Reads and checks `info`; throws DatasetError with one line saying why it is not usable. */
export async function readInfo(src: ReadSource): Promise<AnnotationInfo> {
  const bytes = await src.read('info');
  if (bytes === null) throw new DatasetError(`${src.name} is not a precomputed annotation dataset: it has no info file`);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new DatasetError(`${src.name}/info is not valid JSON: ${(e as Error).message}`);
  }
  const type = (json as Record<string, unknown> | null)?.['@type'];
  const version = typeof type === 'string' ? INFO_VERSION.exec(type) : null;
  if (version && version[1] !== '1') {
    throw new DatasetError(`${src.name}: unsupported annotation info version ${JSON.stringify(type)} (this reader knows neuroglancer_annotations_v1)`);
  }
  if (type !== 'neuroglancer_annotations_v1') {
    throw new DatasetError(`${src.name} is not a precomputed annotation dataset: info "@type" is ${JSON.stringify(type)}, expected "neuroglancer_annotations_v1"`);
  }
  const problems: Problem[] = [];
  const info = parseInfo(json, problems);
  const first = problems.find((p) => p.severity === 'error');
  if (info === undefined || first) throw new DatasetError(`${src.name}/${first?.where ?? 'info'}: ${first?.message ?? 'cannot be read'}`);
  return info;
}

/** The exporter-side description of a parsed info. */
export function schemaOf(info: AnnotationInfo, source: PrecomputedSchema['source']): PrecomputedSchema {
  const s: PrecomputedSchema = {
    annotationType: info.type,
    coords: info.dimensions.map((d) => d[0]),
    scales: info.dimensions.map((d) => d[1]),
    units: info.dimensions.map((d) => d[2]),
    properties: info.properties.map((p) => {
      const spec: PropertySpec = { id: p.id, type: p.type };
      if (p.description !== undefined) spec.description = p.description;
      if (p.enumValues !== undefined) {
        spec.enum_values = [...p.enumValues];
        spec.enum_labels = [...p.enumLabels!];
      }
      return spec;
    }),
    relationships: info.relationships.map((r) => r.id),
    source,
  };
  if (info.description !== undefined) s.description = info.description;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Enumerating an index's stored values.

interface Chunk {
  where: string;
  data: Buffer;
  /** uint64 key (by_id: the annotation id; by_rel: the related id; spatial: the cell's code or undefined). */
  key?: bigint;
}

const fail = (where: string) => (message: string) => {
  throw new DatasetError(`${where}: ${message}`);
};

/** Shard file names of a sharded index: listed when the source can, else every name neuroglancer could request. */
async function shardNames(src: ReadSource, ref: IndexRef): Promise<string[] | null> {
  const s = ref.sharding!;
  const listed = await src.list(ref.key);
  if (listed !== null) return listed.filter((n) => parseShardFileName(n, s) !== undefined);
  if (s.shardBits > 16) return null;
  return Array.from({ length: 2 ** s.shardBits }, (_, i) => shardFileName(BigInt(i), s));
}

/** Every value of a sharded index, shard by shard (one shard's chunks in memory at a time). */
async function* shardedChunks(src: ReadSource, ref: IndexRef, signal?: AbortSignal): AsyncGenerator<Chunk[]> {
  const s = ref.sharding!;
  const names = await shardNames(src, ref);
  if (names === null) throw new DatasetError(`${src.name}/${ref.key}: ${2 ** s.shardBits} possible shard files and no way to list them`);
  for (const name of names) {
    throwIfAborted(signal);
    const key = `${ref.key}/${name}`;
    const size = await src.size(key);
    if (size === null) continue; // an empty shard is simply not written
    const where = `${src.name}/${key}`;
    const whole = size <= WHOLE_SHARD_LIMIT ? Buffer.from(await src.read(key) ?? new Uint8Array(0)) : undefined;
    const readAt = async (start: number, length: number) => {
      if (whole) {
        if (start + length > whole.length) throw new Error(`short read at ${start}`);
        return whole.subarray(start, start + length);
      }
      return Buffer.from(await src.readRange(key, start, length));
    };
    const out: Chunk[] = [];
    await readShardFrom(size, readAt, parseShardFileName(name, s)!, s, (k, data) => out.push({ where: `${where} key ${k}`, data, key: k }), fail(where), () => {});
    yield out;
  }
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** Unsharded by_id / by_rel: one file per decimal key, in ascending key order; null if it cannot be listed. */
async function* unshardedKeyed(src: ReadSource, ref: IndexRef, names: string[], signal?: AbortSignal): AsyncGenerator<Chunk[]> {
  const keys = names.filter((n) => DECIMAL.test(n) && BigInt(n) < 1n << 64n).map(BigInt);
  keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let batch: Chunk[] = [];
  for (const k of keys) {
    throwIfAborted(signal);
    const key = `${ref.key}/${k}`;
    const data = await src.read(key);
    if (data === null) continue;
    batch.push({ where: `${src.name}/${key}`, data: Buffer.from(data), key: k });
    if (batch.length >= 4096) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

/** Unsharded spatial level: files `i_j_k`, listed or (for small grids) enumerated. */
async function* unshardedCells(src: ReadSource, ref: IndexRef, grid: number[], signal?: AbortSignal): AsyncGenerator<Chunk[]> {
  let names = await src.list(ref.key);
  if (names === null) {
    const cells = grid.reduce((a, b) => a * b, 1);
    if (cells > MAX_ENUMERATED) throw new DatasetError(`${src.name}/${ref.key}: ${cells} grid cells to request one by one (at most ${MAX_ENUMERATED}); read it from a folder or bucket that can be listed`);
    names = [];
    for (let c = 0; c < cells; c++) {
      let r = c;
      names.push(grid.map((g) => {
        const i = r % g;
        r = Math.floor(r / g);
        return i;
      }).join('_'));
    }
  }
  for (const name of names) {
    throwIfAborted(signal);
    const parts = name.split('_');
    if (parts.length !== grid.length || !parts.every((p, d) => DECIMAL.test(p) && Number(p) < grid[d])) continue;
    const key = `${ref.key}/${name}`;
    const data = await src.read(key);
    if (data !== null) yield [{ where: `${src.name}/${key}`, data: Buffer.from(data) }];
  }
}

// ---------------------------------------------------------------------------------------------
// Decoded annotations → Arrow columns.

interface Entry {
  id: bigint;
  buf: Buffer;
  rec: RecordView;
  related?: BigUint64Array[];
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** Accumulates decoded annotations and turns them into record batches. */
class BatchBuilder {
  private entries: Entry[] = [];
  private readonly geom: string[];
  private readonly dictionaries: Array<{ type: Dictionary<Utf8, Int32>; labels: Vector<Utf8>; codeOf: Map<number, number> } | undefined>;
  private readonly listType = new List(new Field('item', new Uint64(), true));

  constructor(
    private readonly info: AnnotationInfo,
    private readonly withRelationships: boolean,
  ) {
    const names = info.dimensions.map((d) => d[0]);
    this.geom = geometryColumns(info.type, names);
    // Enums whose labels name their values one to one become dictionary columns (one dictionary for every batch).
    this.dictionaries = info.properties.map((p, k) => {
      if (p.enumValues === undefined || new Set(p.enumLabels).size !== p.enumLabels!.length || new Set(p.enumValues).size !== p.enumValues.length) return undefined;
      return {
        type: new Dictionary(new Utf8(), new Int32(), 1_000_000 + k),
        labels: vectorFromArray(p.enumLabels!, new Utf8()),
        codeOf: new Map(p.enumValues.map((v, i) => [v, i])),
      };
    });
  }

  get length(): number {
    return this.entries.length;
  }

  add(e: Entry): void {
    this.entries.push(e);
  }

  /** Orders the pending annotations by id. */
  sortById(): void {
    const ids = BigUint64Array.from(this.entries, (e) => e.id);
    const order = argsortU64(ids);
    const sorted = new Array<Entry>(order.length);
    for (let i = 0; i < order.length; i++) sorted[i] = this.entries[order[i]];
    this.entries = sorted;
  }

  /** The first `count` pending annotations as a batch (and their vertices). */
  take(count: number): PrecomputedBatch {
    const rows = this.entries.splice(0, count);
    const { info } = this;
    const rank = info.rank;
    const n = rows.length;
    const children: Record<string, Data> = {};
    const ids = new BigUint64Array(n);
    rows.forEach((e, i) => (ids[i] = e.id));
    children.annotation_id = makeData({ type: new Uint64(), data: ids });
    const f32 = (buf: Buffer, at: number) => buf.readFloatLE(at);
    this.geom.forEach((name, c) => {
      const v = new Float32Array(n);
      for (let i = 0; i < n; i++) v[i] = f32(rows[i].buf, rows[i].rec.start + 4 * c);
      children[name] = makeData({ type: new Float32(), data: v });
    });
    info.properties.forEach((p, k) => (children[p.id] = this.propertyColumn(p, k, rows)));
    if (this.withRelationships) {
      info.relationships.forEach((rel, r) => {
        const offsets = new Int32Array(n + 1);
        let total = 0;
        for (let i = 0; i < n; i++) offsets[i + 1] = total += rows[i].related?.[r]?.length ?? 0;
        const values = new BigUint64Array(total);
        for (let i = 0; i < n; i++) {
          const list = rows[i].related?.[r];
          if (list) values.set(list, offsets[i]);
        }
        const child = makeData({ type: new Uint64(), data: values });
        children[rel.id] = makeData({ type: this.listType, length: n, nullCount: 0, valueOffsets: offsets, child });
      });
    }
    const out: PrecomputedBatch = { annotations: new RecordBatch(children) };
    if (info.type === 'polyline') {
      let m = 0;
      for (const e of rows) m += e.buf.readUInt32LE(e.rec.start);
      const vid = new BigUint64Array(m);
      const coords = Array.from({ length: rank }, () => new Float32Array(m));
      let j = 0;
      for (const e of rows) {
        const count = e.buf.readUInt32LE(e.rec.start);
        for (let v = 0; v < count; v++, j++) {
          vid[j] = e.id;
          for (let d = 0; d < rank; d++) coords[d][j] = f32(e.buf, e.rec.start + 4 + 4 * (v * rank + d));
        }
      }
      const vc: Record<string, Data> = { annotation_id: makeData({ type: new Uint64(), data: vid }) };
      info.dimensions.forEach((dim, d) => (vc[dim[0]] = makeData({ type: new Float32(), data: coords[d] })));
      out.vertices = new RecordBatch(vc);
    }
    return out;
  }

  private propertyColumn(p: PropertyInfo, k: number, rows: Entry[]): Data {
    const n = rows.length;
    const at = (e: Entry) => e.rec.end - this.info.propertyBytes + p.offset;
    if (p.type === 'rgb' || p.type === 'rgba') {
      // #rrggbb / #rrggbbaa text: what the exporter reads back as the same color type.
      const w = p.type === 'rgb' ? 3 : 4;
      const text = rows.map((e) => {
        let s = '#';
        for (let j = 0; j < w; j++) s += hex2(e.buf[at(e) + j]);
        return s;
      });
      return vectorFromArray(text, new Utf8()).data[0];
    }
    const read = (e: Entry): number => {
      const o = at(e);
      switch (p.type) {
        case 'uint8': return e.buf.readUInt8(o);
        case 'int8': return e.buf.readInt8(o);
        case 'uint16': return e.buf.readUInt16LE(o);
        case 'int16': return e.buf.readInt16LE(o);
        case 'uint32': return e.buf.readUInt32LE(o);
        case 'int32': return e.buf.readInt32LE(o);
        default: return e.buf.readFloatLE(o);
      }
    };
    const dict = this.dictionaries[k];
    if (dict) {
      const codes = new Int32Array(n);
      rows.forEach((e, i) => {
        const v = read(e);
        const code = dict.codeOf.get(v);
        if (code === undefined) throw new DatasetError(`annotation ${e.id}: property ${p.id} = ${v} is not one of its enum_values ${JSON.stringify(p.enumValues)}`);
        codes[i] = code;
      });
      return makeData({ type: dict.type, data: codes, dictionary: dict.labels });
    }
    const Typed = { uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array, uint32: Uint32Array, int32: Int32Array, float32: Float32Array }[p.type];
    const values = new Typed(n);
    rows.forEach((e, i) => (values[i] = read(e)));
    return vectorFromArray(values).data[0];
  }
}

// ---------------------------------------------------------------------------------------------

/** Whether by_id can be read: listed (with values), empty (written with --no-by-id), unlistable, or absent. */
async function byIdState(src: ReadSource, info: AnnotationInfo): Promise<'listed' | 'empty' | 'unlistable' | 'none'> {
  const ref = info.byId;
  if (!ref) return 'none';
  const listed = await src.list(ref.key);
  if (listed !== null) return listed.length === 0 ? 'empty' : 'listed';
  return ref.sharding && ref.sharding.shardBits <= 16 ? 'listed' : 'unlistable';
}

/** Opens a dataset: its schema, and its annotations as a stream of record batches. */
export async function openPrecomputedAnnotations(
  dirOrUrl: string,
  options: ReadPrecomputedOptions = {},
): Promise<{ schema: PrecomputedSchema; info: AnnotationInfo; batches: (sortById?: boolean) => AsyncGenerator<PrecomputedBatch> }> {
  const src = options.source ?? openSource(dirOrUrl);
  const info = await readInfo(src);
  const warn = options.onWarning ?? (() => {});
  const byId = await byIdState(src, info);
  let from: PrecomputedSchema['source'];
  if (options.from === 'spatial') from = 'spatial';
  else if (byId === 'listed' || (byId === 'empty' && info.spatial.length === 0) || options.from === 'by_id') {
    if (byId === 'unlistable' || byId === 'none') {
      throw new DatasetError(`${src.name}/${info.byId?.key ?? 'by_id'}: ${byId === 'none' ? 'no by_id index' : 'cannot be listed (unsharded over http)'}; read from the spatial index instead`);
    }
    from = 'by_id';
  } else {
    from = 'spatial';
    if (byId === 'unlistable') warn(`${src.name}: by_id cannot be listed over http; reading the spatial index instead (relationships come from the by_rel indexes that can be read)`);
  }
  if (from === 'spatial' && info.spatial.length === 0) throw new DatasetError(`${src.name}: the dataset has neither a readable by_id index nor a spatial index`);
  const schema = schemaOf(info, from);
  const batchSize = Math.max(1, options.batchSize ?? 65536);
  const signal = options.signal;

  async function* chunksOf(ref: IndexRef, grid?: number[]): AsyncGenerator<Chunk[]> {
    if (ref.sharding) yield* shardedChunks(src, ref, signal);
    else if (grid) yield* unshardedCells(src, ref, grid, signal);
    else {
      const names = await src.list(ref.key);
      if (names !== null) yield* unshardedKeyed(src, ref, names, signal);
    }
  }

  async function* entries(): AsyncGenerator<Entry[]> {
    if (from === 'by_id') {
      for await (const chunks of chunksOf(info.byId!)) {
        yield chunks.map((c) => {
          const d = decodeSingle(c.data, info);
          if (typeof d === 'string') throw new DatasetError(`${c.where}: ${d}`);
          const rec = d.record;
          // A copy of just the record: a decoded chunk can sit in a much larger buffer (gunzip output).
          return { id: c.key!, buf: Buffer.from(c.data.subarray(0, rec.end)), rec, related: d.related };
        });
      }
      return;
    }
    // Relationship lists from the by_rel indexes: related id → annotation ids, inverted.
    const related = new Map<bigint, bigint[][]>();
    for (const [r, rel] of info.relationships.entries()) {
      for await (const chunks of chunksOf(rel)) {
        for (const c of chunks) {
          const d = decodeMulti(c.data, info);
          if (typeof d === 'string') throw new DatasetError(`${c.where}: ${d}`);
          for (const id of d.ids) {
            let lists = related.get(id);
            if (!lists) related.set(id, (lists = info.relationships.map(() => [])));
            lists[r].push(c.key!);
          }
        }
      }
    }
    const seen = new Set<bigint>();
    for (let level = info.spatial.length - 1; level >= 0; level--) {
      const sp = info.spatial[level];
      for await (const chunks of chunksOf(sp, sp.gridShape)) {
        const out: Entry[] = [];
        for (const c of chunks) {
          const d = decodeMulti(c.data, info);
          if (typeof d === 'string') throw new DatasetError(`${c.where}: ${d}`);
          d.records.forEach((rec, i) => {
            const id = d.ids[i];
            if (seen.has(id)) return;
            seen.add(id);
            const lists = related.get(id);
            out.push({
              id,
              buf: c.data,
              rec,
              related: info.relationships.map((_, r) => BigUint64Array.from((lists?.[r] ?? []).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))),
            });
          });
        }
        if (out.length) yield out;
      }
    }
  }

  const withRelationships = from === 'by_id' || info.relationships.length > 0;
  async function* batches(sortById = false): AsyncGenerator<PrecomputedBatch> {
    const b = new BatchBuilder(info, withRelationships);
    for await (const group of entries()) {
      for (const e of group) b.add(e);
      if (!sortById) while (b.length >= batchSize) yield b.take(batchSize);
    }
    if (sortById) b.sortById();
    while (b.length > 0) yield b.take(batchSize);
  }
  return { schema, info, batches };
}

/**
 * Streams a dataset as record batches (in storage order: by_id shard by shard, or spatial cell by
 * cell), for datasets too large to hold as one table. The first value is the schema.
 */
export async function* streamPrecomputedAnnotations(dirOrUrl: string, options: ReadPrecomputedOptions = {}): AsyncGenerator<PrecomputedBatch, PrecomputedSchema> {
  const { schema, batches } = await openPrecomputedAnnotations(dirOrUrl, options);
  yield* batches(false);
  return schema;
}

/** The whole dataset as tables, rows in ascending annotation_id order. */
export async function readPrecomputedAnnotations(dirOrUrl: string, options: ReadPrecomputedOptions = {}): Promise<PrecomputedTable> {
  const { schema, info, batches } = await openPrecomputedAnnotations(dirOrUrl, options);
  const main: RecordBatch[] = [];
  const verts: RecordBatch[] = [];
  for await (const b of batches(true)) {
    main.push(b.annotations);
    if (b.vertices) verts.push(b.vertices);
  }
  if (main.length === 0) {
    // An empty dataset still has its columns.
    const empty = new BatchBuilder(info, true).take(0);
    main.push(empty.annotations);
    if (empty.vertices) verts.push(empty.vertices);
  }
  return { ...schema, table: new Table(main), vertices: info.type === 'polyline' ? new Table(verts) : null };
}

/**
 * What to give `writePrecomputedAnnotations` to export a read dataset again: the coordinate space
 * and the options that carry its schema (property specs in info order, relationships, vertices).
 */
export function exportArgsOf(t: PrecomputedTable): {
  table: Table;
  coords: { names: string[]; units: string[]; scales: number[] };
  type: AnnotationType;
  options: { properties: PropertySpec[]; relationships: string[]; polylinePoints?: Table; description?: string };
} {
  const options: ReturnType<typeof exportArgsOf>['options'] = { properties: t.properties, relationships: t.relationships };
  if (t.vertices) options.polylinePoints = t.vertices;
  if (t.description !== undefined) options.description = t.description;
  return { table: t.table, coords: { names: t.coords, units: t.units, scales: t.scales }, type: t.annotationType, options };
}
