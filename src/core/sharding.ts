// neuroglancer_uint64_sharded_v1: choosing the sharding parameters, assigning keys to shards and
// minishards, and laying out shard files (shard index, chunk data, minishard indexes).
import { gzipSync } from 'node:zlib';
import { murmurHash3X86_128Low64 } from './murmur';
import { argsortU64, stableSortByKeys } from './radix';
import { gzipSmallBound, gzipSmallInto, smallGzip } from './smallgzip';
import { scratchBytes } from './scratch';

export interface ShardingSpec {
  '@type': 'neuroglancer_uint64_sharded_v1';
  hash: 'murmurhash3_x86_128' | 'identity';
  preshift_bits: number;
  shard_bits: number;
  minishard_bits: number;
  data_encoding: 'gzip' | 'raw';
  minishard_index_encoding: 'gzip' | 'raw';
}

const MINISHARD_TARGET_COUNT = 1000;
const SHARD_TARGET_SIZE = 50_000_000;

function bitLength(x: bigint): number {
  let b = 0;
  while (x > 0n) {
    x >>= 1n;
    b++;
  }
  return b;
}

/** Parameters as the reference chooses them from the number of keys, total bytes and largest key. */
export function chooseShardingParams(
  totalCount: number,
  totalBytes: number,
  maxKey: bigint = (1n << 64n) - 1n,
): { preshift_bits: number; shard_bits: number; minishard_bits: number } {
  let totalMinishardBits = 0;
  while (Math.floor(totalCount / 2 ** totalMinishardBits) > MINISHARD_TARGET_COUNT) totalMinishardBits++;
  // Tests lower the target to get many shards from small tables; exports never set it.
  const target = Number(process.env.NG_ANNOTATIONS_SHARD_TARGET_BYTES) || SHARD_TARGET_SIZE;
  let shardBits = 0;
  while (Math.floor(totalBytes / 2 ** shardBits) > target) shardBits++;
  const minishardBits = totalMinishardBits - Math.min(totalMinishardBits, shardBits);
  let targetPreshift = 0;
  while (MINISHARD_TARGET_COUNT >> targetPreshift > 0) targetPreshift++;
  const preshift = Math.min(targetPreshift, Math.max(0, bitLength(maxKey) - shardBits - minishardBits));
  return { preshift_bits: preshift, shard_bits: shardBits, minishard_bits: minishardBits };
}

export function makeShardingSpec(
  params: { preshift_bits: number; shard_bits: number; minishard_bits: number },
  dataEncoding: 'gzip' | 'raw',
  minishardIndexEncoding: 'gzip' | 'raw' = 'gzip',
): ShardingSpec {
  return {
    '@type': 'neuroglancer_uint64_sharded_v1',
    hash: 'murmurhash3_x86_128',
    preshift_bits: params.preshift_bits,
    shard_bits: params.shard_bits,
    minishard_bits: params.minishard_bits,
    data_encoding: dataEncoding,
    minishard_index_encoding: minishardIndexEncoding,
  };
}

/** Lower-case hex shard number, zero-padded to ceil(shard_bits / 4) digits (at least one). */
export function shardFileName(shard: number, shardBits: number): string {
  return shard.toString(16).padStart(Math.max(1, Math.ceil(shardBits / 4)), '0') + '.shard';
}

/**
 * Shard and minishard of every key. Keys are read as two 32-bit words; the 64-bit shift and the
 * bit extraction are done on the words, so no BigInt is needed per key.
 */
