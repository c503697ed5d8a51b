// gzip for small values (by_id records, small by_rel entries): one deflate block with the fixed
// Huffman codes and greedy LZ77 matching, or a stored block when that is smaller. zlib costs
// 10–50 µs per call to set up and tear down its state, which for millions of 30-byte records is
// most of an export; this encoder reuses its tables and needs about a microsecond.
// The output is an ordinary gzip member (RFC 1951/1952) that any inflater reads.

const HASH_BITS = 12;
const HASH_SIZE = 1 << HASH_BITS;
const MAX_MATCH = 258;
const MIN_MATCH = 3;
/** Largest value this encoder takes; larger ones go to zlib. */
export const SMALL_GZIP_MAX = 8192;

// Fixed literal/length code of each symbol, bit-reversed for the LSB-first bit writer.
const LIT_CODE = new Uint16Array(288);
const LIT_LEN = new Uint8Array(288);
function reverse(code: number, len: number): number {
  let r = 0;
  for (let i = 0; i < len; i++) r = (r << 1) | ((code >>> i) & 1);
  return r;
}
for (let s = 0; s < 288; s++) {
  const [code, len] = s < 144 ? [0x30 + s, 8] : s < 256 ? [0x190 + s - 144, 9] : s < 280 ? [s - 256, 7] : [0xc0 + s - 280, 8];
  LIT_CODE[s] = reverse(code, len);
  LIT_LEN[s] = len;
}
const DIST_CODE_REV = new Uint8Array(30);
for (let d = 0; d < 30; d++) DIST_CODE_REV[d] = reverse(d, 5);

const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
// length (3..258) → index into LENGTH_BASE; distance (1..SMALL_GZIP_MAX) → index into DIST_BASE
const LENGTH_INDEX = new Uint8Array(MAX_MATCH + 1);
for (let i = 0; i < 29; i++) {
  const end = i === 28 ? 259 : LENGTH_BASE[i + 1];
  for (let l = LENGTH_BASE[i]; l < end && l <= MAX_MATCH; l++) LENGTH_INDEX[l] = i;
}
LENGTH_INDEX[258] = 28;
const DIST_INDEX = new Uint8Array(SMALL_GZIP_MAX + 1);
for (let i = 0; i < 30; i++) {
  const end = i === 29 ? 32769 : DIST_BASE[i + 1];
  for (let d = DIST_BASE[i]; d < end && d <= SMALL_GZIP_MAX; d++) DIST_INDEX[d] = i;
}

