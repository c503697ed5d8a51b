// writePrecomputedAnnotations: validate everything, then write by_id, by_rel_*, the spatial levels and
// finally `info`, into a temporary folder that is renamed into place only when complete.
import type { Table } from 'apache-arrow';
import { randomInt } from 'node:crypto';
import { availableParallelism } from 'node:os';
import {
  ANNOTATION_TYPES,
  TableHandle,
  type AnnotationType,
  type CoordSpaceInput,
  type IndexSummary,
  type Phase,
  type TableInput,
  type WriteOptions,
  type WriteSummary,
} from './types';
import { AbortError, ExportError, throwIfAborted } from './errors';
import { normalizeCoordSpace } from './coords';
import { prepare, recordStart, type Prepared } from './prepare';
import { buildSpatialIndex, type SpatialLevelEntries } from './spatial';
import { mortonDecode } from './morton';
import { chooseShardingParams, collectShard, encodeData, makeShardingSpec, planShards, shardFileName, valueBytes, type ShardingSpec, type ValueSource } from './sharding';
import { ShardEncoder } from './pool';
import { LocalDirectoryStorage, checkOutputDir, runLimited, type Storage } from './storage';
import { argsortU64, sortByU64, words } from './radix';
import { buildInfo } from './info';
// The one place the core reaches for the readers: a path given as the table.
import { readTable } from '../io/index';
import * as path from 'node:path';

/** gzip level used when none is given; see README "Compression" for the measurements. */
export const DEFAULT_GZIP_LEVEL = 1;
const MAX_LEVELS = 64;

async function resolveTable(
  input: Table | TableHandle | string | null | undefined,
  what: string,
  signal?: AbortSignal,
  relationships?: string[],
  onBytes?: (done: number, total: number) => void,
): Promise<Table | null> {
  if (input === null || input === undefined) return null;
  if (input instanceof TableHandle) return input.take();
  if (typeof input === 'string') {
    // Relationship columns of text files are parsed strictly, so a bad cell is named by its line.
    return readTable(input, { signal, relationships, onProgress: onBytes });
  }
  if (typeof input === 'object' && typeof (input as Table).getChild === 'function' && typeof (input as Table).numRows === 'number') {
    return input as Table;
  }
  throw new ExportError(`Expected an Arrow table, a TableHandle, a file path or null for ${what}`);
}

function checkOptions(o: WriteOptions): void {
  const levels = o.numSpatialLevels ?? 7;
  const limit = o.targetChunkLimit ?? 10_000;
  const writeSpatial = o.writeBySpatialChunk ?? true;
  if (!Number.isInteger(levels) || levels < 0) throw new ExportError(`numSpatialLevels must be a whole number, got ${levels}`);
  if (!Number.isInteger(limit) || limit < 0) throw new ExportError(`targetChunkLimit must be a whole number >= 0, got ${limit}`);
  if (writeSpatial && levels === 0) {
    throw new ExportError('To write the spatial index, numSpatialLevels must be at least 1');
  }
  if (writeSpatial && limit === 0 && levels !== 1) {
    throw new ExportError('targetChunkLimit 0 disables subsampling and is only valid with numSpatialLevels 1');
  }
  if (levels > MAX_LEVELS) throw new ExportError(`numSpatialLevels must be at most ${MAX_LEVELS}, got ${levels}`);
  if (o.seed !== undefined && (!Number.isSafeInteger(o.seed) || o.seed < 0)) throw new ExportError(`seed must be a non-negative integer, got ${o.seed}`);
  if (o.maxThreads !== undefined && (!Number.isInteger(o.maxThreads) || o.maxThreads < 1)) throw new ExportError(`maxThreads must be a positive integer, got ${o.maxThreads}`);
  if (o.maxShardsPerTransaction !== undefined && (!Number.isInteger(o.maxShardsPerTransaction) || o.maxShardsPerTransaction < 1)) {
    throw new ExportError(`maxShardsPerTransaction must be a positive integer, got ${o.maxShardsPerTransaction}`);
  }
  const g = o.gzipLevel;
  if (g !== undefined && g !== 'raw' && !(Number.isInteger(g) && g >= 0 && g <= 9)) throw new ExportError(`gzipLevel must be 0 to 9 or 'raw', got ${g}`);
}

