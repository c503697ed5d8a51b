// Reads one index stored in the sharded uint64 format (sharded.md): shard index → minishard indexes
// → chunks, checking every offset against the file and every key against the shard and minishard
// its hash selects. Reads byte ranges as neuroglancer does, so huge shards are never loaded whole.
import { open } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { gunzip as inflate } from 'hyparquet-compressors';
import { murmurHash3X86_128Low64 } from '../core/murmur';
import { crc32 } from '../core/smallgzip';
import type { Sharding } from './info';

const U32 = 0xffffffffn;
const WHOLE_FILE_LIMIT = 256 * 1024 * 1024;

/** `hash(key >> preshift)` split into `{ minishard, shard }` as in sharded.md. */
export function shardOf(key: bigint, s: Sharding): { shard: bigint; minishard: bigint } {
  const shifted = s.preshiftBits >= 64 ? 0n : key >> BigInt(s.preshiftBits);
  let hashed: bigint;
  if (s.hash === 'identity') hashed = shifted;
  else {
    const out = [0, 0];
    murmurHash3X86_128Low64(Number(shifted & U32), Number(shifted >> 32n), out);
    hashed = (BigInt(out[1]) << 32n) | BigInt(out[0]);
  }
  const m = BigInt(s.minishardBits);
  return {
    minishard: hashed & ((1n << m) - 1n),
    shard: (hashed >> m) & ((1n << BigInt(s.shardBits)) - 1n),
  };
}

/** File name of shard `n`: lowercase hex, zero-padded to ceil(shard_bits / 4) digits. */
export function shardFileName(n: bigint, s: Sharding): string {
  return n.toString(16).padStart(Math.ceil(s.shardBits / 4), '0') + '.shard';
}

/** The shard number a file name stands for, or undefined if neuroglancer would never request it. */
export function parseShardFileName(name: string, s: Sharding): bigint | undefined {
  const m = /^([0-9a-f]+)\.shard$/.exec(name);
  if (m === null) return undefined;
  const n = BigInt('0x' + m[1]);
  if (n >= 1n << BigInt(s.shardBits)) return undefined;
  return shardFileName(n, s) === name ? n : undefined;
}

// A damaged or hostile dataset must not make inspect decompress without bound: one minishard index
// or chunk may decode to at most this many bytes (our writer's are at most a few MB; neuroglancer
// fetches each whole), and the first one past it stops the shard, so a thousand keys pointing at one
// gzip bomb cost one refusal, not a thousand.
export const MAX_DECODED = 256 * 2 ** 20;

class TooLarge extends Error {}

/** Members up to this size are inflated in JS (below); larger ones by zlib. */
const SMALL_MEMBER = 1 << 20;

function decode(buf: Buffer, encoding: 'raw' | 'gzip'): Buffer {
  if (encoding !== 'gzip') return buf;
  // zlib costs tens of microseconds per call to set up (a by_id index holds millions of 100-byte
  // chunks: 90 s for 10^6), so small members are inflated in JS and checked against their CRC-32
  // and length; anything unusual goes to zlib, which names the problem.
  if (buf.length >= 20 && buf[0] === 0x1f && buf[1] === 0x8b && buf[2] === 8) {
    const size = buf.readUInt32LE(buf.length - 4);
    if (size <= SMALL_MEMBER) {
      try {
        const out = Buffer.alloc(size);
        inflate(buf, out);
        if (crc32(out, 0, size) === buf.readUInt32LE(buf.length - 8)) return out;
      } catch {
        // zlib below
      }
    }
  }
  try {
    return gunzipSync(buf, { maxOutputLength: MAX_DECODED });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new TooLarge(`${buf.length} bytes of gzip decode to more than the limit of ${MAX_DECODED / 2 ** 20} MiB (a gzip bomb?); not reading the rest of this shard`);
    }
    throw e;
  }
}

export interface ShardVisit {
  (key: bigint, data: Buffer): void;
}

export interface ShardStats {
  chunks: number;
  bytes: number;
}

/**
 * Walks every chunk of one shard file. Problems are reported through `report` (message only; the
 * caller knows the file). Chunks that cannot be located or decoded are reported and skipped.
 */
export async function readShard(
  file: string,
  shardNumber: bigint,
  s: Sharding,
  visit: ShardVisit,
  report: (message: string) => void,
  warn: (message: string) => void = report,
): Promise<ShardStats> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    // Shards of ordinary size are read whole (one read instead of one per chunk: by_id shards hold
    // ~10^5 chunks); only huge ones are read range by range.
    const whole = size <= WHOLE_FILE_LIMIT ? await fh.readFile() : undefined;
    const readAt = async (start: number, length: number): Promise<Buffer> => {
      if (whole) {
        if (start + length > whole.length) throw new Error(`short read at ${start}`);
        return whole.subarray(start, start + length);
      }
      const b = Buffer.alloc(length);
      const { bytesRead } = await fh.read(b, 0, length, start);
      if (bytesRead !== length) throw new Error(`short read at ${start}`);
      return b;
    };
    return await readShardFrom(size, readAt, shardNumber, s, visit, report, warn);
  } finally {
    await fh.close();
  }
}