export function assignShards(keys: BigUint64Array, spec: ShardingSpec): { shard: Uint32Array; minishard: Uint32Array } {
  const n = keys.length;
  const words = new Uint32Array(keys.buffer, keys.byteOffset, n * 2);
  const shard = new Uint32Array(n);
  const minishard = new Uint32Array(n);
  const out = new Uint32Array(2);
  const p = spec.preshift_bits;
  const mb = spec.minishard_bits;
  const sb = spec.shard_bits;
  if (mb + sb > 52) throw new RangeError('shard_bits + minishard_bits above 52 are not supported');
  // Both fields within the low word (the usual case): plain bit operations.
  const small = mb + sb <= 31;
  const msMask = (1 << mb) - 1;
  const shMask = (1 << sb) - 1;
  for (let i = 0; i < n; i++) {
    let lo = words[2 * i];
    let hi = words[2 * i + 1];
    if (p >= 64) {
      lo = 0;
      hi = 0;
    } else if (p >= 32) {
      lo = hi >>> (p - 32);
      hi = 0;
    } else if (p > 0) {
      lo = ((lo >>> p) | (hi << (32 - p))) >>> 0;
      hi = hi >>> p;
    }
    let hLo: number;
    let hHi: number;
    if (spec.hash === 'identity') {
      hLo = lo;
      hHi = hi;
    } else {
      murmurHash3X86_128Low64(lo, hi, out);
      hLo = out[0];
      hHi = out[1];
    }
    if (small) {
      minishard[i] = hLo & msMask;
      shard[i] = mb === 0 ? hLo & shMask : (hLo >>> mb) & shMask;
    } else {
      // value = hHi * 2^32 + hLo; bits [0, mb) and [mb, mb + sb) by exact float arithmetic on the
      // low 52 bits, which is all mb + sb can reach.
      const low52 = (hHi & 0xfffff) * 4294967296 + hLo;
      minishard[i] = mb === 0 ? 0 : low52 % 2 ** mb;
      shard[i] = sb === 0 ? 0 : Math.floor(low52 / 2 ** mb) % 2 ** sb;
    }
  }
  return { shard, minishard };
}

export interface ShardPlan {
  spec: ShardingSpec;
  /** Key indices ordered by (shard, minishard, key). */
  order: Uint32Array;
  /** Distinct shards present, ascending, and where each starts in `order`. */
  shards: number[];
  shardStart: number[];
  minishard: Uint32Array;
}

/**
 * Orders keys by shard, then minishard, then key: keys in ascending order (`sortedOrder` when the
 * caller has it already), then a stable counting sort by (shard, minishard).
 */
export function planShards(keys: BigUint64Array, spec: ShardingSpec, sortedOrder?: Uint32Array): ShardPlan {
  const n = keys.length;
  const { shard, minishard } = assignShards(keys, spec);
  const mb = spec.minishard_bits;
  const maxBucket = 2 ** (spec.shard_bits + mb) - 1;
  const byKey = sortedOrder ?? argsortU64(keys);
  const bucket = new Uint32Array(n);
  for (let j = 0; j < n; j++) bucket[j] = shard[byKey[j]] * 2 ** mb + minishard[byKey[j]];
  const order = stableSortByKeys(byKey, bucket, maxBucket);
  const shards: number[] = [];
  const shardStart: number[] = [];
  for (let j = 0; j < n; j++) {
    const s = shard[order[j]];
    if (j === 0 || s !== shard[order[j - 1]]) {
      shards.push(s);
      shardStart.push(j);
    }
  }
  shardStart.push(n);
  return { spec, order, shards, shardStart, minishard };
}

/** gzip an index only when a sample of its values shrinks to 90% or less (polylines' spatial chunks shrink to 82%): small records barely shrink (by_id grows) and cost a zlib call each. */
const GZIP_WORTH_IT = 0.9;

/**
 * The chunk data encoding of an index: 'raw' when everything is stored raw, else the option, else
 * ('auto') gzip only when a sample of its `n` values shrinks enough.
 */
export function chooseDataEncoding(gzipLevel: number | 'raw', option: 'auto' | 'gzip' | 'raw', values: ValueSource, n: number): 'gzip' | 'raw' {
  if (gzipLevel === 'raw') return 'raw';
  if (option !== 'auto') return option;
  return gzipWorthIt(values, n, gzipLevel) ? 'gzip' : 'raw';
}

