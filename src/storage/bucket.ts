// A dataset written into a bucket, with the guarantees of the local folder adapted to a store that
// has no rename:
// - before anything is uploaded, an existing dataset under the prefix (an `info`) is refused unless
//   overwrite, and objects that are not a dataset's are refused even with it;
// - objects go up with a bounded number in flight (writes wait for a free slot, so memory stays
//   bounded too), retried with backoff by the client;
// - `info` is held back and uploaded last, once every other object is up: a dataset whose upload
//   stopped halfway has no `info` and does not look complete;
// - with overwrite, the old `info` is deleted before the first upload (from then on the old dataset
//   no longer looks complete), and after the new `info` is up the old dataset's objects that were
//   not rewritten are deleted;
// - a failure or cancel deletes every object this export uploaded, best effort: what could not be
//   deleted is reported through `onWarning`.
import type { FileData, Storage } from '../core/storage';
import { ExportError } from '../core/errors';
import type { ObjectStore } from './objects';
import { objectKey, type BucketUrl } from './url';

/** Keys a dataset of ours (or one interrupted halfway) holds, relative to its prefix. */
const DATASET_KEY = /^(info|by_id\/.+|by_rel_[^/]+\/.+|by_spatial_level_\d+\/.+)$/;

export interface BucketStorageOptions {
  overwrite: boolean;
  /** Uploads in flight at once. */
  concurrency: number;
  onWarning?: (message: string) => void;
}

/** Why the prefix cannot receive a dataset, or null; the keys already there. */
async function inspectTarget(store: ObjectStore, url: BucketUrl, overwrite: boolean): Promise<{ old: string[] }> {
  const base = url.prefix ? `${url.prefix}/` : '';
  const keys = await store.list(base);
  if (keys.length === 0) return { old: [] };
  const rel = keys.map((k) => k.slice(base.length));
  const hasInfo = rel.includes('info');
  if (!overwrite) {
    throw new ExportError(
      hasInfo
        ? `${url.url} already holds a dataset (an info object); choose another prefix or pass overwrite (--overwrite) to replace it`
        : `${url.url} is not empty (${keys.length} object(s), e.g. ${keys[0]}); choose another prefix or pass overwrite (--overwrite) if it is an interrupted export`,
    );
  }
  const foreign = rel.find((k) => !DATASET_KEY.test(k));
  if (foreign !== undefined) {
    throw new ExportError(`${url.url} holds objects that are not part of an annotation dataset (e.g. ${base}${foreign}); refusing to replace them even with overwrite`);
  }
  if (hasInfo) {
    const bytes = await store.get(objectKey(url.prefix, 'info'));
    let type: unknown;
    try {
      type = bytes && JSON.parse(Buffer.from(bytes).toString('utf8'))['@type'];
    } catch {
      type = undefined;
    }
    if (type !== 'neuroglancer_annotations_v1') {
      throw new ExportError(`${url.url} holds an info that is not an annotation dataset's (no neuroglancer_annotations_v1); refusing to replace it even with overwrite`);
    }
  }
  return { old: keys };
}

/** Checks the target before any work (the export re-checks when it opens the storage). */
export async function checkBucketTarget(store: ObjectStore, url: BucketUrl, overwrite: boolean): Promise<void> {
  await inspectTarget(store, url, overwrite);
}

export class BucketStorage implements Storage {
  bytesWritten = 0;
  filesWritten = 0;
  /** Bytes whose upload has completed. */
  bytesUploaded = 0;
  onUploaded?: (bytes: number) => void;
  private readonly uploaded = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly slotWaiters: Array<() => void> = [];
  private failure: unknown = null;
  private info: Uint8Array | null = null;
  private done = false;
  private started = false;

  private constructor(
    readonly store: ObjectStore,
    readonly url: BucketUrl,
    private readonly options: BucketStorageOptions,
    private readonly old: string[],
  ) {}

