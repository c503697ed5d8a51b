// Stable least-significant-digit radix sorts over uint64 keys held as two 32-bit words. The writer
// sorts tens of millions of ids; comparison sorts on BigInt are an order of magnitude slower.

/** The two 32-bit words (low, high) of each uint64, without copying. */
export function words(keys: BigUint64Array): Uint32Array {
  return new Uint32Array(keys.buffer, keys.byteOffset, keys.length * 2);
}

/** Reorders `order` stably by 16-bit digits, least significant first (a digit per pass). */
function radixPasses(order: Uint32Array, digitsOf: Array<(i: number) => number>): Uint32Array {
  const n = order.length;
  let src = order.slice();
  let dst = new Uint32Array(n);
  const counts = new Uint32Array(65537);
  for (const digit of digitsOf) {
    counts.fill(0);
    let first = -1;
    let allSame = true;
    for (let j = 0; j < n; j++) {
      const d = digit(src[j]);
      if (first === -1) first = d;
      else if (d !== first) allSame = false;
      counts[d + 1]++;
    }
    if (allSame) continue; // this digit does not separate anything
    for (let d = 0; d < 65536; d++) counts[d + 1] += counts[d];
    for (let j = 0; j < n; j++) {
      const i = src[j];
      dst[counts[digit(i)]++] = i;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/** Indices 0..n-1 ordered by uint64 key (stable). */
export function argsortU64(keys: BigUint64Array): Uint32Array {
  const n = keys.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return sortByU64(order, keys);
}

/** Reorders `order` stably by `keys[i]` (uint64). */
export function sortByU64(order: Uint32Array, keys: BigUint64Array): Uint32Array {
  const w = words(keys);
  return radixPasses(order, [
    (i) => w[2 * i] & 0xffff,
    (i) => w[2 * i] >>> 16,
    (i) => w[2 * i + 1] & 0xffff,
    (i) => w[2 * i + 1] >>> 16,
  ]);
}

/** Reorders `order` stably by a small non-negative integer key (< 2^32) per index. */
export function stableSortBySmallKey(order: Uint32Array, key: (i: number) => number, maxKey: number): Uint32Array {
  if (maxKey < 1 << 20) {
    const n = order.length;
    const counts = new Uint32Array(maxKey + 2);
    for (let j = 0; j < n; j++) counts[key(order[j]) + 1]++;
    for (let d = 0; d <= maxKey; d++) counts[d + 1] += counts[d];
    const out = new Uint32Array(n);
    for (let j = 0; j < n; j++) {
      const i = order[j];
      out[counts[key(i)]++] = i;
    }
    return out;
  }
  return radixPasses(order, [(i) => key(i) & 0xffff, (i) => key(i) >>> 16]);
}