/** Minishard indexes are gzipped unless everything is stored raw. */
export function minishardIndexEncoding(gzipLevel: number | 'raw'): 'gzip' | 'raw' {
  return gzipLevel === 'raw' ? 'raw' : 'gzip';
}

/** At most this many bytes of values are compressed to decide (spatial chunks are up to hundreds of KB each). */
const SAMPLE_BYTES = 1 << 20;

/**
 * Does gzip pay for these values? Decided from up to 64 of them, spread evenly over the `n` keys,
 * and fewer (still spread evenly, at least one) where 64 would be more than SAMPLE_BYTES: compressing
 * every chunk of a spatial level to decide, then again to write it, cost a third of a second of the
 * main thread at 1e6 points.
 */
function gzipWorthIt(values: ValueSource, n: number, gzipLevel: number): boolean {
  let samples = Math.min(n, 64);
  let bytes = 0;
  for (let t = 0; t < samples; t++) bytes += values.size(Math.floor((t * n) / samples));
  if (bytes > SAMPLE_BYTES) samples = Math.max(1, Math.floor((samples * SAMPLE_BYTES) / bytes));
  let raw = 0;
  let packed = 0;
  for (let t = 0; t < samples; t++) {
    const v = valueBytes(values, Math.floor((t * n) / samples));
    raw += v.length;
    packed += encodeData(v, 'gzip', gzipLevel).length;
  }
  return packed <= GZIP_WORTH_IT * raw;
}

/** Values up to this size are gzipped by the built-in encoder (smallgzip.ts), larger ones by zlib. */
export const SMALL_VALUE_BYTES = 2048;

/**
 * Encodes one chunk value or minishard index. gzip: small values with the built-in encoder (zlib's
 * per-call setup would dominate); larger ones with zlib at `level`, its window sized to the value.
 */
export function encodeData(data: Uint8Array, encoding: 'gzip' | 'raw', level: number): Uint8Array {
  if (encoding === 'raw') return data;
  if (data.length <= SMALL_VALUE_BYTES && level > 0) return smallGzip(data);
  let windowBits = 9;
  while (windowBits < 15 && 1 << windowBits < data.length + 262) windowBits++;
  const memLevel = Math.max(1, Math.min(8, windowBits - 7));
  return gzipSync(data, { level, windowBits, memLevel });
}

/** One shard's chunks before encoding: keys ascending within each minishard, minishards ascending. */
export interface ShardChunks {
  keys: BigUint64Array;
  minishards: Uint32Array;
  /** All chunk values back to back. */
  data: Uint8Array;
  /** Byte size of each chunk's value. */
  sizes: Uint32Array;
}

/** Where chunk values come from: their sizes first, then written in place (no per-value buffers). */
export interface ValueSource {
  size(keyIndex: number): number;
  write(keyIndex: number, out: Uint8Array, at: number): void;
}

/** A ValueSource over a function returning each value (tests and cold paths). */
export function valueSourceOf(value: (keyIndex: number) => Uint8Array): ValueSource {
  return { size: (k) => value(k).length, write: (k, out, at) => out.set(value(k), at) };
}

/** One value as its own buffer. */
export function valueBytes(src: ValueSource, k: number): Uint8Array {
  const out = new Uint8Array(src.size(k));
  src.write(k, out, 0);
  return out;
}

/**
 * The values of `indices`, in that order, back to back in one buffer, with their sizes; in scratch
 * (`scratchUse`) when the caller is done with them before that scratch is used again (it compresses them).
 */
export function gatherValues(indices: Uint32Array, src: ValueSource, scratchUse?: string): { data: Uint8Array; sizes: Uint32Array } {
  const m = indices.length;
  const sizes = new Uint32Array(m);
  let total = 0;
  for (let t = 0; t < m; t++) {
    sizes[t] = src.size(indices[t]);
    total += sizes[t];
  }
  const data = scratchUse ? scratchBytes(scratchUse, total) : new Uint8Array(total);
  let at = 0;
  for (let t = 0; t < m; t++) {
    src.write(indices[t], data, at);
    at += sizes[t];
  }
  return { data, sizes };
}

