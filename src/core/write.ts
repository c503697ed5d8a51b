// writePrecomputedAnnotations: validate everything, then write by_id, by_rel_*, the spatial levels and
// finally `info`, into a temporary folder that is renamed into place only when complete.
import type { Table } from 'apache-arrow';
import { randomInt } from 'node:crypto';
import { availableParallelism, totalmem } from 'node:os';
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
import { prepare, type Prepared } from './prepare';
import { ColumnStore } from './columns';
import { buildSpatialIndex, type SpatialLevelEntries } from './spatial';
import { mortonDecode } from './morton';
import { chooseDataEncoding, chooseShardingParams, makeShardingSpec, minishardIndexEncoding, planShards, shardFileName, valueBytes, type ShardingSpec, type ValueSource } from './sharding';
import { shared, valueSource, type ValueSpec } from './values';
import { ShardEncoder } from './pool';
import { JobsInFlight, LocalDirectoryStorage, checkOutputDir, runLimited, type Storage } from './storage';
import { argsortU64, maxU64, sortByU64, words } from './radix';
import { buildInfo } from './info';
// The one place the core reaches for the readers: a path given as the table.
import { readTable, inputSize, type InputSize } from '../io/index';
import { writeStreamed } from './stream';
import { columnsUsed } from './inputColumns';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_UPLOAD_CONCURRENCY, isBucketTarget, loadBuckets, parseBucketUrl } from '../storage/index';

/** Peak bytes per row of an export in memory, as measured (10.35 GB for 1e8 points with two properties and a relationship), rounded up. */
const MEMORY_PER_ROW = 110;
/** Peak bytes per file byte when the row count is not in the file's metadata (Arrow IPC). */
const MEMORY_PER_FILE_BYTE = 3;

/**
 * The file to export through temporary files when its in-memory export would need more than
 * `memoryLimit`; null to export in memory.
 */
async function streamInput(table: TableInput, type: AnnotationType, options: WriteOptions, warn: (m: string) => void): Promise<{ path: string; rows: number | null } | null> {
  const limit = options.memoryLimit ?? 0.6 * totalmem();
  if (!Number.isFinite(limit) || limit < 0) throw new ExportError(`memoryLimit must be a number of bytes >= 0, got ${options.memoryLimit}`);
  if (typeof table !== 'string') return null;
  let size: InputSize;
  try {
    size = await inputSize(table);
  } catch {
    return null; // the reader names the problem
  }
  const need = size.rows !== null ? size.rows * MEMORY_PER_ROW : size.fileBytes * MEMORY_PER_FILE_BYTE;
  if (need <= limit) return null;
  const why =
    size.format === 'csv' || size.format === 'tsv'
      ? 'CSV and TSV files are typed over the whole file, so they are read in memory'
      : type === 'polyline'
        ? 'polylines are exported in memory'
        : !(options.writeSharded ?? true)
          ? 'unsharded output is written in memory'
          : null;
  if (why) {
    warn(`This export may need about ${(need / 1e9).toFixed(1)} GB of memory, more than the limit of ${(limit / 1e9).toFixed(1)} GB, but ${why}. Parquet and Arrow files of point, line, box and ellipsoid annotations, written sharded, are exported through temporary files instead.`);
    return null;
  }
  return { path: table, rows: size.rows };
}

/** The opened output: where its temporary files go, and how to clean them up. */
interface Output {
  storage: Storage;
  scratchDir: string;
  dispose(): void;
}

/**
 * Opens the output: a local folder (a temporary sibling renamed into place) or a bucket (objects
 * uploaded, `info` last); a bucket export keeps its temporary files in os.tmpdir().
 */
async function openOutput(outputDir: string, bucket: boolean, options: WriteOptions, warn: (m: string) => void, onUploaded: (bytes: number) => void): Promise<Output> {
  const overwrite = options.overwrite ?? false;
  if (!bucket) {
    const storage = await LocalDirectoryStorage.create(outputDir, { overwrite });
    return { storage, scratchDir: storage.tempDir, dispose: () => undefined };
  }
  const storage = await (await loadBuckets()).openBucket(outputDir, {
    overwrite,
    concurrency: options.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY,
    onWarning: warn,
  });
  storage.onUploaded = onUploaded;
  let scratch: string | null = null;
  return {
    storage,
    get scratchDir() {
      scratch ??= fs.mkdtempSync(path.join(os.tmpdir(), 'ng-annotations-'));
      return scratch;
    },
    dispose: () => {
      if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
      storage.store.destroy();
    },
  };
}

