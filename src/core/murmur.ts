// MurmurHash3_x86_128 of one 8-byte little-endian key with seed 0, as the sharded format uses to
// pick a key's shard and minishard. Only the low 64 bits (h1 | h2 << 32) are needed. 32-bit integer
// math only: this runs once per key on hot paths, where BigInt would dominate.

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/**
 * Hashes the key whose low and high 32-bit words are `lo` and `hi`; writes the low 64 bits of the
 * hash into `out[0]` (low word) and `out[1]` (high word), both unsigned.
 */
export function murmurHash3X86_128Low64(lo: number, hi: number, out: Uint32Array | number[]): void {
  // 8 bytes = no full 16-byte block; the tail puts bytes 4..7 in k2 and bytes 0..3 in k1.
  let h1 = 0;
  let h2 = 0;
  let h3 = 0;
  let h4 = 0;
  let k2 = hi | 0;
  k2 = Math.imul(k2, C2);
  k2 = rotl(k2, 16);
  k2 = Math.imul(k2, C3);
  h2 ^= k2;
  let k1 = lo | 0;
  k1 = Math.imul(k1, C1);
  k1 = rotl(k1, 15);
  k1 = Math.imul(k1, C2);
  h1 ^= k1;
  // finalisation: length 8 into every lane
  h1 ^= 8;
  h2 ^= 8;
  h3 ^= 8;
  h4 ^= 8;
  h1 = (h1 + h2) | 0;
  h1 = (h1 + h3) | 0;
  h1 = (h1 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2) | 0;
  h1 = (h1 + h3) | 0;
  h1 = (h1 + h4) | 0;
  h2 = (h2 + h1) | 0;
  out[0] = h1 >>> 0;
  out[1] = h2 >>> 0;
}

/** Convenience form for tests and cold paths. */
export function murmurHash3X86_128Low64Big(key: bigint): bigint {
  const out = [0, 0];
  murmurHash3X86_128Low64(Number(key & 0xffffffffn), Number((key >> 32n) & 0xffffffffn), out);
  return (BigInt(out[1]) << 32n) | BigInt(out[0]);
}
