// Bucket URLs: `s3://bucket[/prefix]` and `gs://bucket[/prefix]`. Anything that looks like a URL
// (a scheme and `://`, or starting with `s3:`/`gs:`) is either a well-formed bucket URL or a clear
// error: it never falls through to the file system, where `s3://b/p` would become a folder `s3:`.
import { ExportError } from '../core/errors';

export type BucketScheme = 's3' | 'gs';

export interface BucketUrl {
  scheme: BucketScheme;
  bucket: string;
  /** Key prefix without leading or trailing '/', '' for the bucket's root. */
  prefix: string;
  /** The normalized URL, `scheme://bucket[/prefix]`. */
  url: string;
}

export { looksLikeUrl } from '../shared/url';
import { looksLikeUrl } from '../shared/url';

const BUCKET_NAME: Record<BucketScheme, RegExp> = {
  // S3 (and most S3-compatible stores): 3..63 of lower-case letters, digits, '.', '-'.
  s3: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
  // GCS also allows '_' and, with dots, up to 222 characters.
  gs: /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/,
};

function bad(s: string, why: string): ExportError {
  return new ExportError(`${JSON.stringify(s)} is not a valid bucket URL: ${why}; expected s3://bucket/prefix or gs://bucket/prefix`);
}

/** Parses a bucket URL; throws one clear line for anything malformed or of another scheme. */
export function parseBucketUrl(s: string): BucketUrl {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/.exec(s);
  if (!m) throw bad(s, 'it has no scheme');
  const scheme = m[1].toLowerCase();
  if (scheme !== 's3' && scheme !== 'gs') {
    throw new ExportError(`${JSON.stringify(s)}: ${scheme}:// is not a supported place to write; use a local folder, s3://bucket/prefix or gs://bucket/prefix`);
  }
  const rest = m[2];
  if (!rest.startsWith('//')) throw bad(s, `${scheme}: must be followed by //`);
  const body = rest.slice(2);
  if (/[?#]/.test(body)) throw bad(s, 'query strings and fragments are not part of a bucket URL');
  const slash = body.indexOf('/');
  const bucket = slash < 0 ? body : body.slice(0, slash);
  if (bucket === '') throw bad(s, 'the bucket name is missing');
  if (!BUCKET_NAME[scheme].test(bucket) || bucket.includes('..')) {
    throw bad(s, `${JSON.stringify(bucket)} is not a valid ${scheme === 's3' ? 'S3' : 'GCS'} bucket name (lower-case letters, digits, '.', '-'${scheme === 'gs' ? ", '_'" : ''}; 3 to ${scheme === 's3' ? 63 : 222} characters)`);
  }
  const prefix = slash < 0 ? '' : body.slice(slash + 1).replace(/\/+$/, '');
  if (prefix !== '') {
    for (const part of prefix.split('/')) {
      if (part === '') throw bad(s, 'the prefix has an empty path segment (//)');
      if (part === '.' || part === '..') throw bad(s, `the prefix has a ${JSON.stringify(part)} segment`);
    }
  }
  return { scheme, bucket, prefix, url: `${scheme}://${bucket}${prefix ? `/${prefix}` : ''}` };
}

/** The object key of `relPath` (a '/'-separated path inside the dataset) under `prefix`. */
export function objectKey(prefix: string, relPath: string): string {
  return prefix ? `${prefix}/${relPath}` : relPath;
}
