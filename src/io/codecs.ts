// Decoders for compressed inputs. Arrow IPC body compression: apache-arrow ships a registry but no
// codecs; pandas/pyarrow write LZ4-frame Feather by default, ZSTD is the other codec the format
// allows. Parquet: hyparquet-compressors, with ZSTD replaced by ours. Our own LZ4 frame decoder
// (lz4.ts) and the reference ZSTD decoder in wasm (zstd.ts, embedded in the JS) run in every bundle.
import { CompressionType, compressionRegistry } from 'apache-arrow';
import type { Compressors } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { decompressLz4Frames } from './lz4.js';
import { decompressZstd, decompressZstdFrames, initZstd } from './zstd.js';

/** Parquet codecs; valid once initZstd() (or registerIpcCodecs()) has resolved. */
export const parquetCompressors: Compressors = { ...(compressors as unknown as Compressors), ZSTD: decompressZstd };

export { initZstd };

let registered = false;

/** Registers the IPC decoders; await it before reading (the ZSTD wasm compiles once). */
export async function registerIpcCodecs(): Promise<void> {
  if (!registered) {
    registered = true;
    // Only decoders: we never write compressed IPC, and apache-arrow validates encoders eagerly.
    if (!compressionRegistry.get(CompressionType.LZ4_FRAME)) {
      compressionRegistry.set(CompressionType.LZ4_FRAME, { decode: decompressLz4Frames });
    }
    if (!compressionRegistry.get(CompressionType.ZSTD)) {
      compressionRegistry.set(CompressionType.ZSTD, { decode: decompressZstdFrames });
    }
  }
  await initZstd();
}

