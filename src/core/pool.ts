// A small pool of shard-encoding worker threads. Jobs are assembled shards' raw chunks; results are
// shard file bytes. Output does not depend on the number of threads: each shard is encoded the same
// way wherever it runs.
import { Worker } from 'node:worker_threads';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assembleShard, type ShardChunks, type ShardingSpec } from './sharding';
import type { ShardJob, ShardJobResult } from './shardWorker';

/** The bundled worker script: beside this bundle (dist/), or dist/ when running from src/ (tests). */
function workerScript(): string | null {
  for (const p of [path.join(__dirname, 'shardWorker.js'), path.join(__dirname, '..', '..', 'dist', 'shardWorker.js')]) {
    if (fs.existsSync(p)) return p;
  }
  return null;
}

export class ShardEncoder {
  private workers: Worker[] = [];
  private idle: Worker[] = [];
  private queue: Array<{ job: ShardJob; resolve: (b: Uint8Array) => void; reject: (e: Error) => void }> = [];
  private pending = new Map<number, { resolve: (b: Uint8Array) => void; reject: (e: Error) => void; worker: Worker }>();
  private nextId = 0;
  readonly threads: number;

  constructor(threads: number) {
    const script = threads > 1 ? workerScript() : null;
    this.threads = script ? threads : 1;
    if (!script) return;
    for (let i = 0; i < threads; i++) {
      const w = new Worker(script);
      w.on('message', (r: ShardJobResult) => this.onResult(w, r));
      w.on('error', (e) => this.failAll(e));
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  /** Encodes one shard; resolves with the file's bytes. Chunk buffers are transferred to the worker. */
  encode(spec: ShardingSpec, gzipLevel: number, chunks: ShardChunks): Promise<Uint8Array> {
    if (this.workers.length === 0) {
      try {
        return Promise.resolve(assembleShard(spec, gzipLevel, chunks));
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { id: this.nextId++, spec, gzipLevel, chunks }, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.pop()!;
      const { job, resolve, reject } = this.queue.shift()!;
      this.pending.set(job.id, { resolve, reject, worker: w });
      const c = job.chunks;
      w.postMessage(job, [c.data.buffer as ArrayBuffer, c.keys.buffer as ArrayBuffer, c.minishards.buffer as ArrayBuffer, c.sizes.buffer as ArrayBuffer]);
    }
  }

  private onResult(w: Worker, r: ShardJobResult): void {
    const p = this.pending.get(r.id);
    this.pending.delete(r.id);
    this.idle.push(w);
    if (p) {
      if ('error' in r) p.reject(new Error(r.error));
      else p.resolve(r.bytes);
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
