// Worker thread body. Gathers slices of a shard's chunk values from shared memory and gzips them, so
// both steps use every core while the main thread plans shards and lays them out; plans the indexes
// that do not need the main thread (a relationship's index, the spatial levels) while it plans by_id;
// and, for exports larger than memory, counts, regroups and encodes their temporary files.
import { parentPort } from 'node:worker_threads';
import { encodeChunks, gatherValues, type ValueSource } from './sharding';
import { valueSource, type ValueSpec } from './values';
import { buildSpatialIndex, type SpatialInput, type SpatialLevelEntries, type SpatialOptions } from './spatial';
import { relationshipIndex, type RelationshipIndex, type RelationshipIndexInput } from './relationshipIndex';
import { buildShardFile, builtBuffers, countPartFile, encodeShardFile, regroupPartFile, type BuiltShard, type EncodedShardFile, type PartCounts, type RegroupedPart, type ShardFileTask } from './spillShards';
import type { ShardingSpec } from './sharding';
import type { SpillFile } from './spill';
import { ExportError } from './errors';
import { keepScratch } from './scratch';

/** Spatial options a worker can receive (no signal: the main thread stops the worker instead). */
export type SpatialJobOptions = Omit<SpatialOptions, 'signal' | 'onProgress'>;

export type WorkerMessage =
  | { type: 'source'; sourceId: number; spec: ValueSpec }
  | { type: 'drop'; sourceId: number }
  | { type: 'encode'; id: number; sourceId: number; encoding: 'gzip' | 'raw'; gzipLevel: number; indices: Uint32Array }
  | { type: 'spatial'; id: number; input: SpatialInput; options: SpatialJobOptions }
  | { type: 'relationship'; id: number; input: RelationshipIndexInput }
  | { type: 'countPart'; id: number; file: SpillFile; entryBytes: number; spatial: boolean }
  | { type: 'regroupPart'; id: number; file: SpillFile; entryBytes: number; spec: ShardingSpec }
  | { type: 'shardFile'; id: number; task: ShardFileTask }
  | { type: 'buildShard'; id: number; task: ShardFileTask };
export type Job = Exclude<WorkerMessage, { type: 'source' } | { type: 'drop' }>;

export type WorkerReply =
  | { id: number; data: Uint8Array; sizes: Uint32Array }
  | { id: number; levels: SpatialLevelEntries[] }
  | { id: number; relationship: RelationshipIndex }
  | { id: number; counts: PartCounts }
  | { id: number; regrouped: RegroupedPart }
  | { id: number; shardFile: EncodedShardFile }
  | { id: number; built: BuiltShard | number }
  /** Not the end of the job: how far the spatial assignment has come. */
  | { id: number; progress: number; total: number }
  /** Not the end of the job: the data encoding a shard file's values decided (ShardFileTask.choose). */
  | { id: number; decided: 'gzip' | 'raw' }
  /** `userError`: an ExportError, to be thrown again as one, with its `details`. */
  | { id: number; error: string; userError?: ExportError['details'] };

const sources = new Map<number, ValueSource>();
// Every job here allocates much like the one before: reuse that memory (scratch.ts).
keepScratch();

function run(m: Job): { reply: WorkerReply; transfer: ArrayBuffer[] } {
  switch (m.type) {
    case 'encode': {
      const src = sources.get(m.sourceId);
      if (!src) throw new Error(`unknown value source ${m.sourceId}`);
      // Into scratch when compressed: the compressed copy is what is sent back.
      const gathered = gatherValues(m.indices, src, m.encoding === 'gzip' ? 'gather' : undefined);
      const { data, sizes } = encodeChunks(m.encoding, m.gzipLevel, gathered.data, gathered.sizes);
      return { reply: { id: m.id, data, sizes }, transfer: [data.buffer as ArrayBuffer, sizes.buffer as ArrayBuffer] };
    }
    case 'spatial': {
      const onProgress = (progress: number, total: number) => parentPort!.postMessage({ id: m.id, progress, total } satisfies WorkerReply);
      const levels = buildSpatialIndex(m.input, { ...m.options, onProgress });
      const transfer = levels.flatMap((lv) => [lv.codes.buffer, lv.chunkStart.buffer, lv.annotations.buffer] as ArrayBuffer[]);
      return { reply: { id: m.id, levels }, transfer };
    }
    case 'relationship': {
      const relationship = relationshipIndex(m.input);
      return { reply: { id: m.id, relationship }, transfer: [relationship.keys.buffer, relationship.start.buffer, relationship.members.buffer] as ArrayBuffer[] };
    }
    case 'countPart':
      return { reply: { id: m.id, counts: countPartFile(m.file, m.entryBytes, m.spatial) }, transfer: [] };
    case 'regroupPart': {
      const regrouped = regroupPartFile(m.file, m.entryBytes, m.spec);
      return { reply: { id: m.id, regrouped }, transfer: [regrouped.data.buffer as ArrayBuffer, regrouped.ends.buffer as ArrayBuffer] };
    }
    case 'buildShard': {
      const built = buildShardFile(m.task);
      return { reply: { id: m.id, built }, transfer: typeof built === 'number' ? [] : builtBuffers(built) };
    }
    case 'shardFile': {
      const shardFile = encodeShardFile(m.task, (decided) => parentPort!.postMessage({ id: m.id, decided } satisfies WorkerReply));
      // Only the encoded values' buffer is moved; the other parts (the shard index, minishard indexes
      // from zlib, whose buffers Node may share and refuses to move since Node 21) are copied.
      return { reply: { id: m.id, shardFile }, transfer: shardFile.values ? [shardFile.values] : [] };
    }
  }
}

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
    const { reply, transfer } = run(m);
    parentPort!.postMessage(reply, transfer);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message, userError: e instanceof ExportError ? e.details : undefined } satisfies WorkerReply);
  }
});
