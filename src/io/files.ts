// File checks shared by the readers: a missing or unreadable file is an InputError, not an ENOENT stack.
// A remote input (http(s)://, s3://, gs://) is opened here too, as a file handle over ranged reads
// (remote.ts), so the readers read local files and URLs alike.
import { createReadStream, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { InputError, describeCause } from './errors.js';
import { isRemote, openRemoteInput, remoteHandle } from './remote.js';

export async function statOrThrow(path: string) {
  try {
    const s = await fsp.stat(path);
    if (!s.isFile()) throw new InputError(s.isDirectory() ? 'this is a folder, not a file' : 'not a regular file', { file: path });
    return s;
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? 'no such file' : `cannot open the file (${describeCause(e)})`, { file: path });
  }
}

/** The size of an input: a local file's (stat) or a remote object's (HEAD). */
export async function inputBytes(path: string): Promise<number> {
  if (!isRemote(path)) return (await statOrThrow(path)).size;
  const { obj, size } = await openRemoteInput(path);
  obj.close();
  return size;
}

/**
 * An input opened for reading at any offset: a local file's handle, or for a URL a handle whose
 * reads are ranged requests (through a cache of `block`-byte blocks when given). The caller closes it.
 */
export async function openInput(path: string, block?: number): Promise<{ size: number; handle: FileHandle }> {
  if (isRemote(path)) {
    const { obj, size } = await openRemoteInput(path);
    return { size, handle: remoteHandle(obj, size, block) as unknown as FileHandle };
  }
  const { size } = await statOrThrow(path);
  return { size, handle: await fsp.open(path, 'r') };
}

/** An input read from its start as a stream of bytes (a remote one is not downloaded first). */
export async function openInputStream(path: string, highWaterMark: number): Promise<{ size: number; stream: Readable & { bytesRead: number } }> {
  if (isRemote(path)) {
    const { obj, size } = await openRemoteInput(path);
    const stream = obj.stream(size);
    stream.once('close', () => obj.close());
    return { size, stream };
  }
  const { size } = await statOrThrow(path);
  return { size, stream: createReadStream(path, { highWaterMark }) };
}
