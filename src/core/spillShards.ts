// The temporary files of an export larger than memory (stream.ts), once pass 2 has written them:
// each by_rel and spatial part is counted, then regrouped by shard, and each shard is built and
// encoded. Each step reads one file and needs nothing else, so it runs as a job on a shard worker
// thread (shardWorker.ts), or on the calling thread when there are none.
//
// Entry layouts. by_id (one file per shard): id (2 words), row, value bytes, then the value (record,
// relationship lists). Everything else (parts, then shards): key (2 words), annotation id (2 words),
// order (the spatial shuffle position; 0 for by_rel), the record.
import { ExportError, describeRows } from './errors';
import { argsortU64, identityOrder, sortByU64, words } from './radix';
import { assignShards, chooseDataEncoding, collectShard, encodeChunks, layoutShardParts, planShards, type ShardingSpec } from './sharding';
import { valueSource, type ValueSpec } from './values';
import { readSpillFile, type SpillFile } from './spill';
import { scratchBytes, scratchF64, scratchU32, scratchU64 } from './scratch';

/** Where a built shard's arrays go: scratch when it is encoded here, fresh when it moves to another thread. */
interface Alloc {
  u64(use: string, n: number): BigUint64Array;
  u32(use: string, n: number): Uint32Array;
  f64(use: string, n: number): Float64Array;
  bytes(use: string, n: number): Uint8Array;
}
const SCRATCH: Alloc = { u64: scratchU64, u32: scratchU32, f64: scratchF64, bytes: scratchBytes };
const FRESH: Alloc = {
  u64: (_, n) => new BigUint64Array(n),
  u32: (_, n) => new Uint32Array(n),
  f64: (_, n) => new Float64Array(n),
  bytes: (_, n) => new Uint8Array(n),
};

/** A temporary file's bytes, in scratch: every step below is done with them before it returns. */
const readFile = (f: SpillFile) => readSpillFile(f, (n) => scratchBytes('spill.file', n));

/** One part or shard of entries, parsed and ordered by (key, annotation id or position). */
interface Entries {
  w: Uint32Array;
  stride: number;
  keys: BigUint64Array;
  /** Entry indices in order, repeats of a (key, annotation) pair removed for by_rel. */
  order: Uint32Array;
}

function parseEntries(data: Uint8Array, entryBytes: number, spatial: boolean, sort: 'full' | 'key' | 'none' = 'full'): Entries {
  const w = new Uint32Array(data.buffer, data.byteOffset, data.byteLength >>> 2);
  const stride = entryBytes >>> 2;
  const m = data.byteLength / entryBytes;
  const keys = scratchU64('entries.keys', m);
  const kw = words(keys);
  for (let t = 0; t < m; t++) {
    kw[2 * t] = w[t * stride];
    kw[2 * t + 1] = w[t * stride + 1];
  }
  if (sort === 'none') return { w, stride, keys, order: new Uint32Array(0) };
  if (sort === 'key') return { w, stride, keys, order: argsortU64(keys) };
  const second = scratchU64('entries.second', m);
  const sw = words(second);
  let narrow = spatial;
  for (let t = 0; t < m && narrow; t++) if (kw[2 * t + 1] !== 0) narrow = false;
  if (narrow) {
    // Cell codes below 2^32 (every level up to 2^32 cells): the code above the position in one
    // uint64, one sort instead of two.
    for (let t = 0; t < m; t++) {
      sw[2 * t] = w[t * stride + 4];
      sw[2 * t + 1] = kw[2 * t];
    }
    return { w, stride, keys, order: argsortU64(second) };
  }
  for (let t = 0; t < m; t++) {
    if (spatial) {
      sw[2 * t] = w[t * stride + 4];
      sw[2 * t + 1] = 0;
    } else {
      sw[2 * t] = w[t * stride + 2];
      sw[2 * t + 1] = w[t * stride + 3];
    }
  }
  let order = sortByU64(argsortU64(second), keys);
  if (!spatial) {
    // The same annotation listing the same related id twice is one member.
    let kept = 0;
    for (let j = 0; j < m; j++) {
      const a = order[j];
      if (kept > 0) {
        const b = order[kept - 1];
        if (kw[2 * a] === kw[2 * b] && kw[2 * a + 1] === kw[2 * b + 1] && sw[2 * a] === sw[2 * b] && sw[2 * a + 1] === sw[2 * b + 1]) continue;
      }
      order[kept++] = a;
    }
    order = order.subarray(0, kept);
  }
  return { w, stride, keys, order };
}