/** gzip level used when none is given; see README "Compression" for the measurements. */
export const DEFAULT_GZIP_LEVEL = 1;
const MAX_LEVELS = 64;

async function resolveTable(
  input: Table | TableHandle | string | null | undefined,
  what: string,
  signal?: AbortSignal,
  relationships?: string[],
  onBytes?: (done: number, total: number) => void,
  text: { delimiter?: string; decimalComma?: boolean } = {},
  usedColumns?: (schema: import('apache-arrow').Schema) => string[] | null,
): Promise<Table | null> {
  if (input === null || input === undefined) return null;
  if (input instanceof TableHandle) return input.take();
  if (typeof input === 'string') {
    // Relationship columns of text files are parsed strictly, so a bad cell is named by its line.
    return readTable(input, { signal, relationships, onProgress: onBytes, delimiter: text.delimiter, decimalComma: text.decimalComma, columnsUsed: usedColumns });
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
  if (o.uploadConcurrency !== undefined && (!Number.isInteger(o.uploadConcurrency) || o.uploadConcurrency < 1 || o.uploadConcurrency > 1024)) {
    throw new ExportError(`uploadConcurrency must be a whole number from 1 to 1024, got ${o.uploadConcurrency}`);
  }
  if (o.maxShardsPerTransaction !== undefined && (!Number.isInteger(o.maxShardsPerTransaction) || o.maxShardsPerTransaction < 1)) {
    throw new ExportError(`maxShardsPerTransaction must be a positive integer, got ${o.maxShardsPerTransaction}`);
  }
  const g = o.gzipLevel;
  if (g !== undefined && g !== 'raw' && !(Number.isInteger(g) && g >= 0 && g <= 9)) throw new ExportError(`gzipLevel must be 0 to 9 or 'raw', got ${g}`);
}

function recordBytes(p: Prepared, i: number): number {
  return p.recordOffsets ? p.recordOffsets[i + 1] - p.recordOffsets[i] : p.recordSize;
}

function recordsOf(p: Prepared): Pick<ValueSpec, 'records' | 'recordSize' | 'recordOffsets'> {
  return { records: p.records, recordSize: p.recordSize, recordOffsets: p.recordOffsets };
}

interface IndexInput {
  key: string;
  phase: Phase;
  detail?: string;
  keys: BigUint64Array;
  /** Uncompressed bytes of all values (drives the shard size choice). */
  totalBytes: number;
  values: ValueSpec;
  /** Key indices in ascending key order, when already known. */
  sortedOrder?: Uint32Array;
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

async function writeIndex(ctx: Context, idx: IndexInput): Promise<{ sharding?: ShardingSpec; summary: IndexSummary }> {
  const startBytes = ctx.storage.bytesWritten;
  const startFiles = ctx.storage.filesWritten;
  const n = idx.keys.length;
  let sharding: ShardingSpec | undefined;
  ctx.progress(idx.phase, 0, n, idx.detail);
  if (n > 0 && ctx.sharded) {
    const params = chooseShardingParams(n, idx.totalBytes, maxU64(idx.keys));
    const level = ctx.gzipLevel === 'raw' ? 0 : ctx.gzipLevel;
    const source = ctx.encoder.addSource(idx.values);
    sharding = makeShardingSpec(params, chooseDataEncoding(ctx.gzipLevel, ctx.dataEncoding, source.local, n), minishardIndexEncoding(ctx.gzipLevel));
    const spec = sharding;
    const plan = planShards(idx.keys, spec, idx.sortedOrder);
    let done = 0;
    // Workers gather and encode shard s while this thread lays out earlier ones; at most
    // `maxShardsInFlight` shards are held in memory at once.
    const jobs = new JobsInFlight(ctx.maxShardsInFlight);
    try {
      for (let s = 0; s < plan.shards.length; s++) {
        throwIfAborted(ctx.signal);
        const members = plan.order.subarray(plan.shardStart[s], plan.shardStart[s + 1]);
        const name = `${idx.key}/${shardFileName(plan.shards[s], spec.shard_bits)}`;
        const count = members.length;
        await jobs.add(
          ctx.encoder.encode(spec, level, source, idx.keys, members, plan.minishard).then(async (bytes) => {
            await ctx.storage.write(name, bytes);
            done += count;
            ctx.progress(idx.phase, done, n, idx.detail);
          }),
        );
      }
      await jobs.finish();
    } catch (e) {
      // Let every shard still in flight finish or fail before the caller removes the folder.
      await jobs.finish().catch(() => undefined);
      throw e;
    } finally {
      ctx.encoder.dropSource(source);
    }
  } else if (n > 0) {
    let done = 0;
    const values = valueSource(idx.values);
    await runLimited(ctx.concurrency, n, async (i) => {
      throwIfAborted(ctx.signal);
      await ctx.storage.write(`${idx.key}/${idx.fileName(i)}`, valueBytes(values, i));
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
  // Entries in ascending annotation id order (no sort: the annotations' id order is known), then a
  // stable radix sort by related id.
  const byAnnotation = p.idOrder ?? argsortU64(p.ids);
  const ann = new Uint32Array(m);
  const entries = new Uint32Array(m);
  let e = 0;
  for (let t = 0; t < p.n; t++) {
    const i = byAnnotation[t];
    for (let j = r.offsets[i]; j < r.offsets[i + 1]; j++) {
      ann[j] = i;
      entries[e++] = j;
    }
  }
  const order = sortByU64(entries, r.ids);
  const rw = words(r.ids);
  const sameKey = (t: number) => t > 0 && rw[2 * order[t]] === rw[2 * order[t - 1]] && rw[2 * order[t] + 1] === rw[2 * order[t - 1] + 1];
  let distinct = 0;
  for (let t = 0; t < m; t++) if (!sameKey(t)) distinct++;
  // Typed arrays filled by words: no BigInt or JS array entry per related id.
  const keys = new BigUint64Array(distinct);
  const kw = words(keys);
  const start = new Uint32Array(distinct + 1);
  const members = new Uint32Array(m);
  let k = 0;
  let count = 0;
  for (let t = 0; t < m; t++) {
    const j = order[t];
    if (!sameKey(t)) {
      kw[2 * k] = rw[2 * j];
      kw[2 * k + 1] = rw[2 * j + 1];
      start[k++] = count;
    } else if (ann[j] === ann[order[t - 1]]) {
      continue; // the same annotation lists this id twice
    }
    members[count++] = ann[j];
  }
  start[distinct] = count;
  return { keys, start, members: members.subarray(0, count), pairs: count };
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
  // Bucket output: every report also says how many bytes are up.
  let uploaded: number | undefined;
  let last: { phase: Phase; done: number; total: number; detail?: string } = { phase: 'reading', done: 0, total: 1 };
  const progress = (phase: Phase, done: number, total: number, detail?: string) => {
    last = { phase, done, total, detail };
    options.onProgress?.(uploaded === undefined ? { phase, done, total, detail } : { phase, done, total, detail, uploadedBytes: uploaded });
  };
  const onUploaded = (bytes: number) => {
    uploaded = bytes;
    options.onProgress?.({ ...last, uploadedBytes: bytes });
  };
  checkOptions(options);
  const type = String(annotationType).toLowerCase() as AnnotationType;
  if (!ANNOTATION_TYPES.includes(type)) {
    throw new ExportError(`Annotation type ${JSON.stringify(annotationType)} is not supported; expected one of ${ANNOTATION_TYPES.join(', ')}`);
  }
  const coords = normalizeCoordSpace(coordSpace);
  const target = options.outputDir ?? 'annotations';
  // Anything URL-like is a bucket URL or an error, never a local path (`s3://b/p` is no folder `s3:`).
  const bucket = isBucketTarget(target);
  const outputDir = bucket ? parseBucketUrl(target).url : path.resolve(target);
  const overwrite = options.overwrite ?? false;
  if (type !== 'polyline' && options.polylinePoints !== undefined && options.polylinePoints !== null) {
    throw new ExportError('polylinePoints may only be given for polyline annotations');
  }
  if (bucket) await (await loadBuckets()).checkBucket(outputDir, overwrite);
  else checkOutputDir(outputDir, overwrite);

  const streamed = await streamInput(table, type, options, warn);
  if (streamed) {
    const output = await openOutput(outputDir, bucket, options, warn, onUploaded);
    const storage = output.storage;
    const maxThreads = options.maxThreads ?? availableParallelism();
    const encoder = new ShardEncoder(maxThreads);
    try {
      const summary = await writeStreamed(
        streamed.path,
        coords,
        type,
        options,
        {
          storage,
          get scratchDir() {
            return output.scratchDir;
          },
          encoder,
          gzipLevel: options.gzipLevel ?? DEFAULT_GZIP_LEVEL,
          dataEncoding: options.dataEncoding ?? 'auto',
          maxShardsInFlight: options.maxShardsPerTransaction ?? maxThreads,
          seed: options.seed ?? randomInt(0, 2 ** 47),
          signal: options.signal,
          progress,
          warn,
        },
        streamed.rows,
      );
      throwIfAborted(options.signal);
      await encoder.close();
      await storage.commit();
      progress('finishing', 1, 1);
      return { ...summary, outputDir, elapsedMs: performance.now() - t0, warnings };
    } catch (e) {
      await encoder.close();
      await storage.abort();
      if (options.signal?.aborted || (e as Error)?.name === 'AbortError') throw new AbortError();
      throw e;
    } finally {
      output.dispose();
    }
  }

  progress('reading', 0, 1);
  const relationshipColumns = typeof options.relationships === 'string' ? [options.relationships] : options.relationships;
  const readingBytes = (done: number, total: number) => progress('reading', done, total);
  let mainTable: Table | null;
  let pointsTable: Table | null = null;
  try {
    // A Parquet file at a URL fetches only the columns this export uses.
    mainTable = await resolveTable(table, 'the annotations table', options.signal, relationshipColumns, readingBytes, options, (s) => columnsUsed(s, type, coords, options));
    if (type === 'polyline') {
      if (options.polylinePoints === undefined || options.polylinePoints === null) {
        // The vertices alone, passed as the first argument.
        pointsTable = mainTable;
        mainTable = null;
      } else {
        pointsTable = await resolveTable(options.polylinePoints, 'the polyline vertices', options.signal, undefined, readingBytes, options);
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
  // Column by column, and our references to the tables dropped, so prepare can let each column's
  // memory go once it is encoded (a TableHandle's or a file's data; a caller's own Table stays).
  const mainColumns = mainTable && new ColumnStore(mainTable);
  const pointColumns = pointsTable && new ColumnStore(pointsTable);
  mainTable = null;
  pointsTable = null;
  const p = prepare(mainColumns, pointColumns, coords, type, options, warn);
  progress('validating', 1, 1);
  throwIfAborted(options.signal);

  const output = await openOutput(outputDir, bucket, options, warn, onUploaded);
  const storage = output.storage;
  const maxThreads = options.maxThreads ?? availableParallelism();
  const sharded = options.writeSharded ?? true;
  const ctx: Context = {
    storage,
    sharded,
    gzipLevel: options.gzipLevel ?? DEFAULT_GZIP_LEVEL,
    dataEncoding: options.dataEncoding ?? 'auto',
    // Worker threads only pay for themselves on larger exports.
    encoder: new ShardEncoder(sharded && p.records.length > 4_000_000 ? maxThreads : 1),
    maxShardsInFlight: options.maxShardsPerTransaction ?? maxThreads,
    concurrency: bucket ? (options.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY) : 32,
    signal: options.signal,
    progress,
  };
  // Without relationship indexes the info lists no relationships, and neuroglancer then reads by_id
  // values as bare records: they must not carry relationship lists either.
  if (!(options.writeByRelationship ?? true)) p.relationships = [];
  if (ctx.encoder.threads > 1) {
    // Once, in shared memory: every index's values are gathered from these by the workers.
    p.records = shared(p.records);
    if (p.recordOffsets) p.recordOffsets = shared(p.recordOffsets);
    p.ids = shared(p.ids);
    for (const r of p.relationships) {
      r.offsets = shared(r.offsets);
      r.ids = shared(r.ids);
    }
  }

  let byIdInfo: { key: string; sharding?: ShardingSpec } = { key: 'by_id' };
  let byId: IndexSummary | null = null;
  const relInfos: Array<{ key: string; sharding?: ShardingSpec; id: string }> = [];
  const relSummaries: IndexSummary[] = [];
  const spatialInfos: Array<{ key: string; sharding?: ShardingSpec; chunk_size: number[]; grid_shape: number[]; limit: number }> = [];
  const spatialSummaries: WriteSummary['spatial'] = [];

  // Each step computes its indexes' inputs on this thread, then writes them; the inputs of the next
  // step are computed while the workers still encode the last shards of the previous one.
  type Written = Awaited<ReturnType<typeof writeIndex>>;
  const steps: Array<() => Array<{ input: IndexInput; done: (res: Written) => void }>> = [];
  if (options.writeById ?? true) {
    steps.push(() => {
      let total = 0;
      for (let i = 0; i < p.n; i++) {
        total += recordBytes(p, i);
        for (const r of p.relationships) total += 4 + 8 * (r.offsets[i + 1] - r.offsets[i]);
      }
      const input: IndexInput = {
        key: 'by_id',
        phase: 'by_id',
        keys: p.ids,
        sortedOrder: p.idOrder,
        totalBytes: total,
        values: { kind: 'byId', ...recordsOf(p), rels: p.relationships.map((r) => ({ offsets: r.offsets, ids: r.ids })) },
        fileName: (i) => p.ids[i].toString(),
        entries: p.n,
      };
      return [{ input, done: (res) => ((byIdInfo = { key: 'by_id', sharding: res.sharding }), (byId = res.summary)) }];
    });
  }
  if (options.writeByRelationship ?? true) {
    for (const r of p.relationships) {
      steps.push(() => {
        const ri = relationshipIndex(p, r);
        let total = 8 * ri.keys.length;
        for (let t = 0; t < ri.members.length; t++) total += recordBytes(p, ri.members[t]) + 8;
        const key = `by_rel_${r.name}`;
        const input: IndexInput = {
          key,
          phase: 'by_relationship',
          detail: r.name,
          keys: ri.keys,
          totalBytes: total,
          values: { kind: 'multi', ...recordsOf(p), ids: p.ids, start: ri.start, members: ri.members },
          fileName: (k) => ri.keys[k].toString(),
          entries: ri.pairs,
        };
        return [{ input, done: (res) => (relInfos.push({ key, sharding: res.sharding, id: r.name }), relSummaries.push(res.summary)) }];
      });
    }
  }
  if (options.writeBySpatialChunk ?? true) {
    steps.push(() => {
      const levels: SpatialLevelEntries[] = buildSpatialIndex(p, {
        numSpatialLevels: options.numSpatialLevels ?? 7,
        targetChunkLimit: options.targetChunkLimit ?? 10_000,
        shuffle: options.shuffleBeforeAssigningSpatialLevels ?? true,
        seed: options.seed ?? randomInt(0, 2 ** 47),
        scales: coords.scales,
        signal: options.signal,
        onProgress: (done, total) => progress('spatial_assign', done, total),
      });
      return levels.map((lv) => {
        const key = `by_spatial_level_${lv.level}`;
        let total = 8 * lv.codes.length;
        for (let t = 0; t < lv.annotations.length; t++) total += recordBytes(p, lv.annotations[t]) + 8;
        const input: IndexInput = {
          key,
          phase: 'spatial',
          detail: `level ${lv.level}`,
          keys: BigUint64Array.from(lv.codes, (c) => BigInt(c)),
          totalBytes: total,
          values: { kind: 'multi', ...recordsOf(p), ids: p.ids, start: lv.chunkStart, members: lv.annotations },
          fileName: (k) => mortonDecode(lv.gridShape, lv.codes[k]).join('_'),
          entries: lv.annotations.length,
        };
        const done = (res: Written) => {
          spatialInfos.push({ key, sharding: res.sharding, chunk_size: lv.chunkSize, grid_shape: lv.gridShape, limit: lv.maxCount });
          spatialSummaries.push({ ...res.summary, level: lv.level, gridShape: lv.gridShape, limit: lv.maxCount });
        };
        return { input, done };
      });
    });
  }

  let writing: Promise<void> | null = null;
  try {
    for (const step of steps) {
      throwIfAborted(options.signal);
      const indexes = step();
      for (const { input, done } of indexes) {
        if (writing) await writing;
        throwIfAborted(options.signal);
        writing = writeIndex(ctx, input).then(done);
        // Observed now, awaited later: it may fail while the next step's inputs are computed.
        writing.catch(() => undefined);
      }
    }
    if (writing) await writing;

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
      geometry: p.geometry,
      ids: p.idSource,
      mode: 'memory',
    };
  } catch (e) {
    if (writing) await writing.catch(() => undefined);
    await ctx.encoder.close();
    await storage.abort();
    if (options.signal?.aborted && !(e instanceof AbortError)) throw new AbortError();
    throw e;
  } finally {
    output.dispose();
  }
}
