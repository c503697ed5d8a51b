// The in-memory writer: validate every row of Arrow tables, then write by_id, by_rel_*, the spatial
// levels and finally `info` into a Storage that becomes visible only when complete. Also the way into
// the streamed writer (stream.ts) for record batches. The core reads no files and picks no storage:
// export/run.ts turns a path or URL into tables or batches and opens the output.
import type { Table } from 'apache-arrow';
import {
  ANNOTATION_TYPES,
  type AnnotationType,
  type CoordSpace,
  type CoordSpaceInput,
  type IndexSummary,
  type Phase,
  type WriteOptions,
  type WriteSummary,
} from './types';
import { AbortError, ExportError, throwIfAborted } from './errors';
import { normalizeCoordSpace } from './coords';
import { prepare, type EarlyInputs, type Prepared } from './prepare';
import { ColumnStore } from './columns';
import { buildSpatialIndex, type SpatialInput, type SpatialLevelEntries } from './spatial';
import { relationshipIndex, type RelationshipIndex, type RelationshipIndexInput } from './relationshipIndex';
import { mortonDecode } from './morton';
import { chooseDataEncoding, chooseShardingParams, makeShardingSpec, minishardIndexEncoding, planShards, valueBytes, type ShardingSpec } from './sharding';
import { shared, valueSource, type ValueSpec } from './values';
import { ShardEncoder } from './pool';
import { runLimited, type Storage } from './storage';
import { maxU64 } from './radix';
import { writeStreamed, type BatchSource } from './stream';
import { ShardWriter, commitDataset, indexSummary, writeInfo, type ShardContext } from './indexWriter';
import { resolveOptions, type ResolvedOptions } from './options';

/** Where an export writes, opened by the caller (export/run.ts) once the input has been checked. */
export interface Output {
  storage: Storage;
  /** A local folder for temporary files (for a bucket, made in os.tmpdir() on first use). */
  readonly scratchDir: string;
  /** Files written at once by an unsharded export (uploads to a bucket, or local files). */
  concurrency: number;
}

/** One export as the caller sees it: where it goes, when it started, how it reports. */
export interface Run {
  outputDir: string;
  /** performance.now() at the start, for elapsedMs. */
  t0: number;
  /** Every warning so far (the summary's `warnings`); `warn` adds one. */
  warnings: string[];
  warn: (m: string) => void;
  progress: (phase: Phase, done: number, total: number, detail?: string) => void;
}

/** The tables of an in-memory export; writeTables lets go of them once they are columns. */
export interface Tables {
  main: Table | null;
  points: Table | null;
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

interface Context extends ShardContext {
  sharded: boolean;
  dataEncoding: 'auto' | 'gzip' | 'raw';
  concurrency: number;
  signal?: AbortSignal;
}

async function writeIndex(ctx: Context, idx: IndexInput): Promise<{ sharding?: ShardingSpec; summary: IndexSummary }> {
  let written = { bytes: 0, files: 0 };
  const n = idx.keys.length;
  let sharding: ShardingSpec | undefined;
  ctx.progress(idx.phase, 0, n, idx.detail);
  if (n > 0 && ctx.sharded) {
    const params = chooseShardingParams(n, idx.totalBytes, maxU64(idx.keys));
    const source = ctx.encoder.addSource(idx.values);
    sharding = makeShardingSpec(params, chooseDataEncoding(ctx.gzipLevel, ctx.dataEncoding, source.local, n), minishardIndexEncoding(ctx.gzipLevel));
    const spec = sharding;
    const plan = planShards(idx.keys, spec, idx.sortedOrder);
    // Workers gather and encode shard s while this thread lays out earlier ones.
    const writer = new ShardWriter(ctx, idx.key, idx.phase, n, idx.detail);
    try {
      for (let s = 0; s < plan.shards.length; s++) {
        throwIfAborted(ctx.signal);
        await writer.add(spec, plan.shards[s], source, idx.keys, plan.order.subarray(plan.shardStart[s], plan.shardStart[s + 1]), plan.minishard);
      }
      await writer.finish();
      written = writer.written;
    } catch (e) {
      // Let every shard still in flight finish or fail before the caller removes the folder.
      await writer.finish().catch(() => undefined);
      throw e;
    } finally {
      ctx.encoder.dropSource(source);
    }
  } else if (n > 0) {
    let done = 0;
    const values = valueSource(idx.values);
    await runLimited(ctx.concurrency, n, async (i) => {
      throwIfAborted(ctx.signal);
      const bytes = valueBytes(values, i);
      await ctx.storage.write(`${idx.key}/${idx.fileName(i)}`, bytes);
      written.bytes += bytes.length;
      written.files++;
      if (++done % 4096 === 0) ctx.progress(idx.phase, done, n, idx.detail);
    });
  }
  ctx.progress(idx.phase, n, n, idx.detail);
  return { sharding, summary: indexSummary(written, { key: idx.key, keys: n, entries: idx.entries, rawBytes: idx.totalBytes, sharding }) };
}

/** Peak bytes per row of an export in memory, as measured (10.35 GB for 1e8 points with two properties and a relationship), rounded up. */
export const MEMORY_PER_ROW = 110;

/**
 * Bytes per row the relationship and spatial plans made on the workers beside by_id's, and two indexes
 * written at a time, add (1e7 points: 1.81 GB peak against 1.08 GB one after the other), rounded up.
 */
const PLAN_AHEAD_BYTES_PER_ROW = 80;

type ProgressSlot = { progress: Run['progress']; finish: () => void };

/**
 * Progress of steps that overlap, reported in the order their slots were made: a slot's events wait
 * (its latest kept) until every earlier slot has finished, so phases are reported in order.
 */
class OrderedProgress {
  private readonly slots: Array<{ finished: boolean; last?: Parameters<Run['progress']> }> = [];
  private current = 0;
  constructor(private readonly out: Run['progress']) {}

