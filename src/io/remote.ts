// Objects that are not local files: http(s) URLs and bucket objects (s3://, gs://), read by byte range
// or streamed from the start. One small interface (`RemoteObject`) with an http(s) and a bucket
// implementation; the table readers (an input file: files.ts) and the dataset reader
// (roundtrip/source.ts) both use it. The bucket one goes through the lazily loaded bucket bundle
// (storage/index.ts), so the cloud SDK is only loaded for a bucket URL.
import { Readable } from 'node:stream';
import { ExportError } from '../core/errors';
import { loadBuckets, parseBucketUrl } from '../storage/index';
import type { ObjectStore } from '../storage/objects';

export interface RemoteObject {
  /** The URL, for messages. */
  readonly url: string;
  /** Size in bytes, or null when there is no such object. */
  size(): Promise<number | null>;
  /** The whole object, or null when there is none. */
  get(): Promise<Uint8Array | null>;
  /** `length` bytes from `start` (all of them, else it throws). */
  read(start: number, length: number): Promise<Uint8Array>;
  /** The object from its first byte, streamed (`size` is its known size); `bytesRead` counts what came. */
  stream(size: number): Readable & { bytesRead: number };
  /** Frees the connection pool of a bucket client. */
  close(): void;
}

/** Is `s` an input or dataset URL read remotely (http(s)://, s3://, gs://)? */
export function isRemote(s: string): boolean {
  return /^(https?|s3|gs):\/\//i.test(s);
}

/** The path part of a remote URL (for its extension), without query or fragment. */
export function remotePath(url: string): string {
  return /^https?:/i.test(url) ? new URL(url).pathname : url.replace(/[?#].*$/, '');
}

const NETWORK = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET'];

/** Attempts of one request when the connection fails (a kept-alive socket the server just closed, a reset). */
const ATTEMPTS = 3;

/**
 * `fn` (a request and the reading of its body), again after a failed connection or a body cut
 * short, then failing as one line naming the host and the reason; http errors are not retried.
 */
async function retrying<T>(url: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof ExportError) throw e;
      const code = (e as { cause?: { code?: string } }).cause?.code ?? (e as { code?: string }).code;
      if (attempt >= ATTEMPTS || !code || !NETWORK.includes(code)) throw requestFailure(url, e);
      await new Promise((r) => setTimeout(r, 100 * 3 ** (attempt - 1)));
    }
  }
}

function requestFailure(url: string, e: unknown): ExportError {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (e as { code?: string }).code;
  const host = (() => {
    try {
      return new URL(url).host;
    } catch {
      return url;
    }
  })();
  if (code && NETWORK.includes(code)) return new ExportError(`Cannot read ${url}: cannot reach ${host} (${code}) after retrying; check the URL and the network`);
  return new ExportError(`Cannot read ${url}: ${cause?.message ?? (e as Error).message}`);
}

function httpFailure(url: string, r: Response): ExportError {
  const what = `HTTP ${r.status}${r.statusText ? ` ${r.statusText}` : ''}`;
  const hint = r.status === 404 ? 'check the URL' : r.status === 401 || r.status === 403 ? 'access denied; check the URL and that it is readable without credentials' : 'try again later or check the server';
  return new ExportError(`Cannot read ${url}: ${what}; ${hint}`);
}

/** `body` if it has the `length` bytes asked for at `start`, else one line saying the object changed. */
function exactly(url: string, start: number, length: number, body: Uint8Array): Uint8Array {
  if (body.length !== length) throw new ExportError(`Cannot read ${url}: asked for ${length} bytes at ${start}, got ${body.length} (did it change while being read?)`);
  return body;
}

/**
 * An http(s) object: HEAD for its size, GET (with Range) for bytes. `missing` are the statuses that
 * mean "no such object" (a bucket behind https answers 403 for a missing key without list rights).
 */
export function httpObject(url: string, opts: { missing?: number[]; fetchImpl?: typeof fetch } = {}): RemoteObject {
  const missing = opts.missing ?? [404];
  const fetchImpl = opts.fetchImpl ?? fetch;
  return {
    url,
    size: () =>
      retrying(url, async () => {
        const r = await fetchImpl(url, { method: 'HEAD' });
        if (missing.includes(r.status)) return null;
        if (!r.ok) throw httpFailure(url, r);
        const n = Number(r.headers.get('content-length'));
        if (r.headers.get('content-length') === null || !Number.isSafeInteger(n) || n < 0) throw new ExportError(`Cannot read ${url}: no Content-Length in the answer to HEAD`);
        return n;
      }),
    get: () =>
      retrying(url, async () => {
        const r = await fetchImpl(url);
        if (missing.includes(r.status)) {
          await r.body?.cancel();
          return null;
        }
        if (!r.ok) throw httpFailure(url, r);
        return new Uint8Array(await r.arrayBuffer());
      }),
    async read(start, length) {
      if (length === 0) return new Uint8Array(0);
      const body = await retrying(url, async () => {
        const r = await fetchImpl(url, { headers: { range: `bytes=${start}-${start + length - 1}` } });
        if (!r.ok) throw httpFailure(url, r);
        // A server that ignores Range answers 200 with the whole object.
        const all = new Uint8Array(await r.arrayBuffer());
        return r.status === 206 ? all : all.subarray(start, start + length);
      });
      return exactly(url, start, length, body);
    },
    stream() {
      // One GET for the whole object: works whether or not the server supports Range.
      const out = Object.assign(new Readable({ read() {} }), { bytesRead: 0 });
      retrying(url, () => fetchImpl(url)).then(
        async (r) => {
          if (!r.ok || !r.body) return out.destroy(httpFailure(url, r));
          const body = Readable.fromWeb(r.body as import('node:stream/web').ReadableStream<Uint8Array>);
          body.on('data', (c: Buffer) => {
            out.bytesRead += c.length;
            if (!out.push(c)) body.pause();
          });
          out._read = () => body.resume();
          body.on('end', () => out.push(null));
          body.on('error', (e) => out.destroy(new ExportError(`Cannot read ${url}: the download stopped (${(e as Error).message})`)));
          out.on('close', () => body.destroy());
        },
        (e) => out.destroy(e),
      );
      return out;
    },
    close() {},
  };
}