/** Distinct keys, entries, largest entries per key and largest key of a part. */
export interface PartCounts {
  keys: number;
  entries: number;
  maxCount: number;
  hi: number;
  lo: number;
}

function countPart(e: Entries): PartCounts {
  const { order, w, stride } = e;
  let keys = 0;
  let run = 0;
  let maxCount = 0;
  let hi = 0;
  let lo = 0;
  let prevLo = -1;
  let prevHi = -1;
  for (let j = 0; j < order.length; j++) {
    const from = order[j] * stride;
    const l = w[from];
    const h = w[from + 1];
    if (l !== prevLo || h !== prevHi) {
      keys++;
      run = 0;
      prevLo = l;
      prevHi = h;
      if (h > hi || (h === hi && l > lo)) {
        hi = h;
        lo = l;
      }
    }
    if (++run > maxCount) maxCount = run;
  }
  return { keys, entries: order.length, maxCount, hi, lo };
}

/** A by_rel or spatial part's counts. */
export function countPartFile(f: SpillFile, entryBytes: number, spatial: boolean): PartCounts {
  // Key runs are all the counts need: spatial entries are not ordered within a key here.
  return countPart(parseEntries(readFile(f), entryBytes, spatial, spatial ? 'key' : 'full'));
}

/** A part's entries, grouped by their shard under `spec` (in file order within a shard), and where each shard's run ends. */
export interface RegroupedPart {
  data: Uint8Array;
  /** Bytes: shard b's entries are data[ends[b - 1] (0 for b = 0), ends[b]). */
  ends: Float64Array;
}

export function regroupPartFile(f: SpillFile, entryBytes: number, spec: ShardingSpec): RegroupedPart {
  const e = parseEntries(readFile(f), entryBytes, false, 'none');
  const { shard } = assignShards(e.keys, spec);
  const count = 2 ** spec.shard_bits;
  const next = new Float64Array(count);
  for (let t = 0; t < shard.length; t++) next[shard[t]]++;
  const ends = new Float64Array(count);
  for (let b = 0, at = 0; b < count; b++) {
    const c = next[b];
    next[b] = at;
    at += c;
    ends[b] = at * entryBytes;
  }
  const data = new Uint8Array(shard.length * entryBytes);
  const out = new Uint32Array(data.buffer);
  const { w, stride } = e;
  for (let t = 0; t < shard.length; t++) {
    let at = next[shard[t]]++ * stride;
    for (let x = t * stride, end = x + stride; x < end; x++) out[at++] = w[x];
  }
  return { data, ends };
}

/**
 * One by_id shard from its temporary file: ids in order, each value (record and relationship lists)
 * as a variable-size record. Duplicate ids share a shard, so they are found here, named by their
 * rows; only their count when that check was all that was wanted.
 */
