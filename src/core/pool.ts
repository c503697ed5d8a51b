// A small pool of worker threads that gzip chunk values. Output does not depend on the number of
// threads: every chunk is encoded the same way wherever it runs, and shards are laid out here.
import { Worker } from 'node:worker_threads';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assembleShard, layoutShard, type EncodedChunks, type ShardChunks, type ShardingSpec } from './sharding';
import type { EncodeJob, EncodeJobResult } from './shardWorker';

/** The bundled worker script: beside this bundle (dist/), or dist/ when running from src/ (tests). */
function workerScript(): string | null {
  for (const p of [path.join(__dirname, 'shardWorker.js'), path.join(__dirname, '..', '..', 'dist', 'shardWorker.js')]) {
    if (fs.existsSync(p)) return p;
  }
  return null;
}

/** Slices smaller than this are not worth a trip to a worker. */
const MIN_SLICE_BYTES = 1 << 20;

export class ShardEncoder {
  private workers: Worker[] = [];
  private idle: Worker[] = [];
  private queue: Array<{ job: EncodeJob; resolve: (r: EncodedChunks) => void; reject: (e: Error) => void }> = [];
  private pending = new Map<number, { resolve: (r: EncodedChunks) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  readonly threads: number;

  constructor(threads: number) {
    const script = threads > 1 ? workerScript() : null;
    this.threads = script ? threads : 1;
    if (!script) return;
    for (let i = 0; i < threads; i++) {
      const w = new Worker(script);
      w.on('message', (r: EncodeJobResult) => this.onResult(w, r));
      w.on('error', (e) => this.failAll(e));
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  /**
   * One shard file. Its chunk values are encoded in slices (split at chunk boundaries, about equal in
   * bytes) across the workers; the layout and the minishard indexes are made here. The bytes do not
   * depend on how the work was split.
   */
  async encode(spec: ShardingSpec, gzipLevel: number, chunks: ShardChunks): Promise<Uint8Array> {
    if (this.workers.length === 0 || spec.data_encoding === 'raw') return assembleShard(spec, gzipLevel, chunks);
    const { data, sizes } = chunks;
    const slices = Math.max(1, Math.min(this.threads, Math.floor(data.length / MIN_SLICE_BYTES)));
    const jobs: Array<Promise<EncodedChunks>> = [];
    let t = 0;
    let at = 0;
    for (let k = 0; k < slices; k++) {
      const targetEnd = k === slices - 1 ? data.length : Math.round(((k + 1) * data.length) / slices);
      const t0 = t;
      const at0 = at;
      while (t < sizes.length && (at < targetEnd || k === slices - 1)) at += sizes[t++];
      if (t === t0) continue;
      // Copies, so the slices can be transferred.
      jobs.push(this.run({ id: this.nextId++, encoding: spec.data_encoding, gzipLevel, data: data.slice(at0, at), sizes: sizes.slice(t0, t) }));
    }
    const results = await Promise.all(jobs);
    const encoded: EncodedChunks =
      results.length === 1
        ? results[0]
        : {
            data: concat(results.map((r) => r.data), (n) => new Uint8Array(n)),
            sizes: concat(results.map((r) => r.sizes), (n) => new Uint32Array(n)),
          };
    return layoutShard(spec, gzipLevel, chunks, encoded);
  }

  private run(job: EncodeJob): Promise<EncodedChunks> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.pop()!;
      const { job, resolve, reject } = this.queue.shift()!;
      this.pending.set(job.id, { resolve, reject });
      w.postMessage(job, [job.data.buffer as ArrayBuffer, job.sizes.buffer as ArrayBuffer]);
    }
  }

  private onResult(w: Worker, r: EncodeJobResult): void {
    const p = this.pending.get(r.id);
    this.pending.delete(r.id);
    this.idle.push(w);
    if (p) {
      if ('error' in r) p.reject(new Error(r.error));
      else p.resolve({ data: r.data, sizes: r.sizes });
    }
    this.pump();
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    for (const q of this.queue) q.reject(e);
    this.queue = [];
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
    this.idle = [];
  }
}

function concat<T extends Uint8Array | Uint32Array>(parts: T[], make: (n: number) => T): T {
  const out = make(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