function recordBytes(p: Prepared, i: number): number {
  return p.recordOffsets ? p.recordOffsets[i + 1] - p.recordOffsets[i] : p.recordSize;
}

/** Copies `len` bytes; a plain loop beats creating a subarray for the short records that dominate. */
function copyBytes(src: Uint8Array, from: number, out: Uint8Array, at: number, len: number): void {
  if (len > 64) out.set(src.subarray(from, from + len), at);
  else for (let b = 0; b < len; b++) out[at + b] = src[from + b];
}

/** The bytes of a uint64 array (little-endian on every platform Node runs on), to copy ids without BigInts. */
function u64Bytes(a: BigUint64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function putU32(out: Uint8Array, at: number, v: number): void {
  out[at] = v & 0xff;
  out[at + 1] = (v >>> 8) & 0xff;
  out[at + 2] = (v >>> 16) & 0xff;
  out[at + 3] = v >>> 24;
}

/** by_id values: the record, then per relationship a uint32 count and the uint64 ids. */
function byIdSource(p: Prepared): ValueSource {
  const rels = p.relationships.map((r) => ({ offsets: r.offsets, bytes: u64Bytes(r.ids) }));
  return {
    size(i) {
      let size = recordBytes(p, i);
      for (const r of rels) size += 4 + 8 * (r.offsets[i + 1] - r.offsets[i]);
      return size;
    },
    write(i, out, at) {
      const len = recordBytes(p, i);
      copyBytes(p.records, recordStart(p, i), out, at, len);
      at += len;
      for (const r of rels) {
        const s = r.offsets[i];
        const e = r.offsets[i + 1];
        putU32(out, at, e - s);
        at += 4;
        copyBytes(r.bytes, 8 * s, out, at, 8 * (e - s));
        at += 8 * (e - s);
      }
    },
  };
}

/**
 * Values holding several annotations (by_rel entries, spatial chunks): uint64 count, the records,
 * then the uint64 ids, in one order. Key k holds members[start[k] .. start[k+1]).
 */
function multiSource(p: Prepared, start: Uint32Array, members: Uint32Array): ValueSource {
  const ids = u64Bytes(p.ids);
  return {
    size(k) {
      let size = 8;
      for (let j = start[k]; j < start[k + 1]; j++) size += recordBytes(p, members[j]) + 8;
      return size;
    },
    write(k, out, at) {
      const count = start[k + 1] - start[k];
      putU32(out, at, count);
      putU32(out, at + 4, 0); // counts stay below 2^32
      at += 8;
      for (let j = start[k]; j < start[k + 1]; j++) {
        const i = members[j];
        const len = recordBytes(p, i);
        copyBytes(p.records, recordStart(p, i), out, at, len);
        at += len;
      }
      for (let j = start[k]; j < start[k + 1]; j++) {
        copyBytes(ids, 8 * members[j], out, at, 8);
        at += 8;
      }
    },
  };
}

interface IndexInput {
  key: string;
  phase: Phase;
  detail?: string;
  keys: BigUint64Array;
  /** Uncompressed bytes of all values (drives the shard size choice). */
  totalBytes: number;
  values: ValueSource;
  /** Unsharded file name of a key. */
  fileName: (keyIndex: number) => string;
  entries: number;
}

interface Context {
  storage: Storage;
  sharded: boolean;
  gzipLevel: number | 'raw';
  dataEncoding: 'auto' | 'gzip' | 'raw';
  encoder: ShardEncoder;
  maxShardsInFlight: number;
  concurrency: number;
  signal?: AbortSignal;
  progress: (phase: Phase, done: number, total: number, detail?: string) => void;
}

/** gzip an index only when a sample of its values shrinks to 80% or less: small records barely shrink (by_id grows) and cost a zlib call each. */
const GZIP_WORTH_IT = 0.8;

/** 'gzip' or 'raw' for an index's chunk data, from the option or from a sample of its values. */
function chooseDataEncoding(ctx: Context, idx: IndexInput): 'gzip' | 'raw' {
  if (ctx.gzipLevel === 'raw') return 'raw';
  if (ctx.dataEncoding !== 'auto') return ctx.dataEncoding;
  const n = idx.keys.length;
  const samples = Math.min(n, 64);
  let raw = 0;
  let packed = 0;
  for (let t = 0; t < samples; t++) {
    const v = valueBytes(idx.values, Math.floor((t * n) / samples));
    raw += v.length;
    packed += encodeData(v, 'gzip', ctx.gzipLevel).length;
  }
  return packed <= GZIP_WORTH_IT * raw ? 'gzip' : 'raw';
}

async function writeIndex(ctx: Context, idx: IndexInput): Promise<{ sharding?: ShardingSpec; summary: IndexSummary }> {
  const startBytes = ctx.storage.bytesWritten;
  const startFiles = ctx.storage.filesWritten;
  const n = idx.keys.length;
  let sharding: ShardingSpec | undefined;
  ctx.progress(idx.phase, 0, n, idx.detail);
  if (n > 0 && ctx.sharded) {
    let maxKey = 0n;
    for (let i = 0; i < n; i++) if (idx.keys[i] > maxKey) maxKey = idx.keys[i];
    const params = chooseShardingParams(n, idx.totalBytes, maxKey);
    const level = ctx.gzipLevel === 'raw' ? 0 : ctx.gzipLevel;
    sharding = makeShardingSpec(params, chooseDataEncoding(ctx, idx), ctx.gzipLevel === 'raw' ? 'raw' : 'gzip');
    const spec = sharding;
    const plan = planShards(idx.keys, spec);
    let done = 0;
    // Gather shard s on this thread while workers encode earlier ones; at most `inFlight` shards
    // are held in memory at once.
    const inFlight: Array<Promise<void>> = [];
    try {
      for (let s = 0; s < plan.shards.length; s++) {
        throwIfAborted(ctx.signal);
        const members = plan.order.subarray(plan.shardStart[s], plan.shardStart[s + 1]);
        const chunks = collectShard(idx.keys, members, plan.minishard, idx.values);
        const name = `${idx.key}/${shardFileName(plan.shards[s], spec.shard_bits)}`;
        const count = members.length;
        const job = ctx.encoder.encode(spec, level, chunks).then(async (bytes) => {
          await ctx.storage.write(name, bytes);
          done += count;
          ctx.progress(idx.phase, done, n, idx.detail);
        });
        // Observed now, awaited below: a shard that fails while an earlier one is awaited is not an
        // unhandled rejection.
        job.catch(() => undefined);
        inFlight.push(job);
        if (inFlight.length >= ctx.maxShardsInFlight) await inFlight.shift();
      }
      for (const job of inFlight) await job;
    } catch (e) {
      // Let every shard still in flight finish or fail before the caller removes the folder.
      await Promise.allSettled(inFlight);
      throw e;
    }
  } else if (n > 0) {
    let done = 0;
    await runLimited(ctx.concurrency, n, async (i) => {
      throwIfAborted(ctx.signal);
      await ctx.storage.write(`${idx.key}/${idx.fileName(i)}`, valueBytes(idx.values, i));
      if (++done % 4096 === 0) ctx.progress(idx.phase, done, n, idx.detail);
    });
  }
  ctx.progress(idx.phase, n, n, idx.detail);
  return {
    sharding,
    summary: {
      key: idx.key,
      keys: n,
      entries: idx.entries,
      bytes: ctx.storage.bytesWritten - startBytes,
      rawBytes: idx.totalBytes,
      dataEncoding: sharding?.data_encoding,
      files: ctx.storage.filesWritten - startFiles,
    },
  };
}

/** Related id → annotations (deduplicated, ascending annotation id) for one relationship. */
function relationshipIndex(p: Prepared, r: Prepared['relationships'][number]): { keys: BigUint64Array; start: Uint32Array; members: Uint32Array; pairs: number } {
  const m = r.ids.length;
  const ann = new Uint32Array(m);
  const annIds = new BigUint64Array(m);
  for (let i = 0; i < p.n; i++) {
    for (let j = r.offsets[i]; j < r.offsets[i + 1]; j++) {
      ann[j] = i;
      annIds[j] = p.ids[i];
    }
  }
  // Stable radix sorts: by annotation id, then by related id.
  const order = sortByU64(argsortU64(annIds), r.ids);
  const rw = words(r.ids);
  const keys: bigint[] = [];
  const start: number[] = [];
  const members = new Uint32Array(m);
  let count = 0;
  for (let t = 0; t < m; t++) {
    const j = order[t];
    const prev = t > 0 ? order[t - 1] : -1;
    const sameKey = prev >= 0 && rw[2 * j] === rw[2 * prev] && rw[2 * j + 1] === rw[2 * prev + 1];
    if (!sameKey) {
      keys.push(r.ids[j]);
      start.push(count);
    } else if (ann[j] === ann[prev]) {
      continue; // the same annotation lists this id twice
    }
    members[count++] = ann[j];
  }
  start.push(count);
  return { keys: BigUint64Array.from(keys), start: Uint32Array.from(start), members: members.subarray(0, count), pairs: count };
}

export async function writePrecomputedAnnotations(
  table: TableInput,
  coordSpace: CoordSpaceInput,
  annotationType: AnnotationType | string,
  options: WriteOptions = {},
): Promise<WriteSummary> {
  const t0 = performance.now();
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    options.onWarning?.(m);
  };
  const progress = (phase: Phase, done: number, total: number, detail?: string) => options.onProgress?.({ phase, done, total, detail });
  checkOptions(options);
  const type = String(annotationType).toLowerCase() as AnnotationType;
  if (!ANNOTATION_TYPES.includes(type)) {
    throw new ExportError(`Annotation type ${JSON.stringify(annotationType)} is not supported; expected one of ${ANNOTATION_TYPES.join(', ')}`);
  }
  const coords = normalizeCoordSpace(coordSpace);
  const outputDir = path.resolve(options.outputDir ?? 'annotations');
  const overwrite = options.overwrite ?? false;
  if (type !== 'polyline' && options.polylinePoints !== undefined && options.polylinePoints !== null) {
    throw new ExportError('polylinePoints may only be given for polyline annotations');
  }
  checkOutputDir(outputDir, overwrite);

  progress('reading', 0, 1);
  const relationshipColumns = typeof options.relationships === 'string' ? [options.relationships] : options.relationships;
  const readingBytes = (done: number, total: number) => progress('reading', done, total);
  let mainTable: Table | null;
  let pointsTable: Table | null = null;
  try {
    mainTable = await resolveTable(table, 'the annotations table', options.signal, relationshipColumns, readingBytes);
    if (type === 'polyline') {
      if (options.polylinePoints === undefined || options.polylinePoints === null) {
        // The vertices alone, passed as the first argument.
        pointsTable = mainTable;
        mainTable = null;
      } else {
        pointsTable = await resolveTable(options.polylinePoints, 'the polyline vertices', options.signal, undefined, readingBytes);
      }
    }
  } catch (e) {
    // The readers abort with a DOMException; callers see one AbortError whatever the phase.
    if (options.signal?.aborted || (e as Error)?.name === 'AbortError') throw new AbortError();
    throw e;
  }
  if (type !== 'polyline' && !mainTable) {
    throw new ExportError(`A table is needed for ${type} annotations (null is only allowed for polylines)`);
  }
  progress('reading', 1, 1);
  throwIfAborted(options.signal);

  progress('validating', 0, 1);
  const p = prepare(mainTable, pointsTable, coords, type, options, warn);
  // The inputs are consumed: drop our references so a TableHandle's data can be collected.
  mainTable = null;
  pointsTable = null;
  progress('validating', 1, 1);
  throwIfAborted(options.signal);

  const storage = await LocalDirectoryStorage.create(outputDir, { overwrite });
  const maxThreads = options.maxThreads ?? availableParallelism();
  const sharded = options.writeSharded ?? true;
  const ctx: Context = {
    storage,
    sharded,
    gzipLevel: options.gzipLevel ?? DEFAULT_GZIP_LEVEL,
    dataEncoding: options.dataEncoding ?? 'gzip',
    // Worker threads only pay for themselves on larger exports.
    encoder: new ShardEncoder(sharded && p.records.length > 4_000_000 ? maxThreads : 1),
    maxShardsInFlight: options.maxShardsPerTransaction ?? maxThreads,
    concurrency: 32,
    signal: options.signal,
    progress,
  };
  // Without relationship indexes the info lists no relationships, and neuroglancer then reads by_id
  // values as bare records: they must not carry relationship lists either.
  if (!(options.writeByRelationship ?? true)) p.relationships = [];
  try {
    // by_id
    let byIdInfo: { key: string; sharding?: ShardingSpec } = { key: 'by_id' };
    let byId: IndexSummary | null = null;
    if (options.writeById ?? true) {
      let total = 0;
      for (let i = 0; i < p.n; i++) {
        total += recordBytes(p, i);
        for (const r of p.relationships) total += 4 + 8 * (r.offsets[i + 1] - r.offsets[i]);
      }
      const res = await writeIndex(ctx, {
        key: 'by_id',
        phase: 'by_id',
        keys: p.ids,
        totalBytes: total,
        values: byIdSource(p),
        fileName: (i) => p.ids[i].toString(),
        entries: p.n,
      });
      byIdInfo = { key: 'by_id', sharding: res.sharding };
      byId = res.summary;
    }

    // by_rel_<name>
    const relInfos: Array<{ key: string; sharding?: ShardingSpec; id: string }> = [];
    const relSummaries: IndexSummary[] = [];
    if (options.writeByRelationship ?? true) {
      for (const r of p.relationships) {
        throwIfAborted(options.signal);
        const ri = relationshipIndex(p, r);
        let total = 8 * ri.keys.length;
        for (let t = 0; t < ri.members.length; t++) total += recordBytes(p, ri.members[t]) + 8;
        const key = `by_rel_${r.name}`;
        const res = await writeIndex(ctx, {
          key,
          phase: 'by_relationship',
          detail: r.name,
          keys: ri.keys,
          totalBytes: total,
          values: multiSource(p, ri.start, ri.members),
          fileName: (k) => ri.keys[k].toString(),
          entries: ri.pairs,
        });
        relInfos.push({ key, sharding: res.sharding, id: r.name });
        relSummaries.push(res.summary);
      }
    }

    // by_spatial_level_<k>
    const spatialInfos: Array<{ key: string; sharding?: ShardingSpec; chunk_size: number[]; grid_shape: number[]; limit: number }> = [];
    const spatialSummaries: WriteSummary['spatial'] = [];
    if (options.writeBySpatialChunk ?? true) {
      const levels: SpatialLevelEntries[] = buildSpatialIndex(p, {
        numSpatialLevels: options.numSpatialLevels ?? 7,
        targetChunkLimit: options.targetChunkLimit ?? 10_000,
        shuffle: options.shuffleBeforeAssigningSpatialLevels ?? true,
        seed: options.seed ?? randomInt(0, 2 ** 47),
        scales: coords.scales,
        signal: options.signal,
        onProgress: (done, total) => progress('spatial_assign', done, total),
      });
      throwIfAborted(options.signal);
      for (const lv of levels) {
        const key = `by_spatial_level_${lv.level}`;
        const keys = BigUint64Array.from(lv.codes, (c) => BigInt(c));
        let total = 8 * keys.length;
        for (let t = 0; t < lv.annotations.length; t++) total += recordBytes(p, lv.annotations[t]) + 8;
        const res = await writeIndex(ctx, {
          key,
          phase: 'spatial',
          detail: `level ${lv.level}`,
          keys,
          totalBytes: total,
          values: multiSource(p, lv.chunkStart, lv.annotations),
          fileName: (k) => mortonDecode(lv.gridShape, lv.codes[k]).join('_'),
          entries: lv.annotations.length,
        });
        spatialInfos.push({ key, sharding: res.sharding, chunk_size: lv.chunkSize, grid_shape: lv.gridShape, limit: lv.maxCount });
        spatialSummaries.push({ ...res.summary, level: lv.level, gridShape: lv.gridShape, limit: lv.maxCount });
      }
    }

    progress('finishing', 0, 1);
    throwIfAborted(options.signal);
    const info = buildInfo({
      coords,
      lower: p.lower,
      upper: p.upper,
      type,
      properties: p.propertySpecs,
      byId: byIdInfo,
      relationships: relInfos,
      spatial: spatialInfos,
      description: options.description ?? '',
    });
    await storage.write('info', info);
    throwIfAborted(options.signal);
    await ctx.encoder.close();
    await storage.commit();
    progress('finishing', 1, 1);
    return {
      outputDir,
      annotationType: type,
      rank: p.rank,
      annotations: p.n,
      byId,
      relationships: relSummaries,
      spatial: spatialSummaries,
      bytesWritten: storage.bytesWritten,
      filesWritten: storage.filesWritten,
      elapsedMs: performance.now() - t0,
      warnings,
    };
  } catch (e) {
    await ctx.encoder.close();
    await storage.abort();
    if (options.signal?.aborted && !(e instanceof AbortError)) throw new AbortError();
    throw e;
  }
}
