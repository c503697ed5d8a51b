// Worker thread body: encodes (gzip) and lays out shard files, so compression uses every core while
// the main thread gathers the next shard's values.
import { parentPort } from 'node:worker_threads';
import { assembleShard, type ShardChunks, type ShardingSpec } from './sharding';

export interface ShardJob {
  id: number;
  spec: ShardingSpec;
  gzipLevel: number;
  chunks: ShardChunks;
}
export type ShardJobResult = { id: number; bytes: Uint8Array } | { id: number; error: string };

parentPort?.on('message', (job: ShardJob) => {
  try {
    const bytes = assembleShard(job.spec, job.gzipLevel, job.chunks);
    parentPort!.postMessage({ id: job.id, bytes } satisfies ShardJobResult, [bytes.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: (e as Error).message } satisfies ShardJobResult);
  }
});