/** The keys and minishards of one shard's chunks (`indices` in plan order). */
export function shardKeys(keys: BigUint64Array, indices: Uint32Array, minishardOf: Uint32Array): Pick<ShardChunks, 'keys' | 'minishards'> {
  const m = indices.length;
  const chunkKeys = new BigUint64Array(m);
  const minishards = new Uint32Array(m);
  // Word copies: reading a BigUint64Array element allocates a BigInt.
  const from = new Uint32Array(keys.buffer, keys.byteOffset, 2 * keys.length);
  const to = new Uint32Array(chunkKeys.buffer);
  for (let t = 0; t < m; t++) {
    const i = indices[t];
    to[2 * t] = from[2 * i];
    to[2 * t + 1] = from[2 * i + 1];
    minishards[t] = minishardOf[i];
  }
  return { keys: chunkKeys, minishards };
}

/** Gathers the values of one shard's keys (in plan order) into one buffer. */
export function collectShard(keys: BigUint64Array, indices: Uint32Array, minishardOf: Uint32Array, src: ValueSource, scratchUse?: string): ShardChunks {
  return { ...shardKeys(keys, indices, minishardOf), ...gatherValues(indices, src, scratchUse) };
}

/** Chunk values after encoding, back to back, with their sizes. */
export interface EncodedChunks {
  data: Uint8Array;
  sizes: Uint32Array;
}