/** Parts of this size are read one after another (two in flight) to stream a bucket object. */
const STREAM_PART = 8 << 20;

/** Streams [0, size) of `obj` as ranged reads of STREAM_PART bytes, the next one already requested. */
function rangedStream(obj: Pick<RemoteObject, 'read'>, size: number): Readable & { bytesRead: number } {
  let bytesRead = 0;
  async function* parts(): AsyncGenerator<Uint8Array> {
    let next: Promise<Uint8Array> | null = null;
    for (let at = 0; at < size; at += STREAM_PART) {
      const current: Promise<Uint8Array> = next ?? obj.read(at, Math.min(STREAM_PART, size - at));
      const following = at + STREAM_PART;
      next = following < size ? obj.read(following, Math.min(STREAM_PART, size - following)) : null;
      next?.catch(() => undefined); // observed when its turn comes
      const part = await current;
      bytesRead += part.length;
      yield part;
    }
  }
  const out = Readable.from(parts(), { objectMode: false });
  return Object.defineProperty(out, 'bytesRead', { get: () => bytesRead }) as Readable & { bytesRead: number };
}

/** An object in a store opened for `store.url`'s bucket. */
export function storeObject(store: ObjectStore, key: string, url: string): RemoteObject {
  const obj: RemoteObject = {
    url,
    size: () => store.size(key),
    get: () => store.get(key),
    async read(start, length) {
      return exactly(url, start, length, await store.getRange(key, start, start + length));
    },
    stream: (size) => rangedStream(obj, size),
    close: () => store.destroy(),
  };
  return obj;
}

/** The store (S3 API client) for a bucket URL, from the lazily loaded bucket bundle. */
export async function openBucketStore(url: string, concurrency = 8): Promise<{ store: ObjectStore; bucket: ReturnType<typeof parseBucketUrl> }> {
  const bucket = parseBucketUrl(url);
  const store = await (await loadBuckets()).openStore(bucket, concurrency);
  return { store, bucket };
}

/**
 * An input file at a URL, checked to exist: its object and size. Every failure is one line naming
 * the URL and what to do (missing object, denied, unreachable endpoint, a URL of another kind).
 */
export async function openRemoteInput(url: string): Promise<{ obj: RemoteObject; size: number }> {
  let obj: RemoteObject;
  let store: ObjectStore | null = null;
  let key = '';
  if (/^https?:\/\//i.test(url)) obj = httpObject(url);
  else {
    const opened = await openBucketStore(url);
    store = opened.store;
    key = opened.bucket.prefix;
    if (key === '') {
      store.destroy();
      throw new ExportError(`${JSON.stringify(url)} names a bucket, not a table file; expected ${opened.bucket.scheme}://${opened.bucket.bucket}/path/table.parquet`);
    }
    obj = storeObject(store, key, opened.bucket.url);
  }
  try {
    const size = await obj.size();
    if (size === null && store) {
      // HEAD cannot tell a missing bucket from a missing key; a listing can (and its error says so).
      try {
        await store.list(key, 1);
      } catch (e) {
        if (/bucket does not exist/.test((e as Error).message)) throw new ExportError((e as Error).message.replace(/^Cannot list/, 'Cannot read'));
      }
    }
    if (size === null) {
      throw new ExportError(
        /^https?:/i.test(url) ? `Cannot read ${url}: HTTP 404 Not Found; check the URL` : `Cannot read ${obj.url}: there is no such object; check the key (and the bucket's listing)`,
      );
    }
    return { obj, size };
  } catch (e) {
    obj.close();
    throw e;
  }
}

/**
 * A file handle over a remote object, as the Parquet and Arrow readers use one (`read`, `stat`,
 * `close`). With `block`, reads go through a small cache of aligned blocks of that size (many
 * small sequential reads become few requests: the Arrow reader); without, each read is one ranged
 * request for exactly its bytes (the Parquet reader asks for whole column chunks).
 */
export function remoteHandle(obj: RemoteObject, size: number, block?: number) {
  const cache = new Map<number, Promise<Uint8Array>>();
  const blockAt = (b: number) => {
    let p = cache.get(b);
    if (!p) {
      p = obj.read(b * block!, Math.min(block!, size - b * block!));
      cache.set(b, p);
      if (cache.size > 4) cache.delete(cache.keys().next().value!);
    }
    return p;
  };
  return {
    fd: -1,
    async stat() {
      return { size };
    },
    async close() {
      cache.clear();
      obj.close();
    },
    async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number; buffer: Uint8Array }> {
      const n = Math.max(0, Math.min(length, size - position));
      if (n === 0) return { bytesRead: 0, buffer };
      if (!block) {
        buffer.set(await obj.read(position, n), offset);
        return { bytesRead: n, buffer };
      }
      let done = 0;
      while (done < n) {
        const at = position + done;
        const b = Math.floor(at / block);
        const data = await blockAt(b);
        const from = at - b * block;
        const take = Math.min(n - done, data.length - from);
        buffer.set(data.subarray(from, from + take), offset + done);
        done += take;
      }
      return { bytesRead: n, buffer };
    },
  };
}
