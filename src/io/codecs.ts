// Arrow IPC body compression: apache-arrow ships a registry but no codecs. pandas/pyarrow write
// LZ4-frame Feather by default; ZSTD is the other codec the format allows. Both decoders are pure
// JS so every bundle (Node, worker, webview) can read compressed files: our own LZ4 frame decoder
// (lz4.ts) and fzstd.
import { CompressionType, compressionRegistry } from 'apache-arrow';
import { decompress as zstdDecompress } from 'fzstd';
import { decompressLz4Frames } from './lz4.js';

let registered = false;

export function registerIpcCodecs(): void {
  if (registered) return;
  registered = true;
  // Only decoders: we never write compressed IPC, and apache-arrow validates encoders eagerly.
  if (!compressionRegistry.get(CompressionType.LZ4_FRAME)) {
    compressionRegistry.set(CompressionType.LZ4_FRAME, { decode: decompressLz4Frames });
  }
  if (!compressionRegistry.get(CompressionType.ZSTD)) {
    compressionRegistry.set(CompressionType.ZSTD, { decode: (data) => zstdDecompress(data) });
  }
}
