// Worker thread body: gathers slices of a shard's chunk values from shared memory and gzips them, so
// both steps use every core while the main thread plans shards and lays them out.
import { parentPort } from 'node:worker_threads';
import { encodeChunks, gatherValues, type ValueSource } from './sharding';
import { valueSource, type ValueSpec } from './values';

export type WorkerMessage =
  | { type: 'source'; sourceId: number; spec: ValueSpec }
  | { type: 'drop'; sourceId: number }
  | { type: 'encode'; id: number; sourceId: number; encoding: 'gzip' | 'raw'; gzipLevel: number; indices: Uint32Array };
export type EncodeJobResult = { id: number; data: Uint8Array; sizes: Uint32Array } | { id: number; error: string };

const sources = new Map<number, ValueSource>();

parentPort?.on('message', (m: WorkerMessage) => {
  if (m.type === 'source') {
    sources.set(m.sourceId, valueSource(m.spec));
    return;
  }
  if (m.type === 'drop') {
    sources.delete(m.sourceId);
    return;
  }
  try {
    const src = sources.get(m.sourceId);
    if (!src) throw new Error(`unknown value source ${m.sourceId}`);
    const gathered = gatherValues(m.indices, src);
    const { data, sizes } = encodeChunks(m.encoding, m.gzipLevel, gathered.data, gathered.sizes);
    parentPort!.postMessage({ id: m.id, data, sizes } satisfies EncodeJobResult, [data.buffer as ArrayBuffer, sizes.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message } satisfies EncodeJobResult);
  }
});
