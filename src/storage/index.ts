// Where an export goes, from the string the user gave: a local folder, or a bucket URL (s3://,
// gs://). The bucket code and its SDK live in a bundle of their own (dist/buckets.js), loaded only
// here and only for a bucket URL, so the core, the CLI and the extension do not pay for them
// otherwise.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { looksLikeUrl, parseBucketUrl } from './url';

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

/** Default number of uploads in flight. */
export const DEFAULT_UPLOAD_CONCURRENCY = 16;