/** The same walk over any byte source: `readAt(start, length)` of a shard of `size` bytes. */
export async function readShardFrom(
  size: number,
  readAt: (start: number, length: number) => Promise<Buffer>,
  shardNumber: bigint,
  s: Sharding,
  visit: ShardVisit,
  report: (message: string) => void,
  warn: (message: string) => void = report,
): Promise<ShardStats> {
  {
    const stats: ShardStats = { chunks: 0, bytes: size };
    if (s.minishardBits > 30) {
      report(`minishard_bits ${s.minishardBits} makes a shard index of 2^${s.minishardBits + 4} bytes; not reading it`);
      return stats;
    }
    const minishards = 2 ** s.minishardBits;
    const indexEnd = 16 * minishards;
    if (size < indexEnd) {
      report(`truncated: ${size} bytes, shorter than its ${indexEnd}-byte shard index`);
      return stats;
    }
    const index = await readAt(0, indexEnd);
    // Minishard indexes that share bytes: no writer makes them, and they would let a small file make
    // inspect decode the same bytes once per minishard.
    const ranges: [bigint, bigint, number][] = [];
    for (let ms = 0; ms < minishards; ms++) {
      const a = index.readBigUInt64LE(16 * ms);
      const b = index.readBigUInt64LE(16 * ms + 8);
      if (b > a) ranges.push([a, b, ms]);
    }
    ranges.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    for (let i = 1; i < ranges.length; i++) {
      const [a, b, ms] = ranges[i]!;
      const [pa, pb, pms] = ranges[i - 1]!;
      if (a < pb) {
        report(`minishard ${ms}: index range [${a}, ${b}) overlaps minishard ${pms}'s [${pa}, ${pb}); not reading this shard`);
        return stats;
      }
    }
    const seen = new Set<bigint>();
    for (let ms = 0; ms < minishards; ms++) {
      const a = index.readBigUInt64LE(16 * ms);
      const b = index.readBigUInt64LE(16 * ms + 8);
      if (a === b) continue;
      const mi = `minishard ${ms}`;
      if (b < a || BigInt(indexEnd) + b > BigInt(size)) {
        report(`${mi}: index range [${a}, ${b}) (after the ${indexEnd}-byte shard index) is outside the ${size}-byte file`);
        continue;
      }
      let raw: Buffer;
      try {
        raw = decode(await readAt(indexEnd + Number(a), Number(b - a)), s.minishardIndexEncoding);
      } catch (e) {
        report(`${mi}: minishard index does not decode (${s.minishardIndexEncoding}): ${(e as Error).message}`);
        if (e instanceof TooLarge) return stats;
        continue;
      }
      if (raw.length % 24 !== 0) {
        report(`${mi}: minishard index is ${raw.length} bytes, not a multiple of 24`);
        continue;
      }
      const n = raw.length / 24;
      let key = 0n;
      let prevEnd = BigInt(indexEnd);
      let prevKey: bigint | undefined;
      for (let i = 0; i < n; i++) {
        key = BigInt.asUintN(64, key + raw.readBigUInt64LE(8 * i));
        const start = prevEnd + raw.readBigUInt64LE(8 * (n + i));
        const len = raw.readBigUInt64LE(8 * (2 * n + i));
        prevEnd = start + len;
        const where = `${mi}, key ${key}`;
        if (prevKey !== undefined && key < prevKey) {
          // Readers scan the whole minishard index, so this still works; writers sort.
          warn(`${where}: chunk ids not in increasing order (after ${prevKey})`);
        }
        prevKey = key;
        if (seen.has(key)) {
          report(`${where}: key appears twice in this shard; neuroglancer reads only the first`);
          continue;
        }
        seen.add(key);
        const want = shardOf(key, s);
        if (want.shard !== shardNumber || want.minishard !== BigInt(ms)) {
          report(
            `${where}: stored in shard ${shardNumber} minishard ${ms}, but its hash puts it in shard ${want.shard} minishard ${want.minishard}; neuroglancer will not find it`,
          );
          continue;
        }
        if (start < BigInt(indexEnd) || prevEnd > BigInt(size)) {
          report(`${where}: data range [${start}, ${prevEnd}) is outside the file's data (${indexEnd}..${size})`);
          continue;
        }
        let data: Buffer;
        try {
          data = decode(await readAt(Number(start), Number(len)), s.dataEncoding);
        } catch (e) {
          report(`${where}: data does not decode (${s.dataEncoding}): ${(e as Error).message}`);
          if (e instanceof TooLarge) return stats;
          continue;
        }
        stats.chunks++;
        visit(key, data);
      }
    }
    return stats;
  }
}