function byIdShard(data: Uint8Array, write: boolean, a: Alloc): BuiltShard | number {
  const w = new Uint32Array(data.buffer, data.byteOffset, data.byteLength >>> 2);
  let m = 0;
  for (let at = 0; at < w.length; at += 4 + (w[at + 3] >>> 2)) m++;
  const ids = scratchU64('shard.ids', m);
  const iw = words(ids);
  const start = scratchF64('shard.start', m);
  const rows = scratchU32('shard.members', m);
  for (let at = 0, k = 0; at < w.length; at += 4 + (w[at + 3] >>> 2), k++) {
    iw[2 * k] = w[at];
    iw[2 * k + 1] = w[at + 1];
    rows[k] = w[at + 2];
    start[k] = at + 4;
  }
  const order = argsortU64(ids);
  for (let j = 1; j < m; j++) {
    const a = order[j - 1];
    const c = order[j];
    if (iw[2 * a] === iw[2 * c] && iw[2 * a + 1] === iw[2 * c + 1]) {
      const dup: number[] = [];
      for (let k = 0; k < m; k++) if (iw[2 * k] === iw[2 * a] && iw[2 * k + 1] === iw[2 * a + 1]) dup.push(rows[k]);
      dup.sort((x, y) => x - y);
      throw new ExportError(`Annotation ids must be unique, but id ${ids[a]} appears more than once (${describeRows(dup)})`, {
        rows: dup.slice(0, 5),
        value: ids[a],
        expected: 'unique ids',
      });
    }
  }
  if (!write) return m;
  // Plain arrays: the shard is encoded on the thread that built it.
  const keys = a.u64('shard.keys', m);
  const kw = words(keys);
  const offsets = a.f64('shard.offsets', m + 1);
  offsets[0] = 0;
  let total = 0;
  for (let j = 0; j < m; j++) {
    const k = order[j];
    kw[2 * j] = iw[2 * k];
    kw[2 * j + 1] = iw[2 * k + 1];
    total += w[start[k] - 1];
    offsets[j + 1] = total;
  }
  const records = a.bytes('shard.records', total);
  const recw = new Uint32Array(records.buffer, 0, total >>> 2);
  for (let j = 0, at = 0; j < m; j++) {
    const k = order[j];
    const from = start[k];
    const len = w[from - 1] >>> 2;
    for (let x = 0; x < len; x++) recw[at++] = w[from + x];
  }
  return { keys, values: { kind: 'byId', records, recordSize: 0, recordOffsets: offsets, rels: [] } };
}

/** One by_rel or spatial shard from its temporary file: distinct keys, and each key's entries in order. */
function multiShard(data: Uint8Array, E: number, spatial: boolean, recordSize: number, a: Alloc): BuiltShard {
  const e = parseEntries(data, E, spatial);
  const m = e.order.length;
  const distinct = countPart(e).keys;
  const shardKeys = a.u64('shard.keys', distinct);
  const skw = words(shardKeys);
  const start = a.u32('shard.start', distinct + 1);
  const members = a.u32('shard.members', m);
  const ids = a.u64('shard.ids', m);
  const idw = words(ids);
  const records = a.bytes('shard.records', m * recordSize);
  const recw = new Uint32Array(records.buffer, 0, (m * recordSize) >>> 2);
  const rs = recordSize >>> 2;
  const { order, w, stride } = e;
  let k = 0;
  let lo = -1;
  let hi = -1;
  for (let j = 0, to = 0; j < m; j++) {
    const from = order[j] * stride;
    if (w[from] !== lo || w[from + 1] !== hi) {
      lo = w[from];
      hi = w[from + 1];
      skw[2 * k] = lo;
      skw[2 * k + 1] = hi;
      start[k++] = j;
    }
    members[j] = j;
    idw[2 * j] = w[from + 2];
    idw[2 * j + 1] = w[from + 3];
    for (let x = from + 5, end = x + rs; x < end; x++) recw[to++] = w[x];
  }
  start[distinct] = m;
  return { keys: shardKeys, values: { kind: 'multi', records, recordSize, ids, start, members } };
}

/** How a shard's file is read: by_id's variable-size values, or a by_rel or spatial index's entries. */
export type ShardBuild = { kind: 'byId'; write: boolean } | { kind: 'multi'; entryBytes: number; spatial: boolean; recordSize: number };

