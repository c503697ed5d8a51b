// Stable least-significant-digit radix sorts over uint64 keys held as two 32-bit words. The writer
// sorts tens of millions of ids; comparison sorts on BigInt are an order of magnitude slower.
//
// The keys travel with the indices (sequential reads instead of a random read of the key per element
// and pass), all digit histograms come from one read, digits that do not separate anything are
// skipped, and input that is already in order (ids written in order are common) costs one scan.
import { isScratch, scratchF64, scratchU32 } from './scratch';

/** The two 32-bit words (low, high) of each uint64, without copying. */
export function words(keys: BigUint64Array): Uint32Array {
  return new Uint32Array(keys.buffer, keys.byteOffset, keys.length * 2);
}

/**
 * Raises `best` (a key as two 32-bit words) to the largest of `keys`, read by words: reading a
 * BigUint64Array element allocates a BigInt.
 */
export function maxWords(keys: BigUint64Array, best: { hi: number; lo: number }): void {
  const w = words(keys);
  for (let i = 0; i < keys.length; i++) {
    const h = w[2 * i + 1];
    if (h > best.hi || (h === best.hi && w[2 * i] > best.lo)) {
      best.hi = h;
      best.lo = w[2 * i];
    }
  }
}

/** The largest key (0 for none). */
export function maxU64(keys: BigUint64Array): bigint {
  const best = { hi: 0, lo: 0 };
  maxWords(keys, best);
  return (BigInt(best.hi) << 32n) | BigInt(best.lo);
}

const RADIX = 65536;

/** 0, 1, …, n - 1. */
export function identityOrder(n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order;
}

/** Indices 0..n-1 ordered by uint64 key (stable). */
export function argsortU64(keys: BigUint64Array): Uint32Array {
  return sortInto(identityOrder(keys.length), keys, true);
}

/** Reorders `order` stably by `keys[i]` (uint64); returns a new array. */
export function sortByU64(order: Uint32Array, keys: BigUint64Array): Uint32Array {
  return sortInto(order, keys, false);
}

/** sortByU64; `owned`: `order` is ours to return as is when already sorted (no copy). */
function sortInto(order: Uint32Array, keys: BigUint64Array, owned: boolean): Uint32Array {
  const n = order.length;
  const w = words(keys);
  // Already in order: one scan and no scratch arrays (on 1e8 ids those would be 800 MB).
  let sorted = true;
  for (let j = 1; j < n && sorted; j++) {
    const a = order[j - 1];
    const b = order[j];
    const ha = w[2 * a + 1];
    const hb = w[2 * b + 1];
    if (hb < ha || (hb === ha && w[2 * b] < w[2 * a])) sorted = false;
  }
  if (sorted) return owned ? order : order.slice();
  // Working arrays from scratch (on the shard workers, whose sorts are many and alike).
  let lo = scratchU32('radix.lo', n);
  let hi = scratchU32('radix.hi', n);
  const hist = scratchU32('radix.hist', 4 * RADIX).fill(0);
  for (let j = 0; j < n; j++) {
    const i = order[j];
    const l = w[2 * i];
    const h = w[2 * i + 1];
    lo[j] = l;
    hi[j] = h;
    hist[l & 0xffff]++;
    hist[RADIX + (l >>> 16)]++;
    hist[2 * RADIX + (h & 0xffff)]++;
    hist[3 * RADIX + (h >>> 16)]++;
  }
  let src = scratchU32('radix.src', n);
  src.set(order);
  let dst = scratchU32('radix.dst', n);
  let lo2 = scratchU32('radix.lo2', n);
  let hi2 = scratchU32('radix.hi2', n);
  const at = scratchF64('radix.at', RADIX);
  for (let d = 0; d < 4; d++) {
    const base = d * RADIX;
    // A digit shared by every key does not reorder anything.
    let used = 0;
    for (let v = 0; v < RADIX && used < 2; v++) if (hist[base + v] !== 0) used++;
    if (used < 2) continue;
    let sum = 0;
    for (let v = 0; v < RADIX; v++) {
      at[v] = sum;
      sum += hist[base + v];
    }
    const word = d < 2 ? lo : hi;
    const shift = d % 2 === 0 ? 0 : 16;
    for (let j = 0; j < n; j++) {
      const p = at[(word[j] >>> shift) & 0xffff]++;
      dst[p] = src[j];
      lo2[p] = lo[j];
      hi2[p] = hi[j];
    }
    [src, dst] = [dst, src];
    [lo, lo2] = [lo2, lo];
    [hi, hi2] = [hi2, hi];
  }
  return isScratch(src) ? src.slice() : src;
}

/** Reorders `order` stably by `keys[j]` (the key of `order[j]`, a whole number ≤ maxKey < 2^32). */
export function stableSortByKeys(order: Uint32Array, keys: Uint32Array, maxKey: number): Uint32Array {
  const n = order.length;
  if (maxKey < 1 << 20) {
    const at = new Uint32Array(maxKey + 2);
    for (let j = 0; j < n; j++) at[keys[j] + 1]++;
    for (let d = 0; d <= maxKey; d++) at[d + 1] += at[d];
    const out = new Uint32Array(n);
    for (let j = 0; j < n; j++) out[at[keys[j]]++] = order[j];
    return out;
  }
  // Two 16-bit passes, the keys carried along.
  const at = new Float64Array(RADIX);
  let src = order;
  let sk = keys;
  for (const shift of [0, 16]) {
    at.fill(0);
    for (let j = 0; j < n; j++) at[(sk[j] >>> shift) & 0xffff]++;
    let sum = 0;
    for (let v = 0; v < RADIX; v++) {
      const c = at[v];
      at[v] = sum;
      sum += c;
    }
    const dst = new Uint32Array(n);
    const dk = new Uint32Array(n);
    for (let j = 0; j < n; j++) {
      const p = at[(sk[j] >>> shift) & 0xffff]++;
      dst[p] = src[j];
      dk[p] = sk[j];
    }
    src = dst;
    sk = dk;
  }
  return src;
}
