// A small pool of worker threads that gather and gzip chunk values, plan the relationship and
// spatial indexes while the main thread plans by_id, and work through the temporary files of exports
// larger than memory. Output does not depend on the number of threads: every chunk is encoded, every
// plan made and every shard laid out the same way wherever it runs.
import { Worker } from 'node:worker_threads';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collectShard, encodeChunks, layoutShardParts, shardKeys, type EncodedChunks, type ShardingSpec, type ValueSource } from './sharding';
import { SharedArena, sharedSpec, valueSource, type ValueSpec } from './values';
import type { SpatialInput, SpatialLevelEntries } from './spatial';
import type { RelationshipIndex, RelationshipIndexInput } from './relationshipIndex';
import { buildShardFile, countPartFile, encodeShardFile, regroupPartFile, type BuiltShard, type EncodedShardFile, type PartCounts, type RegroupedPart, type ShardFileTask } from './spillShards';
import type { SpillFile } from './spill';
import { AbortError, ExportError } from './errors';
import type { Job, SpatialJobOptions, WorkerMessage, WorkerReply } from './shardWorker';

/** The bundled worker script: beside this bundle (dist/), or dist/ when running from src/ (tests). */
function workerScript(): string | null {
  for (const p of [path.join(__dirname, 'shardWorker.js'), path.join(__dirname, '..', '..', 'dist', 'shardWorker.js')]) {
    if (fs.existsSync(p)) return p;
  }
  return null;
}

/** Slices smaller than this are not worth a trip to a worker. */
const MIN_SLICE_BYTES = 1 << 20;

/** The values of one index, known to this thread and (in shared memory) to every worker. */
export interface SourceHandle {
  id: number;
  local: ValueSource;
  /** Where its copies live; free again once the source is dropped. */
  arena?: SharedArena;
}

/** A job's caller, until its reply. */
interface Waiting {
  resolve: (r: WorkerReply) => void;
  reject: (e: Error) => void;
  onProgress?: (done: number, total: number) => void;
  onDecided?: (encoding: 'gzip' | 'raw') => void;
}

export class ShardEncoder {
  private workers: Worker[] = [];
  private idle: Worker[] = [];
  private queue: Array<Waiting & { job: Job; transfer: ArrayBuffer[] }> = [];
  private pending = new Map<number, Waiting>();
  private nextId = 0;
  private nextSource = 0;
  private failure: Error | null = null;
  private closing = false;
  /** Arenas of dropped sources, for the next ones (at most one per source in flight). */
  private arenas: SharedArena[] = [];
  readonly threads: number;