export interface ShardFileTask extends SpillFile {
  shard: number;
  build: ShardBuild;
  spec: ShardingSpec;
  /** Given for an index's first shard: its data encoding is decided from this shard's values (the in-memory writer samples the whole index). */
  choose?: 'auto' | 'gzip' | 'raw';
  gzipLevel: number | 'raw';
}

export interface EncodedShardFile {
  /** The shard file's bytes; null when by_id was only checked for duplicate ids. */
  parts: Uint8Array[] | null;
  entries: number;
  encoding: 'gzip' | 'raw';
  /** The buffer most parts are views of (the encoded values), this step's own: it can be moved to another thread. */
  values?: ArrayBuffer;
}

/** A shard's keys in order and their values, and how many entries it holds. */
export interface BuiltShard {
  keys: BigUint64Array;
  values: ValueSpec;
}

function build(t: ShardFileTask, a: Alloc): BuiltShard | number {
  const data = readFile(t);
  return t.build.kind === 'byId' ? byIdShard(data, t.build.write, a) : multiShard(data, t.build.entryBytes, t.build.spatial, t.build.recordSize, a);
}

/** Entries of a built shard: by_id's keys, a multi index's members. */
export function builtEntries(b: BuiltShard): number {
  return b.values.kind === 'multi' ? b.values.ids.length : b.keys.length;
}

/** A built shard's plan: its keys are in order and all belong to shard `shard` (checked). */
export function builtShardPlan(keys: BigUint64Array, spec: ShardingSpec, shard: number): { order: Uint32Array; minishard: Uint32Array } {
  const plan = planShards(keys, spec, identityOrder(keys.length));
  if (plan.shards.length !== 1 || plan.shards[0] !== shard) throw new Error(`internal: shard ${shard} holds keys of shard ${plan.shards[0]}`);
  return plan;
}

/**
 * One shard built from its temporary file, in fresh arrays, for another thread to encode (a shard
 * too large to encode whole on one worker beside another); only its entry count when by_id was only checked.
 */
export function buildShardFile(t: ShardFileTask): BuiltShard | number {
  return build(t, FRESH);
}

/** The arrays of a built shard, to move to another thread. */
export function builtBuffers(b: BuiltShard): ArrayBuffer[] {
  const v = b.values;
  const arrays = v.kind === 'multi' ? [v.records, v.ids, v.start, v.members] : [v.records, v.recordOffsets!];
  return [b.keys, ...arrays].map((x) => x.buffer as ArrayBuffer);
}

/**
 * One shard, from its temporary file to its bytes: built, its data encoding decided if asked
 * (`onDecided` hears it before the encoding starts), gathered, compressed and laid out.
 */
export function encodeShardFile(t: ShardFileTask, onDecided?: (encoding: 'gzip' | 'raw') => void): EncodedShardFile {
  const built = build(t, SCRATCH);
  if (typeof built === 'number') return { parts: null, entries: built, encoding: t.spec.data_encoding };
  const values = valueSource(built.values);
  const encoding = t.choose ? chooseDataEncoding(t.gzipLevel, t.choose, values, built.keys.length) : t.spec.data_encoding;
  onDecided?.(encoding);
  const spec = { ...t.spec, data_encoding: encoding };
  const plan = builtShardPlan(built.keys, spec, t.shard);
  const level = t.gzipLevel === 'raw' ? 0 : t.gzipLevel;
  // Gathered into the file's scratch (its bytes were copied out when the shard was built) when
  // compressed: the compressed copy is what is returned.
  const chunks = collectShard(built.keys, plan.order, plan.minishard, values, encoding === 'gzip' ? 'spill.file' : undefined);
  const encoded = encodeChunks(encoding, level, chunks.data, chunks.sizes);
  const parts = layoutShardParts(spec, level, chunks, encoded);
  return { parts, entries: builtEntries(built), encoding, values: encoded.data.buffer as ArrayBuffer };
}
