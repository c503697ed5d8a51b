// Where a dataset is read from: the one small interface the dataset reader (read.ts) needs, with a
// local-folder, an http(s) and a bucket (s3://, gs://) implementation; the last two read objects
// through io/remote.ts, as remote input files are. Keys are '/'-separated paths relative to the dataset
// root ("info", "by_id/12", "spatial0/0_0_0", "by_id/0.shard").
import { open, readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { httpObject, openBucketStore, storeObject } from '../io/remote';
import { objectKey } from '../storage/url';

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
  // Buckets answer 403 for a missing object without list rights.
  const at = (key: string) => httpObject(`${base}/${key.split('/').map(encodeURIComponent).join('/')}`, { missing: [404, 403], fetchImpl });
  return {
    name: url,
    read: (key) => at(key).get(),
    size: (key) => at(key).size(),
    readRange: (key, start, length) => at(key).read(start, length),
    async list() {
      return null;
    },
  };
}

/**
 * A dataset under a bucket prefix (`s3://bucket/prefix`, `gs://…`): objects through the S3 API (the
 * bucket bundle, loaded on first use), folders listed with ListObjects.
 */
export function bucketSource(url: string): ReadSource & { close(): void } {
  const opened = openBucketStore(url);
  opened.catch(() => undefined); // observed by the first read
  const at = async (key: string) => {
    const { store, bucket } = await opened;
    const k = objectKey(bucket.prefix, key);
    return storeObject(store, k, `${bucket.scheme}://${bucket.bucket}/${k}`);
  };
  return {
    name: url,
    read: async (key) => (await at(key)).get(),
    size: async (key) => (await at(key)).size(),
    readRange: async (key, start, length) => (await at(key)).read(start, length),
    async list(prefix) {
      const { store, bucket } = await opened;
      const folder = objectKey(bucket.prefix, prefix);
      const under = folder ? `${folder}/` : '';
      const names = (await store.list(under)).map((k) => k.slice(under.length));
      return names.filter((n) => n !== '' && !n.includes('/')).sort();
    },
    close() {
      opened.then(({ store }) => store.destroy(), () => undefined);
    },
  };
}

/** A local folder, an http(s) URL or a bucket URL (with or without neuroglancer's `precomputed://` prefix). */
export function openSource(dirOrUrl: string): ReadSource {
  const s = dirOrUrl.replace(/^precomputed:\/\//, '');
  if (/^https?:\/\//i.test(s)) return httpSource(s);
  if (/^(s3|gs):\/\//i.test(s)) return bucketSource(s);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s) && !/^file:\/\//i.test(s)) {
    throw new Error(`${dirOrUrl}: cannot read this kind of URL (local folders, http(s), s3:// and gs:// URLs are supported)`);
  }
  return localSource(s.startsWith('file://') ? new URL(s).pathname : s);
}
