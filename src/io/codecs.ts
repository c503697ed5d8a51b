// Arrow IPC body compression: apache-arrow ships a registry but no codecs. pandas/pyarrow write
// LZ4-frame Feather by default; ZSTD is the other codec the format allows. Both decoders are pure
// JS so every bundle (Node, worker, webview) can read compressed files.
import { CompressionType, compressionRegistry } from 'apache-arrow';
import { decompress as zstdDecompress } from 'fzstd';
import * as lz4 from 'lz4js';

let registered = false;

export function registerIpcCodecs(): void {
  if (registered) return;
  registered = true;
  // Only decoders: we never write compressed IPC, and apache-arrow validates encoders eagerly.
  if (!compressionRegistry.get(CompressionType.LZ4_FRAME)) {
    compressionRegistry.set(CompressionType.LZ4_FRAME, { decode: (data) => lz4.decompress(data) as Uint8Array });
  }
  if (!compressionRegistry.get(CompressionType.ZSTD)) {
    compressionRegistry.set(CompressionType.ZSTD, { decode: (data) => zstdDecompress(data) });
  }
}