  static async create(store: ObjectStore, url: BucketUrl, options: BucketStorageOptions): Promise<BucketStorage> {
    const { old } = await inspectTarget(store, url, options.overwrite);
    return new BucketStorage(store, url, options, old);
  }

  private key(relPath: string): string {
    return objectKey(this.url.prefix, relPath);
  }

  /** With overwrite, the old info goes before anything new is uploaded. */
  private async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const info = this.key('info');
    if (this.old.includes(info)) {
      const { failed, reason } = await this.store.deleteMany([info]);
      if (failed.length) throw new ExportError(`Cannot replace the dataset at ${this.url.url}: its info could not be deleted (${reason}); nothing was uploaded`);
    }
  }

  async write(relPath: string, data: FileData): Promise<void> {
    if (this.done) throw new Error('storage already committed or aborted');
    if (this.failure) throw this.failure;
    const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data instanceof Uint8Array ? data : Buffer.concat(data);
    if (relPath === 'info') {
      // Held back: uploaded by commit, after everything else.
      this.info = body;
      this.bytesWritten += body.byteLength;
      this.filesWritten++;
      return;
    }
    await this.start();
    while (this.inFlight.size >= this.options.concurrency) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
      if (this.failure) throw this.failure;
    }
    if (this.done) throw new Error('storage already committed or aborted');
    const key = this.key(relPath);
    this.bytesWritten += body.byteLength;
    this.filesWritten++;
    // Recorded before the request goes out: a failed or cancelled request may still have landed.
    this.uploaded.add(key);
    const job: Promise<void> = this.store.put(key, body, 'application/octet-stream').then(
      () => {
        this.bytesUploaded += body.byteLength;
        this.onUploaded?.(this.bytesUploaded);
      },
      (e) => {
        this.failure ??= e;
      },
    );
    const tracked = job.finally(() => {
      this.inFlight.delete(tracked);
      // After a failure every waiting writer must wake to throw it: no more slots may ever free up.
      if (this.failure) for (const w of this.slotWaiters.splice(0)) w();
      else this.slotWaiters.shift()?.();
    });
    this.inFlight.add(tracked);
  }

  private async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  async commit(): Promise<void> {
    if (this.done) throw new Error('storage already committed or aborted');
    await this.start();
    await this.drain();
    if (this.failure) throw this.failure;
    if (!this.info) throw new Error('commit without an info');
    // Another export may have finished at the same prefix meanwhile.
    if (!this.options.overwrite && (await this.store.size(this.key('info'))) !== null) {
      throw new ExportError(`${this.url.url} received a dataset from elsewhere while this export was uploading; nothing of it was replaced`);
    }
    const info = this.key('info');
    this.uploaded.add(info);
    await this.store.put(info, this.info, 'application/json');
    this.bytesUploaded += this.info.byteLength;
    this.onUploaded?.(this.bytesUploaded);
    this.done = true;
    const stale = this.old.filter((k) => !this.uploaded.has(k));
    if (stale.length) {
      const { failed, reason } = await this.store.deleteMany(stale);
      if (failed.length) {
        this.options.onWarning?.(`The new dataset at ${this.url.url} is complete, but ${failed.length} object(s) of the one it replaced could not be deleted (${reason}); they are unused and can be deleted by hand (e.g. ${failed[0]})`);
      }
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    // Wake writers waiting for a slot; they see `done` and stop.
    for (const w of this.slotWaiters.splice(0)) w();
    await this.drain();
    const keys = [...this.uploaded];
    if (keys.length === 0) return;
    let result: { failed: string[]; reason?: string };
    try {
      result = await this.store.deleteMany(keys);
    } catch (e) {
      result = { failed: keys, reason: (e as Error).message };
    }
    if (result.failed.length) {
      this.options.onWarning?.(
        `The export stopped, and ${result.failed.length} of the ${keys.length} object(s) it uploaded under ${this.url.url} could not be deleted (${result.reason}); there is no info, so it does not look like a dataset, but delete them by hand (e.g. ${result.failed[0]})`,
      );
    }
  }
}
