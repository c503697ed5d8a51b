// ZSTD for Parquet pages and Arrow IPC bodies: the reference zstd decoder compiled to wasm (zstddec;
// its wasm is embedded in the JS, so every bundle carries it with no file to ship). fzstd, the pure-JS
// decoder hyparquet-compressors brings, loops forever on some damaged frames
// (test/fixtures/zstd-huffman-loop.parquet); the reference decoder rejects them.
import { ZSTDDecoder } from 'zstddec';

const decoder = new ZSTDDecoder();
let ready: Promise<void> | undefined;
let loaded = false;

/** Compiles the wasm once; await it before the first decompress call. */
export function initZstd(): Promise<void> {
  ready ??= decoder.init().then(() => {
    loaded = true;
  });
  return ready;
}

/** Larger outputs are refused rather than handed to the wasm allocator, which cannot report failure. */
const MAX_OUTPUT = 2 ** 30;

/** Decompresses to exactly `size` bytes (a Parquet page header's size), or throws naming what is wrong. */
export function decompressZstd(input: Uint8Array, size: number): Uint8Array {
  const { exact, bound } = frameSizes(input);
  if (exact !== undefined && exact !== size) throw new Error(`corrupt ZSTD data: the frames hold ${exact} bytes, ${size} expected`);
  if (size > bound) throw new Error(`corrupt ZSTD data: the blocks hold at most ${bound} bytes, ${size} expected`);
  return run(input, size, size);
}

/**
 * Decompresses data whose size only the frames tell: Arrow IPC bodies. Their int64 length prefix is
 * not trusted, because apache-arrow's own writer (21.2.0) puts the compressed length there.
 */
export function decompressZstdFrames(input: Uint8Array): Uint8Array {
  const { exact, bound } = frameSizes(input);
  return run(input, exact ?? bound, exact);
}

function run(input: Uint8Array, capacity: number, expected: number | undefined): Uint8Array {
  if (!loaded) throw new Error('ZSTD decoder used before initZstd() finished');
  if (capacity > MAX_OUTPUT) throw new Error(`ZSTD data of up to ${capacity} bytes is more than this reader decompresses at once (${MAX_OUTPUT})`);
  if (capacity === 0) return new Uint8Array(0);
  // zstddec reports a decoder error as an empty output rather than throwing.
  const out = decoder.decode(input, capacity);
  if (out.length === 0 || (expected !== undefined && out.length !== expected) || out.length > capacity) {
    throw new Error(`corrupt ZSTD data: ${out.length === 0 ? 'the decoder refused it' : `${out.length} bytes`}${expected === undefined ? '' : `, ${expected} expected`}`);
  }
  return out;
}

const DICT_ID_BYTES = [0, 1, 2, 4];
const FCS_BYTES = [0, 2, 4, 8];
const MAX_BLOCK = 128 * 1024;

/**
 * Walks the frame and block headers (RFC 8878 §3.1) without decoding: the exact content size when
 * every frame records it, and an upper bound from the block sizes (a compressed block holds at most
 * 128 KiB). Throws when the headers do not fit the bytes.
 */
function frameSizes(b: Uint8Array): { exact: number | undefined; bound: number } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let at = 0;
  let exact: number | undefined = 0;
  let bound = 0;
  const need = (n: number) => {
    if (at + n > b.length) throw new Error(`corrupt ZSTD data: headers run past the end of its ${b.length} bytes`);
  };
  while (at < b.length) {
    need(4);
    const magic = v.getUint32(at, true);
    at += 4;
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      need(4); // skippable frame
      at += 4 + v.getUint32(at, true);
      need(0);
      continue;
    }
    if (magic !== 0xfd2fb528) throw new Error(`corrupt ZSTD data: no frame magic at byte ${at - 4}`);
    need(1);
    const fhd = b[at++]!;
    const single = (fhd >> 5) & 1;
    const flag = fhd >> 6;
    const fcsBytes = flag === 0 ? single : FCS_BYTES[flag]!;
    at += (single ? 0 : 1) + DICT_ID_BYTES[fhd & 3]!;
    need(fcsBytes);
    if (fcsBytes === 0) exact = undefined;
    else {
      const fcs = fcsBytes === 1 ? b[at]! : fcsBytes === 2 ? v.getUint16(at, true) + 256 : fcsBytes === 4 ? v.getUint32(at, true) : Number(v.getBigUint64(at, true));
      if (exact !== undefined) exact += fcs;
    }
    at += fcsBytes;
    for (let last = 0; !last; ) {
      need(3);
      const h = b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);
      at += 3;
      last = h & 1;
      const type = (h >> 1) & 3;
      const size = h >>> 3;
      if (type === 3) throw new Error(`corrupt ZSTD data: reserved block type at byte ${at - 3}`);
      if (size > MAX_BLOCK) throw new Error(`corrupt ZSTD data: a block of ${size} bytes at byte ${at - 3}`);
      const stored = type === 1 ? 1 : size;
      need(stored);
      at += stored;
      bound += type === 2 ? MAX_BLOCK : size;
    }
    if (fhd & 4) at += 4; // content checksum
    need(0);
  }
  return { exact, bound };
}