  constructor(threads: number) {
    const script = threads > 1 ? workerScript() : null;
    this.threads = script ? threads : 1;
    if (!script) return;
    for (let i = 0; i < threads; i++) {
      const w = new Worker(script);
      w.on('message', (r: WorkerReply) => this.onReply(w, r));
      w.on('error', (e) => this.failAll(e));
      // A worker that stops without an error (killed, exited) must not leave its jobs waiting forever.
      w.on('exit', (code) => {
        if (!this.closing) this.failAll(new Error(`a shard encoder thread stopped unexpectedly (exit code ${code})`));
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  /** Makes an index's values readable by the workers: its arrays are moved to shared memory once. */
  addSource(spec: ValueSpec): SourceHandle {
    const id = this.nextSource++;
    if (this.workers.length === 0) return { id, local: valueSource(spec) };
    const arena = this.arenas.pop() ?? new SharedArena();
    const s = sharedSpec(spec, arena);
    for (const w of this.workers) w.postMessage({ type: 'source', sourceId: id, spec: s } satisfies WorkerMessage);
    return { id, local: valueSource(s), arena };
  }

  /** Forgets a source once every shard of it has been encoded (its arena then takes the next source's copies). */
  dropSource(h: SourceHandle): void {
    for (const w of this.workers) w.postMessage({ type: 'drop', sourceId: h.id } satisfies WorkerMessage);
    if (h.arena) this.arenas.push(h.arena);
    h.arena = undefined;
  }

  /**
   * One shard file. `indices` are the shard's key indices in plan order. Gathering and encoding are
   * split in slices (at chunk boundaries, about equal in bytes; up to four per worker, so that a worker
   * still busy with a plan does not hold the shard back) across the workers; the layout and the
   * minishard indexes are made here. The bytes do not depend on how the work was split.
   */
  async encode(
    spec: ShardingSpec,
    gzipLevel: number,
    source: SourceHandle,
    keys: BigUint64Array,
    indices: Uint32Array,
    minishardOf: Uint32Array,
  ): Promise<Uint8Array[]> {
    if (this.workers.length === 0) {
      const chunks = collectShard(keys, indices, minishardOf, source.local);
      return layoutShardParts(spec, gzipLevel, chunks, encodeChunks(spec.data_encoding, gzipLevel, chunks.data, chunks.sizes));
    }
    const m = indices.length;
    // Sizes are cheap (O(1) per value but for polylines) and only steer the split.
    const ends = new Float64Array(m);
    let total = 0;
    for (let t = 0; t < m; t++) ends[t] = total += source.local.size(indices[t]);
    const slices = Math.max(1, Math.min(4 * this.threads, Math.floor(total / MIN_SLICE_BYTES)));
    const jobs: Array<Promise<EncodedChunks>> = [];
    let t = 0;
    for (let k = 0; k < slices && t < m; k++) {
      const t0 = t;
      const target = ((k + 1) * total) / slices;
      while (t < m && (ends[t] <= target || k === slices - 1)) t++;
      if (t === t0) t++;
      const slice = indices.slice(t0, t);
      const job = this.run({ type: 'encode', id: this.nextId++, sourceId: source.id, encoding: spec.data_encoding, gzipLevel, indices: slice }, [slice.buffer]);
      jobs.push(job.then((r) => r as EncodedChunks));
    }
    const chunkKeys = shardKeys(keys, indices, minishardOf);
    // The slices' values are laid out where they are: no copy into one buffer.
    return layoutShardParts(spec, gzipLevel, chunkKeys, await Promise.all(jobs));
  }

  /**
   * The spatial levels (spatial.ts), planned on a worker; `input`'s arrays should be in shared memory
   * (others are copied to the worker). `signal` stops the wait: the caller then closes the pool, which
   * stops the worker.
   */
  async spatialIndex(input: SpatialInput, options: SpatialJobOptions, signal?: AbortSignal, onProgress?: (done: number, total: number) => void): Promise<SpatialLevelEntries[]> {
    const r = await this.run({ type: 'spatial', id: this.nextId++, input, options }, [], signal, onProgress);
    return (r as { levels: SpatialLevelEntries[] }).levels;
  }

  /** A relationship's index (relationshipIndex.ts), planned on a worker (see spatialIndex). */
  async relationshipIndex(input: RelationshipIndexInput, signal?: AbortSignal): Promise<RelationshipIndex> {
    const r = await this.run({ type: 'relationship', id: this.nextId++, input }, [], signal);
    return (r as { relationship: RelationshipIndex }).relationship;
  }

  /** A temporary part's counts (spillShards.ts), on a worker when there are any. */
  async countPart(file: SpillFile, entryBytes: number, spatial: boolean, signal?: AbortSignal): Promise<PartCounts> {
    if (this.workers.length === 0) return countPartFile(file, entryBytes, spatial);
    const r = await this.run({ type: 'countPart', id: this.nextId++, file, entryBytes, spatial }, [], signal);
    return (r as { counts: PartCounts }).counts;
  }

  /** A temporary part's entries grouped by shard (spillShards.ts), on a worker when there are any. */
  async regroupPart(file: SpillFile, entryBytes: number, spec: ShardingSpec, signal?: AbortSignal): Promise<RegroupedPart> {
    if (this.workers.length === 0) return regroupPartFile(file, entryBytes, spec);
    const r = await this.run({ type: 'regroupPart', id: this.nextId++, file, entryBytes, spec }, [], signal);
    return (r as { regrouped: RegroupedPart }).regrouped;
  }

  /**
   * A shard from its temporary file to its bytes (spillShards.ts), whole on one worker when there
   * are any: the shards of exports larger than memory are many, so they keep the workers busy side by side.
   */
  async shardFile(task: ShardFileTask, signal?: AbortSignal, onDecided?: Waiting['onDecided']): Promise<EncodedShardFile> {
    if (this.workers.length === 0) return encodeShardFile(task, onDecided);
    const r = await this.run({ type: 'shardFile', id: this.nextId++, task }, [], signal, undefined, onDecided);
    return (r as { shardFile: EncodedShardFile }).shardFile;
  }

  /** A shard built from its temporary file on a worker, its arrays moved here (to be encoded in slices across the workers). */
  async buildShard(task: ShardFileTask, signal?: AbortSignal): Promise<BuiltShard | number> {
    if (this.workers.length === 0) return buildShardFile(task);
    const r = await this.run({ type: 'buildShard', id: this.nextId++, task }, [], signal);
    return (r as { built: BuiltShard | number }).built;
  }

  private run(job: Job, transfer: ArrayBuffer[], signal?: AbortSignal, onProgress?: Waiting['onProgress'], onDecided?: Waiting['onDecided']): Promise<WorkerReply> {
    if (this.workers.length === 0) return Promise.reject(new Error('internal: a job for worker threads, but the pool has none'));
    if (this.failure) return Promise.reject(this.failure);
    if (signal?.aborted) return Promise.reject(new AbortError());
    return new Promise((resolve, reject) => {
      // Jobs are not cancelled one by one: an aborted export closes the pool.
      const onAbort = () => reject(new AbortError());
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = <T>(f: (x: T) => void) => (x: T) => {
        signal?.removeEventListener('abort', onAbort);
        f(x);
      };
      this.queue.push({ job, transfer, resolve: done(resolve), reject: done(reject), onProgress, onDecided });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.pop()!;
      const { job, transfer, ...waiting } = this.queue.shift()!;
      this.pending.set(job.id, waiting);
      w.postMessage(job satisfies WorkerMessage, transfer);
    }
  }

  private onReply(w: Worker, r: WorkerReply): void {
    const p = this.pending.get(r.id);
    if ('progress' in r) {
      p?.onProgress?.(r.progress, r.total);
      return;
    }
    if ('decided' in r) {
      p?.onDecided?.(r.decided);
      return;
    }
    this.pending.delete(r.id);
    this.idle.push(w);
    if (p) {
      if ('error' in r) p.reject(r.userError ? new ExportError(r.error, r.userError) : new Error(r.error));
      else p.resolve(r);
    }
    this.pump();
  }

  private failAll(e: Error): void {
    this.failure = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    for (const q of this.queue) q.reject(e);
    this.queue = [];
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
    this.idle = [];
  }
}
