// Writing a dataset's shards and finishing it, for both writers: the in-memory one (write.ts) hands
// over every shard of an index planned at once, the streamed one (stream.ts) one shard at a time as it
// reads each back from its temporary file. Either way the shard workers gather and encode it, it is
// written as soon as it is done, and at most `maxShardsInFlight` shards are held at once; progress
// counts entries written. Both then write `info` and commit the same way (writeInfo, commitDataset).
import type { IndexSummary, Phase } from './types';
import { shardFileName, type ShardingSpec } from './sharding';
import type { ShardEncoder, SourceHandle } from './pool';
import { JobsInFlight, byteLengthOf, type Storage } from './storage';
import { buildInfo, type InfoInput } from './info';
import { throwIfAborted } from './errors';

/** What shard writing needs from its writer. */
export interface ShardContext {
  storage: Storage;
  encoder: ShardEncoder;
  gzipLevel: number | 'raw';
  maxShardsInFlight: number;
  progress: (phase: Phase, done: number, total: number, detail?: string) => void;
}

/** Encodes shards as they are handed over and writes each when done, at most `maxShardsInFlight` at once. */
export class ShardWriter {
  private readonly jobs: JobsInFlight;
  private done = 0;
  /** What this writer's shards came to (indexes may be written side by side, so not the storage's totals). */
  readonly written = { bytes: 0, files: 0 };
  constructor(
    private readonly ctx: ShardContext,
    private readonly key: string,
    private readonly phase: Phase,
    private readonly total: number,
    private readonly detail?: string,
  ) {
    this.jobs = new JobsInFlight(ctx.maxShardsInFlight);
  }

  /**
   * Queues shard `shard`: the values of `members` (key indices, in plan order) of `source`, laid out
   * by `minishard`; resolves once it is queued (waiting while too many are in flight). `release` runs
   * when the shard is written or has failed. Progress counts `entries` (its keys unless given).
   */
  add(
    spec: ShardingSpec,
    shard: number,
    source: SourceHandle,
    keys: BigUint64Array,
    members: Uint32Array,
    minishard: Uint32Array,
    release?: () => void,
    entries = members.length,
  ): Promise<void> {
    const level = this.ctx.gzipLevel === 'raw' ? 0 : this.ctx.gzipLevel;
    const encoded = this.ctx.encoder.encode(spec, level, source, keys, members, minishard).then((parts) => ({ parts, entries }));
    return this.addEncoded(spec.shard_bits, shard, encoded, release);
  }

  /**
   * Queues shard `shard`, whose bytes (`parts`; null: nothing to write) and entry count another step
   * makes (the streamed writer's shard files); as `add` otherwise.
   */
  addEncoded(shardBits: number, shard: number, encoded: Promise<{ parts: Uint8Array[] | null; entries: number }>, release?: () => void): Promise<void> {
    const job = encoded.then(async ({ parts, entries }) => {
      if (parts) {
        await this.ctx.storage.write(`${this.key}/${shardFileName(shard, shardBits)}`, parts);
        this.written.bytes += byteLengthOf(parts);
        this.written.files++;
      }
      this.done += entries;
      this.ctx.progress(this.phase, this.done, this.total, this.detail);
    });
    return this.jobs.add(release ? job.finally(release) : job);
  }

  /** Waits for every shard queued (and throws the first failure). */
  finish(): Promise<void> {
    return this.jobs.finish();
  }
}

/** An index's summary, with what was `written` of it. */
export function indexSummary(
  written: { bytes: number; files: number },
  index: { key: string; keys: number; entries: number; rawBytes: number; sharding?: ShardingSpec },
): IndexSummary {
  return {
    key: index.key,
    keys: index.keys,
    entries: index.entries,
    bytes: written.bytes,
    rawBytes: index.rawBytes,
    dataEncoding: index.sharding?.data_encoding,
    files: written.files,
  };
}

/** Both writers' next-to-last step, once every index is written: the `info` file. */
export async function writeInfo(storage: Storage, signal: AbortSignal | undefined, progress: ShardContext['progress'], info: InfoInput): Promise<void> {
  progress('finishing', 0, 1);
  throwIfAborted(signal);
  await storage.write('info', buildInfo(info));
}

/** Both writers' last step, with `info` written: stop the shard workers and make the dataset visible. */
export async function commitDataset(storage: Storage, encoder: ShardEncoder, signal: AbortSignal | undefined, progress: ShardContext['progress']): Promise<void> {
  throwIfAborted(signal);
  await encoder.close();
  await storage.commit();
  progress('finishing', 1, 1);
}