// CRC-32 by table: for values of tens of bytes a JS loop is cheaper than a call into zlib.
const CRC_TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLE[n] = c;
}
export function crc32(data: Uint8Array, from: number, n: number): number {
  let c = -1;
  for (let i = from; i < from + n; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

// Reused across calls: hash heads stamped with a call number instead of being cleared.
const head = new Int32Array(HASH_SIZE);
const stamp = new Uint32Array(HASH_SIZE);
let generation = 0;
const scratch = new Uint8Array(2 * SMALL_GZIP_MAX + 64);

/** Bytes gzipSmallInto may need at `out[at..]` for a value of n bytes. */
export function gzipSmallBound(n: number): number {
  return n + (n >>> 3) + 64;
}

/** A gzip member holding `data` (at most SMALL_GZIP_MAX bytes). */
export function smallGzip(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(gzipSmallBound(data.length));
  return out.slice(0, gzipSmallInto(data, 0, data.length, out, 0));
}

/**
 * Writes a gzip member holding src[from, from+n) into out at `at` (room: gzipSmallBound(n)) and
 * returns the end offset. No allocation: millions of records go through here.
 */
export function gzipSmallInto(data: Uint8Array, from: number, n: number, out: Uint8Array, at: number): number {
  if (n > SMALL_GZIP_MAX) throw new RangeError('smallGzip takes values up to SMALL_GZIP_MAX bytes');
  generation = (generation + 1) >>> 0;
  if (generation === 0) {
    stamp.fill(0);
    generation = 1;
  }
  // gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS = Unix (as zlib writes it).
  out[at] = 0x1f;
  out[at + 1] = 0x8b;
  out[at + 2] = 8;
  out[at + 3] = 0;
  out[at + 4] = out[at + 5] = out[at + 6] = out[at + 7] = 0;
  out[at + 8] = 0;
  out[at + 9] = 3;
  const body = at + 10;
  let pos = body;
  // LSB-first bit writer, written out inline: a closure over these would keep them in a heap
  // context and cost an allocation per call. At most 25 bits are pending before each flush.
  let bits = 1 | (1 << 1); // BFINAL, BTYPE = fixed Huffman
  let nbits = 3;
  const end = from + n;
  let i = from;
  while (i < end) {
    let matchLen = 0;
    let dist = 0;
    if (i + MIN_MATCH <= end) {
      const h = (Math.imul((data[i] << 16) | (data[i + 1] << 8) | data[i + 2], 0x9e3779b1) >>> (32 - HASH_BITS)) & (HASH_SIZE - 1);
      if (stamp[h] === generation) {
        const cand = head[h];
        const max = Math.min(MAX_MATCH, end - i);
        let l = 0;
        while (l < max && data[cand + l] === data[i + l]) l++;
        if (l >= MIN_MATCH) {
          matchLen = l;
          dist = i - cand;
        }
      }
      stamp[h] = generation;
      head[h] = i;
    }
    if (matchLen) {
      const li = LENGTH_INDEX[matchLen];
      const sym = 257 + li;
      bits |= LIT_CODE[sym] << nbits;
      nbits += LIT_LEN[sym];
      bits |= (matchLen - LENGTH_BASE[li]) << nbits;
      nbits += LENGTH_EXTRA[li];
      while (nbits >= 8) {
        out[pos++] = bits & 0xff;
        bits >>>= 8;
        nbits -= 8;
      }
      const di = DIST_INDEX[dist];
      bits |= DIST_CODE_REV[di] << nbits;
      nbits += 5;
      bits |= (dist - DIST_BASE[di]) << nbits;
      nbits += DIST_EXTRA[di];
      while (nbits >= 8) {
        out[pos++] = bits & 0xff;
        bits >>>= 8;
        nbits -= 8;
      }
      // Index the positions inside the match so later repeats find them.
      for (let k = i + 1; k < i + matchLen && k + MIN_MATCH <= end; k++) {
        const h = (Math.imul((data[k] << 16) | (data[k + 1] << 8) | data[k + 2], 0x9e3779b1) >>> (32 - HASH_BITS)) & (HASH_SIZE - 1);
        stamp[h] = generation;
        head[h] = k;
      }
      i += matchLen;
    } else {
      const b = data[i];
      bits |= LIT_CODE[b] << nbits;
      nbits += LIT_LEN[b];
      while (nbits >= 8) {
        out[pos++] = bits & 0xff;
        bits >>>= 8;
        nbits -= 8;
      }
      i++;
    }
  }
  bits |= LIT_CODE[256] << nbits; // end of block
  nbits += LIT_LEN[256];
  while (nbits >= 8) {
    out[pos++] = bits & 0xff;
    bits >>>= 8;
    nbits -= 8;
  }
  if (nbits > 0) out[pos++] = bits & 0xff;
  if (pos - body > n + 5) {
    // A stored block is smaller (incompressible bytes cost 9 bits each in the fixed code).
    pos = body;
    out[pos++] = 0x01; // BFINAL, BTYPE = stored, padded to the byte
    out[pos++] = n & 0xff;
    out[pos++] = n >>> 8;
    out[pos++] = ~n & 0xff;
    out[pos++] = (~n >>> 8) & 0xff;
    for (let k = 0; k < n; k++) out[pos + k] = data[from + k];
    pos += n;
  }
  const crc = crc32(data, from, n);
  out[pos++] = crc & 0xff;
  out[pos++] = (crc >>> 8) & 0xff;
  out[pos++] = (crc >>> 16) & 0xff;
  out[pos++] = crc >>> 24;
  out[pos++] = n & 0xff;
  out[pos++] = (n >>> 8) & 0xff;
  out[pos++] = (n >>> 16) & 0xff;
  out[pos++] = n >>> 24;
  return pos;
}