/** Bytes not zeroed, in their own buffer (not Node's shared pool: it may be moved to another thread). */
function uninitialized(n: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

/** Encodes each chunk value on its own (the expensive part; worker threads run slices of it). */
export function encodeChunks(encoding: 'gzip' | 'raw', gzipLevel: number, data: Uint8Array, sizes: Uint32Array): EncodedChunks {
  if (encoding === 'raw') return { data, sizes };
  const outSizes = new Uint32Array(sizes.length);
  // Room for the worst case up front (the bound holds for zlib's output too): growing by doubling
  // held the old and the new buffer at once, 192 MB for a 128 MB shard. Uninitialized (only the
  // bytes written are returned), so pages never written are never touched: the room costs address
  // space, not memory.
  let cap = 0;
  for (let t = 0; t < sizes.length; t++) cap += gzipSmallBound(sizes[t]);
  let out = uninitialized(cap + 1024);
  let o = 0;
  let at = 0;
  const room = (need: number) => {
    if (o + need <= out.length) return;
    const grown = uninitialized(Math.max(out.length * 2, o + need + cap));
    grown.set(out.subarray(0, o));
    out = grown;
  };
  for (let t = 0; t < sizes.length; t++) {
    const n = sizes[t];
    if (n <= SMALL_VALUE_BYTES && gzipLevel > 0) {
      room(gzipSmallBound(n));
      const end = gzipSmallInto(data, at, n, out, o);
      outSizes[t] = end - o;
      o = end;
    } else {
      const e = encodeData(data.subarray(at, at + n), 'gzip', gzipLevel);
      room(e.length);
      out.set(e, o);
      outSizes[t] = e.length;
      o += e.length;
    }
    at += n;
  }
  return { data: out.subarray(0, o), sizes: outSizes };
}

/**
 * One shard file from its encoded chunks, as the parts to write back to back: [shard index:
 * 2^minishard_bits × (start, end)] then, per minishard, its chunks' data in key order followed by
 * its minishard index ([3, n] uint64: delta keys, delta offsets, sizes). Offsets are relative to the
 * end of the shard index. Values are not copied: their parts are views into `encoded`, which may
 * come in slices (one per worker that encoded them; a minishard's run may span two).
 */
export function layoutShardParts(
  spec: ShardingSpec,
  gzipLevel: number,
  chunks: Pick<ShardChunks, 'keys' | 'minishards'>,
  encoded: EncodedChunks | readonly EncodedChunks[],
): Uint8Array[] {
  const slices = Array.isArray(encoded) ? (encoded as readonly EncodedChunks[]) : [encoded as EncodedChunks];
  const numMinishards = 2 ** spec.minishard_bits;
  // uint64 fields as pairs of 32-bit words (little-endian): no BigInt per chunk.
  const shardIndex = new Uint32Array(numMinishards * 4);
  const parts: Uint8Array[] = [new Uint8Array(shardIndex.buffer)];
  const { keys, minishards } = chunks;
  const kw = new Uint32Array(keys.buffer, keys.byteOffset, 2 * keys.length);
  const m = keys.length;
  // Where the next chunk's value is: slice `s`, chunk `u` within it, byte `dataAt` of its data.
  let s = 0;
  let u = 0;
  let dataAt = 0;
  let runStart = 0;
  /** Ends the current run of values in slice `s` (as a view) at `dataAt`. */
  const cut = () => {
    if (dataAt > runStart) parts.push(slices[s].data.subarray(runStart, dataAt));
    runStart = dataAt;
  };
  let offset = 0; // relative to the end of the shard index
  let j = 0;
  while (j < m) {
    const ms = minishards[j];
    let e = j;
    while (e < m && minishards[e] === ms) e++;
    const count = e - j;
    const index = new Uint32Array(6 * count);
    let prevLo = 0;
    let prevHi = 0;
    let prevEnd = 0;
    for (let t = 0; t < count; t++) {
      while (u >= slices[s].sizes.length) {
        cut();
        s++;
        u = 0;
        dataAt = runStart = 0;
      }
      const size = slices[s].sizes[u++];
      const lo = kw[2 * (j + t)];
      const hi = kw[2 * (j + t) + 1];
      // key - previous key, with the borrow carried into the high word
      index[2 * t] = (lo - prevLo) >>> 0;
      index[2 * t + 1] = (hi - prevHi - (lo < prevLo ? 1 : 0)) >>> 0;
      putU64(index, count + t, offset - prevEnd);
      putU64(index, 2 * count + t, size);
      prevLo = lo;
      prevHi = hi;
      offset += size;
      prevEnd = offset;
      dataAt += size;
    }
    cut();
    const indexBytes = encodeData(new Uint8Array(index.buffer), spec.minishard_index_encoding, gzipLevel);
    putU64(shardIndex, 2 * ms, offset);
    putU64(shardIndex, 2 * ms + 1, offset + indexBytes.length);
    parts.push(indexBytes);
    offset += indexBytes.length;
    j = e;
  }
  return parts;
}

/** A shard file in one buffer (tests and single-threaded paths); see layoutShardParts. */
export function layoutShard(spec: ShardingSpec, gzipLevel: number, chunks: Pick<ShardChunks, 'keys' | 'minishards'>, encoded: EncodedChunks): Uint8Array {
  return concatBytes(layoutShardParts(spec, gzipLevel, chunks, encoded));
}

/** Parts back to back in one new buffer. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Stores a non-negative integer below 2^53 as uint64 element `k` of a word array. */
function putU64(w: Uint32Array, k: number, v: number): void {
  w[2 * k] = v >>> 0;
  w[2 * k + 1] = Math.floor(v / 4294967296);
}

/** A whole shard on this thread. */
export function assembleShard(spec: ShardingSpec, gzipLevel: number, chunks: ShardChunks): Uint8Array {
  return layoutShard(spec, gzipLevel, chunks, encodeChunks(spec.data_encoding, gzipLevel, chunks.data, chunks.sizes));
}

/** collectShard + assembleShard in one call (tests and single-threaded paths). */
export function buildShard(
  spec: ShardingSpec,
  keys: BigUint64Array,
  indices: Uint32Array,
  minishardOf: Uint32Array,
  value: (keyIndex: number) => Uint8Array,
  gzipLevel: number,
): Uint8Array {
  return assembleShard(spec, gzipLevel, collectShard(keys, indices, minishardOf, valueSourceOf(value)));
}
