// Where a dataset is read from: the one small interface the dataset reader (read.ts) needs, with a
// local-folder and an http(s) implementation. Buckets (s3://, gs://) plug in here: implement
// `ReadSource` and add a branch to `openSource`. Keys are '/'-separated paths relative to the dataset
// root ("info", "by_id/12", "spatial0/0_0_0", "by_id/0.shard").
import { open, readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';

export interface ReadSource {
  /** What to call the dataset in messages (the folder or URL as given). */
  readonly name: string;
  /** The whole object, or null when there is none. */
  read(key: string): Promise<Uint8Array | null>;
  /** Size in bytes of the object, or null when there is none. */
  size(key: string): Promise<number | null>;
  /** `length` bytes from `start` (all of them, else it throws). */
  readRange(key: string, start: number, length: number): Promise<Uint8Array>;
  /**
   * Names of the objects directly under folder `prefix` (no trailing '/'), sorted; null when the
   * source cannot list (plain http). Readers then enumerate the names neuroglancer would request.
   */
  list(prefix: string): Promise<string[] | null>;
}

const missing = (e: unknown) => {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
};

export function localSource(dir: string): ReadSource {
  const root = path.resolve(dir);
  const file = (key: string) => path.join(root, ...key.split('/'));
  return {
    name: dir,
    async read(key) {
      try {
        return await readFile(file(key));
      } catch (e) {
        if (missing(e)) return null;
        throw e;
      }
    },
    async size(key) {
      try {
        const s = await stat(file(key));
        return s.isFile() ? s.size : null;
      } catch (e) {
        if (missing(e)) return null;
        throw e;
      }
    },
    async readRange(key, start, length) {
      const fh = await open(file(key), 'r');
      try {
        const b = Buffer.alloc(length);
        const { bytesRead } = await fh.read(b, 0, length, start);
        if (bytesRead !== length) throw new Error(`${key}: short read at byte ${start} (${bytesRead} of ${length} bytes)`);
        return b;
      } finally {
        await fh.close();
      }
    },
    async list(prefix) {
      try {
        const entries = await readdir(file(prefix), { withFileTypes: true });
        return entries.filter((e) => e.isFile()).map((e) => e.name).sort();
      } catch (e) {
        if (missing(e)) return [];
        throw e;
      }
    },
  };
}

/** An http(s) dataset: GET for objects (404 = none), Range requests for parts of shards. */
export function httpSource(url: string, fetchImpl: typeof fetch = fetch): ReadSource {
  const base = url.replace(/\/+$/, '');
  const at = (key: string) => `${base}/${key.split('/').map(encodeURIComponent).join('/')}`;
  const fail = (key: string, r: Response) => new Error(`${at(key)}: HTTP ${r.status} ${r.statusText}`.trim());
  return {
    name: url,
    async read(key) {
      const r = await fetchImpl(at(key));
      if (r.status === 404 || r.status === 403) return null; // buckets answer 403 for a missing object without list rights
      if (!r.ok) throw fail(key, r);
      return new Uint8Array(await r.arrayBuffer());
    },
    async size(key) {
      const r = await fetchImpl(at(key), { method: 'HEAD' });
      if (r.status === 404 || r.status === 403) return null;
      if (!r.ok) throw fail(key, r);
      const n = Number(r.headers.get('content-length'));
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${at(key)}: no Content-Length in the answer to HEAD`);
      return n;
    },
    async readRange(key, start, length) {
      if (length === 0) return new Uint8Array(0);
      const r = await fetchImpl(at(key), { headers: { range: `bytes=${start}-${start + length - 1}` } });
      if (!r.ok) throw fail(key, r);
      const body = new Uint8Array(await r.arrayBuffer());
      // A server that ignores Range answers 200 with the whole object.
      const part = r.status === 206 ? body : body.subarray(start, start + length);
      if (part.length !== length) throw new Error(`${at(key)}: asked for ${length} bytes at ${start}, got ${part.length}`);
      return part;
    },
    async list() {
      return null;
    },
  };
}

/** A local folder, or an http(s) URL (with or without neuroglancer's `precomputed://` prefix). */
export function openSource(dirOrUrl: string): ReadSource {
  const s = dirOrUrl.replace(/^precomputed:\/\//, '');
  if (/^https?:\/\//i.test(s)) return httpSource(s);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s) && !/^file:\/\//i.test(s)) {
    throw new Error(`${dirOrUrl}: cannot read this kind of URL (local folders and http(s) URLs are supported)`);
  }
  return localSource(s.startsWith('file://') ? new URL(s).pathname : s);
}
