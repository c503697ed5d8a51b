// Worker thread body: gzips slices of chunk values, so compression uses every core while the main
// thread gathers values and lays out shards.
import { parentPort } from 'node:worker_threads';
import { encodeChunks } from './sharding';

export interface EncodeJob {
  id: number;
  encoding: 'gzip' | 'raw';
  gzipLevel: number;
  data: Uint8Array;
  sizes: Uint32Array;
}
export type EncodeJobResult = { id: number; data: Uint8Array; sizes: Uint32Array } | { id: number; error: string };

parentPort?.on('message', (job: EncodeJob) => {
  try {
    const { data, sizes } = encodeChunks(job.encoding, job.gzipLevel, job.data, job.sizes);
    parentPort!.postMessage({ id: job.id, data, sizes } satisfies EncodeJobResult, [data.buffer as ArrayBuffer, sizes.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: (e as Error).message } satisfies EncodeJobResult);
  }
});
