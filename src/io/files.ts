// File checks shared by the readers: a missing or unreadable file is an InputError, not an ENOENT stack.
import { promises as fsp } from 'node:fs';
import { InputError, describeCause } from './errors.js';

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
