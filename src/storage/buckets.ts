// Entry point of dist/buckets.js: everything that needs the cloud SDK, loaded by ./index.ts only
// when a bucket URL is used.
import { BucketStorage, checkBucketTarget, type BucketStorageOptions } from './bucket';
import { S3Store } from './s3';
import { parseBucketUrl, type BucketUrl } from './url';
import type { ObjectStore } from './objects';

export { BucketStorage };

export async function openStore(url: BucketUrl, concurrency: number): Promise<ObjectStore> {
  return S3Store.open(url, { concurrency });
}

/** Refuses a target that holds a dataset (unless overwrite) or foreign objects, before any work. */
export async function checkBucket(target: string, overwrite: boolean): Promise<void> {
  const url = parseBucketUrl(target);
  const store = await openStore(url, 4);
  try {
    await checkBucketTarget(store, url, overwrite);
  } finally {
    store.destroy();
  }
}

export async function openBucket(target: string, options: BucketStorageOptions): Promise<BucketStorage> {
  const url = parseBucketUrl(target);
  const store = await openStore(url, options.concurrency);
  try {
    return await BucketStorage.create(store, url, options);
  } catch (e) {
    store.destroy();
    throw e;
  }
}
