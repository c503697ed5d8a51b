// LZ4 frame decoder (the format Arrow IPC uses for LZ4_FRAME body compression), following the
// LZ4 frame and block format descriptions. Written here because the small npm decoders we tried
// misplace block checksums; this one checks every bound and throws on corrupt input instead of
// returning wrong bytes.

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const BLOCK_MAX = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20];
const MIN_MATCH = 4;

class Output {
  buf: Uint8Array;
  len = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(Math.max(size, 16));
  }
  /** Room for `extra` more bytes; `exact` when the final size is known (no slack to slice off). */
  reserve(extra: number, exact = false): void {
    if (this.len + extra <= this.buf.length) return;
    let size = exact ? this.len + extra : this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
  }
}

function corrupt(what: string): Error {
  return new Error(`corrupt LZ4 data: ${what}`);
}

function u32(src: Uint8Array, i: number): number {
  if (i + 4 > src.length) throw corrupt('truncated');
  return (src[i] | (src[i + 1] << 8) | (src[i + 2] << 16) | (src[i + 3] << 24)) >>> 0;
}

/** Decodes one or more concatenated LZ4 frames (skippable frames are skipped). */
export function decompressLz4Frames(src: Uint8Array): Uint8Array {
  const out = new Output(src.length * 2);
  let i = 0;
  while (i < src.length) {
    const magic = u32(src, i);
    if ((magic & SKIPPABLE_MASK) === SKIPPABLE_MAGIC) {
      i += 8 + u32(src, i + 4);
      continue;
    }
    if (magic !== FRAME_MAGIC) throw corrupt('bad frame magic');
    i = decodeFrame(src, i + 4, out);
  }
  if (i > src.length) throw corrupt('truncated');
  return out.buf.length === out.len ? out.buf : out.buf.slice(0, out.len);
}

function decodeFrame(src: Uint8Array, i: number, out: Output): number {
  if (i + 3 > src.length) throw corrupt('truncated frame header');
  const flg = src[i++];
  const bd = src[i++];
  if (flg >> 6 !== 1) throw corrupt('unsupported frame version');
  const blockChecksum = (flg & 0x10) !== 0;
  const hasContentSize = (flg & 0x08) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  if (flg & 0x01) throw corrupt('frames with a dictionary id are not supported');
  const blockMax = BLOCK_MAX[(bd >> 4) & 7];
  if (!blockMax) throw corrupt('bad block size');
  const start = out.len;
  let contentSize = -1;
  if (hasContentSize) {
    if (i + 8 > src.length) throw corrupt('truncated frame header');
    contentSize = u32(src, i) + u32(src, i + 4) * 2 ** 32;
    out.reserve(contentSize, true);
    i += 8;
  }
  i++; // header checksum
  const limit = contentSize >= 0 ? start + contentSize : Infinity;
  for (;;) {
    const word = u32(src, i);
    i += 4;
    if (word === 0) break; // end mark
    const size = word & 0x7fffffff;
    if (size > blockMax || i + size > src.length) throw corrupt('bad block size');
    if (word & 0x80000000) {
      if (out.len + size > limit) throw corrupt('more data than the frame header says');
      out.reserve(size);
      out.buf.set(src.subarray(i, i + size), out.len);
      out.len += size;
    } else {
      const room = Math.min(blockMax, limit - out.len);
      out.reserve(room);
      out.len = decodeBlock(src, i, i + size, out.buf, out.len, out.len + room);
    }
    i += size + (blockChecksum ? 4 : 0);
  }
  if (contentChecksum) i += 4;
  if (i > src.length) throw corrupt('truncated');
  if (contentSize >= 0 && out.len - start !== contentSize) throw corrupt('content size mismatch');
  return i;
}

/** Decodes one LZ4 block from src[s, end) into dst at d (limit: dEnd); returns the new end of output. */
export function decodeBlock(src: Uint8Array, s: number, end: number, dst: Uint8Array, d: number, dEnd: number): number {
  while (s < end) {
    const token = src[s++];
    let literals = token >> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (s >= end) throw corrupt('truncated literal length');
        b = src[s++];
        literals += b;
      } while (b === 255);
    }
    if (s + literals > end || d + literals > dEnd) throw corrupt('literals out of bounds');
    dst.set(src.subarray(s, s + literals), d);
    s += literals;
    d += literals;
    if (s === end) break; // the last sequence has literals only
    if (s + 2 > end) throw corrupt('truncated match offset');
    const offset = src[s] | (src[s + 1] << 8);
    s += 2;
    if (offset === 0 || offset > d) throw corrupt('bad match offset');
    let length = token & 15;
    if (length === 15) {
      let b: number;
      do {
        if (s >= end) throw corrupt('truncated match length');
        b = src[s++];
        length += b;
      } while (b === 255);
    }
    length += MIN_MATCH;
    if (d + length > dEnd) throw corrupt('match out of bounds');
    let from = d - offset;
    if (offset >= length) {
      dst.copyWithin(d, from, from + length);
      d += length;
    } else {
      for (const stop = d + length; d < stop; ) dst[d++] = dst[from++]; // overlapping copy
    }
  }
  return d;
}
