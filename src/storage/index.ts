// Where an export goes, from the string the user gave: a local folder, or a bucket URL (s3://,
// gs://). The bucket code and its SDK live in a bundle of their own (dist/buckets.js), loaded only
// here and only for a bucket URL, so the core, the CLI and the extension do not pay for them
// otherwise.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { looksLikeUrl, objectKey, parseBucketUrl } from './url';

export { looksLikeUrl, parseBucketUrl };

type Buckets = typeof import('./buckets');

let loaded: Promise<Buckets> | null = null;

/** The bucket module: dist/buckets.js beside this bundle, or the source when run from it (tsx). */
export function loadBuckets(): Promise<Buckets> {
  if (!loaded) {
    const candidates = [path.join(__dirname, 'buckets.js'), path.join(__dirname, '..', '..', 'dist', 'buckets.js')];
    const bundled = path.basename(__dirname) === 'dist' ? candidates.find((p) => fs.existsSync(p)) : undefined;
    // Through a variable, so that the bundler leaves the module out of the bundle that loads it.
    const source = './buckets';
    loaded = bundled ? Promise.resolve(require(bundled) as Buckets) : (import(source) as Promise<Buckets>);
  }
  return loaded;
}

/** Is `target` a bucket URL (or meant as one: anything URL-like, which parseBucketUrl then checks)? */
export function isBucketTarget(target: string): boolean {
  return looksLikeUrl(target);
}

/** Default number of uploads in flight (the options' default, core/options.ts). */
export { DEFAULT_UPLOAD_CONCURRENCY } from '../core/options';

/**
 * How neuroglancer names the dataset at a bucket URL (with a trailing '/'): `s3://bucket/prefix/`,
 * `gs://bucket/prefix/`, or for an S3-compatible endpoint (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL)
 * `s3+http(s)://host/bucket/prefix/`, path-style.
 */
export function neuroglancerSource(target: string, env: NodeJS.ProcessEnv = process.env): string {
  const u = parseBucketUrl(target);
  const rest = `${u.bucket}/${u.prefix ? `${u.prefix}/` : ''}`;
  if (u.scheme === 'gs') return `gs://${rest}`;
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  if (!endpoint) return `s3://${rest}`;
  const e = new URL(endpoint);
  return `s3+${e.protocol.replace(':', '')}://${e.host}${e.pathname.replace(/\/?$/, '/')}${rest}`;
}

/** One object of the dataset at a bucket URL (`relPath` inside it), or null when there is none. */
export async function readBucketObject(target: string, relPath: string): Promise<Uint8Array | null> {
  const u = parseBucketUrl(target);
  const store = await (await loadBuckets()).openStore(u, 4);
  try {
    return await store.get(objectKey(u.prefix, relPath));
  } finally {
    store.destroy();
  }
}

/** The `info` of the dataset at a bucket URL, parsed. */
export async function readBucketInfo(target: string): Promise<unknown> {
  const bytes = await readBucketObject(target, 'info');
  if (!bytes) throw new Error(`${parseBucketUrl(target).url} has no info object`);
  return JSON.parse(Buffer.from(bytes).toString('utf8'));
}