  slot(): ProgressSlot {
    const k = this.slots.length;
    const s: (typeof this.slots)[number] = { finished: false };
    this.slots.push(s);
    return {
      progress: (...event) => {
        if (k === this.current) this.out(...event);
        else s.last = event;
      },
      finish: () => {
        s.finished = true;
        while (this.current < this.slots.length && this.slots[this.current].finished) {
          const next = this.slots[++this.current];
          if (next?.last) this.out(...next.last);
        }
      },
    };
  }
}

/** Once, in shared memory: every index's values are gathered from these by the workers. */
function shareWithWorkers(p: Prepared, planning: boolean): void {
  p.records = shared(p.records);
  if (p.recordOffsets) p.recordOffsets = shared(p.recordOffsets);
  shareLists(p, planning);
}

/**
 * The ids and relationship lists in shared memory (already shared arrays stay as they are). Only the
 * relationship plans read the id order (`withOrder`): when they are planned ahead it is shared at
 * once; otherwise each plan's job carries a copy when its step comes, rather than 400 MB more (at 1e8
 * annotations) while the input's columns are not yet freed.
 */
function shareLists(x: Pick<Prepared, 'ids' | 'idOrder' | 'relationships'>, withOrder: boolean): void {
  x.ids = shared(x.ids);
  if (withOrder && x.idOrder) x.idOrder = shared(x.idOrder);
  for (const r of x.relationships) {
    r.offsets = shared(r.offsets);
    r.ids = shared(r.ids);
  }
}

/** by_id: each annotation's record and relationship lists, by its id. */
function byIdInput(p: Prepared): IndexInput {
  let total = 0;
  for (let i = 0; i < p.n; i++) {
    total += recordBytes(p, i);
    for (const r of p.relationships) total += 4 + 8 * (r.offsets[i + 1] - r.offsets[i]);
  }
  return {
    key: 'by_id',
    phase: 'by_id',
    keys: p.ids,
    sortedOrder: p.idOrder,
    totalBytes: total,
    values: { kind: 'byId', ...recordsOf(p), rels: p.relationships.map((r) => ({ offsets: r.offsets, ids: r.ids })) },
    fileName: (i) => p.ids[i].toString(),
    entries: p.n,
  };
}

/** What a relationship's index is planned from (see relationshipIndex.ts). */
function relationshipInput(p: Pick<Prepared, 'n' | 'ids' | 'idOrder'>, r: Prepared['relationships'][number]): RelationshipIndexInput {
  return { n: p.n, ids: p.ids, idOrder: p.idOrder, offsets: r.offsets, related: r.ids };
}

/** by_rel_<name>: per related id, the (id, record) of each annotation that lists it. */
function byRelationshipInput(p: Prepared, r: Prepared['relationships'][number], ri: RelationshipIndex): IndexInput {
  let total = 8 * ri.keys.length;
  for (let t = 0; t < ri.members.length; t++) total += recordBytes(p, ri.members[t]) + 8;
  return {
    key: `by_rel_${r.name}`,
    phase: 'by_relationship',
    detail: r.name,
    keys: ri.keys,
    totalBytes: total,
    values: { kind: 'multi', ...recordsOf(p), ids: p.ids, start: ri.start, members: ri.members },
    fileName: (k) => ri.keys[k].toString(),
    entries: ri.pairs,
  };
}

/** by_spatial_level_<n>: per non-empty cell (by its Morton code), the (id, record) of its annotations. */
function spatialInput(p: Prepared, lv: SpatialLevelEntries): IndexInput {
  let total = 8 * lv.codes.length;
  for (let t = 0; t < lv.annotations.length; t++) total += recordBytes(p, lv.annotations[t]) + 8;
  return {
    key: `by_spatial_level_${lv.level}`,
    phase: 'spatial',
    detail: `level ${lv.level}`,
    keys: BigUint64Array.from(lv.codes, (c) => BigInt(c)),
    totalBytes: total,
    values: { kind: 'multi', ...recordsOf(p), ids: p.ids, start: lv.chunkStart, members: lv.annotations },
    fileName: (k) => mortonDecode(lv.gridShape, lv.codes[k]).join('_'),
    entries: lv.annotations.length,
  };
}

/** Checks the options (and fills in their defaults), the annotation type and the coordinate space, before anything is read. */
export function checkRequest(
  coordSpace: CoordSpaceInput,
  annotationType: AnnotationType | string,
  given: WriteOptions,
): { type: AnnotationType; coords: CoordSpace; options: ResolvedOptions } {
  const options = resolveOptions(given);
  const type = String(annotationType).toLowerCase() as AnnotationType;
  if (!ANNOTATION_TYPES.includes(type)) {
    throw new ExportError(`Annotation type ${JSON.stringify(annotationType)} is not supported; expected one of ${ANNOTATION_TYPES.join(', ')}`);
  }
  return { type, coords: normalizeCoordSpace(coordSpace), options };
}

/**
 * Exports record batches through temporary files (stream.ts): `batches` is called once per pass.
 * Commits `output.storage` on success, aborts it on failure; the caller disposes of the output.
 */
export async function writeBatches(
  batches: BatchSource,
  rows: number | null,
  coords: CoordSpace,
  type: AnnotationType,
  options: ResolvedOptions,
  run: Run,
  output: Output,
): Promise<WriteSummary> {
  const { progress, warn } = run;
  const storage = output.storage;
  const encoder = new ShardEncoder(options.maxThreads);
  try {
    const summary = await writeStreamed(
      batches,
      coords,
      type,
      options,
      {
        storage,
        get scratchDir() {
          return output.scratchDir;
        },
        encoder,
        gzipLevel: options.gzipLevel,
        dataEncoding: options.dataEncoding,
        maxShardsInFlight: options.maxShardsPerTransaction,
        seed: options.seed,
        signal: options.signal,
        progress,
        warn,
      },
      rows,
    );
    await commitDataset(storage, encoder, options.signal, progress);
    return { ...summary, outputDir: run.outputDir, elapsedMs: performance.now() - run.t0, warnings: run.warnings };
  } catch (e) {
    await encoder.close();
    await storage.abort();
    if (options.signal?.aborted || (e as Error)?.name === 'AbortError') throw new AbortError();
    throw e;
  }
}

/**
 * Exports Arrow tables in memory. `open` opens the output once every row has been checked; on success
 * the storage is committed, on failure aborted (the caller disposes of the output).
 */
export async function writeTables(tables: Tables, coords: CoordSpace, type: AnnotationType, options: ResolvedOptions, run: Run, open: () => Promise<Output>): Promise<WriteSummary> {
  const { progress, warn } = run;
  progress('validating', 0, 1);
  // Column by column, and our references to the tables dropped, so prepare can let each column's
  // memory go once it is encoded (a TableHandle's or a file's data; a caller's own Table stays).
  const mainColumns = tables.main && new ColumnStore(tables.main);
  const pointColumns = tables.points && new ColumnStore(tables.points);
  tables.main = null;
  tables.points = null;
  // Worker threads only pay for themselves on larger exports. With workers, and memory for it
  // (`ahead`), the relationship and spatial indexes are planned on them from the start, while this
  // thread plans and lays out by_id; the relationship plans start even before the records are made.
  const threads = (recordBytes: number) => new ShardEncoder(options.writeSharded && recordBytes > 4_000_000 ? options.maxThreads : 1);
  const planAhead = (encoder: ShardEncoder, n: number) => encoder.threads > 1 && n * (MEMORY_PER_ROW + PLAN_AHEAD_BYTES_PER_ROW) <= options.memoryLimit;
  const pool: { encoder: ShardEncoder | null; ahead: boolean } = { encoder: null, ahead: false };
  const relationshipPlans = new Map<string, Promise<RelationshipIndex>>();
  const startEarly = (early: EarlyInputs) => {
    const encoder = (pool.encoder = threads(early.n * early.recordSize));
    pool.ahead = planAhead(encoder, early.n);
    if (!pool.ahead || !options.writeByRelationship) return;
    shareLists(early, true);
    for (const r of early.relationships) {
      const plan = encoder.relationshipIndex(relationshipInput(early, r), options.signal);
      // Failures surface when a step awaits its plan; until then they must not count as unhandled.
      plan.catch(() => undefined);
      relationshipPlans.set(r.name, plan);
    }
  };
  let p: Prepared;
  let output: Output;
  try {
    p = prepare(mainColumns, pointColumns, coords, type, options, warn, startEarly);
    progress('validating', 1, 1);
    throwIfAborted(options.signal);
    output = await open();
  } catch (e) {
    await pool.encoder?.close();
    throw e;
  }
  if (!pool.encoder) {
    // Polylines: the pool starts once their records are made.
    pool.encoder = threads(p.records.length);
    pool.ahead = planAhead(pool.encoder, p.n);
  }
  const ahead = pool.ahead;

  const storage = output.storage;
  const sharded = options.writeSharded;
  const ctx: Context = {
    storage,
    sharded,
    gzipLevel: options.gzipLevel,
    dataEncoding: options.dataEncoding,
    encoder: pool.encoder,
    maxShardsInFlight: options.maxShardsPerTransaction,
    concurrency: output.concurrency,
    signal: options.signal,
    progress,
  };
  // Indexes being written. With memory for it (`ahead`), two: the next one's shards are encoded while
  // this thread lays out and writes the last shards of the one before (an index of up to a few million
  // entries is a single shard, and the workers would otherwise wait for it). Their results go to fixed
  // places, so `info` keeps its order, and their progress is reported in order.
  const writing: Array<Promise<void>> = [];
  try {
    // Without relationship indexes the info lists no relationships, and neuroglancer then reads by_id
    // values as bare records: they must not carry relationship lists either.
    if (!options.writeByRelationship) p.relationships = [];

    let byIdInfo: { key: string; sharding?: ShardingSpec } = { key: 'by_id' };
    let byId: IndexSummary | null = null;
    const relInfos: Array<{ key: string; sharding?: ShardingSpec; id: string }> = [];
    const relSummaries: IndexSummary[] = [];
    const spatialInfos: Array<{ key: string; sharding?: ShardingSpec; chunk_size: number[]; grid_shape: number[]; limit: number }> = [];
    const spatialSummaries: WriteSummary['spatial'] = [];

    // Each step plans its indexes, then writes them; the next step's plan is made while the workers
    // still encode the last shards of the previous one (or, `ahead`, was started earlier).
    const onWorkers = ctx.encoder.threads > 1;
    if (onWorkers) shareWithWorkers(p, ahead);
    const report = new OrderedProgress(progress);
    // With workers, the plans are made there even in turn: this thread meanwhile lays out and writes the
    // last shards of the index before (at 1e8 points, 233 s against 282 s with the plans made here).
    const relationshipPlan = async (r: Prepared['relationships'][number]) =>
      onWorkers ? ctx.encoder.relationshipIndex(relationshipInput(p, r), options.signal) : relationshipIndex(relationshipInput(p, r));
    // The spatial assignment reports through its own slot, made when its step is reached.
    let assign: ProgressSlot | null = null;
    let assigned = 0;
    const spatialPlan = async () => {
      const input: SpatialInput = { type: p.type, rank: p.rank, n: p.n, records: p.records, recordSize: p.recordSize, recordOffsets: p.recordOffsets, lower: p.lower, upper: p.upper };
      const spatialOptions = {
        numSpatialLevels: options.numSpatialLevels,
        targetChunkLimit: options.targetChunkLimit,
        shuffle: options.shuffleBeforeAssigningSpatialLevels,
        seed: options.seed,
        scales: coords.scales,
      };
      const onProgress = (done: number, total: number) => {
        assigned = done;
        assign?.progress('spatial_assign', done, total);
      };
      return onWorkers ? ctx.encoder.spatialIndex(input, spatialOptions, options.signal, onProgress) : buildSpatialIndex(input, { ...spatialOptions, signal: options.signal, onProgress });
    };
    let spatialLevels: Promise<SpatialLevelEntries[]> | null = null;
    if (ahead && options.writeByRelationship) for (const r of p.relationships) if (!relationshipPlans.has(r.name)) relationshipPlans.set(r.name, relationshipPlan(r));
    if (ahead && options.writeBySpatialChunk) spatialLevels = spatialPlan();
    for (const plan of [...relationshipPlans.values(), spatialLevels]) plan?.catch(() => undefined);

    type Written = Awaited<ReturnType<typeof writeIndex>>;
    const steps: Array<() => Promise<Array<{ input: IndexInput; done: (res: Written) => void }>>> = [];
    if (options.writeById) {
      steps.push(async () => [{ input: byIdInput(p), done: (res) => ((byIdInfo = { key: 'by_id', sharding: res.sharding }), (byId = res.summary)) }]);
    }
    if (options.writeByRelationship) {
      for (const [k, r] of p.relationships.entries()) {
        steps.push(async () => {
          const input = byRelationshipInput(p, r, await (relationshipPlans.get(r.name) ?? relationshipPlan(r)));
          relationshipPlans.delete(r.name);
          return [{ input, done: (res) => ((relInfos[k] = { key: input.key, sharding: res.sharding, id: r.name }), (relSummaries[k] = res.summary)) }];
        });
      }
    }
    if (options.writeBySpatialChunk) {
      steps.push(async () => {
        assign = report.slot();
        assign.progress('spatial_assign', assigned, p.n);
        const levels = await (spatialLevels ?? spatialPlan());
        spatialLevels = null;
        assign.finish();
        return levels.map((lv, k) => {
          const input = spatialInput(p, lv);
          const done = (res: Written) => {
            spatialInfos[k] = { key: input.key, sharding: res.sharding, chunk_size: lv.chunkSize, grid_shape: lv.gridShape, limit: lv.maxCount };
            spatialSummaries[k] = { ...res.summary, level: lv.level, gridShape: lv.gridShape, limit: lv.maxCount };
          };
          return { input, done };
        });
      });
    }

    for (const step of steps) {
      throwIfAborted(options.signal);
      const indexes = await step();
      for (const { input, done } of indexes) {
        if (writing.length >= (ahead ? 2 : 1)) await writing.shift();
        throwIfAborted(options.signal);
        const slot = report.slot();
        const w = writeIndex({ ...ctx, progress: slot.progress }, input).then((res) => {
          done(res);
          slot.finish();
        });
        // Observed now, awaited later: it may fail while the next step's inputs are computed.
        w.catch(() => undefined);
        writing.push(w);
      }
    }
    for (const w of writing.splice(0)) await w;

    await writeInfo(storage, options.signal, progress, {
      coords,
      lower: p.lower,
      upper: p.upper,
      type,
      properties: p.propertySpecs,
      byId: byIdInfo,
      relationships: relInfos,
      spatial: spatialInfos,
      description: options.description,
    });
    await commitDataset(storage, ctx.encoder, options.signal, progress);
    return {
      outputDir: run.outputDir,
      annotationType: type,
      rank: p.rank,
      annotations: p.n,
      byId,
      relationships: relSummaries,
      spatial: spatialSummaries,
      bytesWritten: storage.bytesWritten,
      filesWritten: storage.filesWritten,
      elapsedMs: performance.now() - run.t0,
      warnings: run.warnings,
      geometry: p.geometry,
      ids: p.idSource,
      mode: 'memory',
    };
  } catch (e) {
    await Promise.allSettled(writing);
    await ctx.encoder.close();
    await storage.abort();
    if (options.signal?.aborted && !(e instanceof AbortError)) throw new AbortError();
    throw e;
  }
}
