// Maps a request target to a file inside one folder, refusing anything that could name a file
// outside it. Decoding happens exactly once; anything that still looks encoded afterwards, or that
// would need normalising, is refused rather than interpreted.
import { realpath, stat } from 'node:fs/promises';
import * as path from 'node:path';

export type Resolved =
  | { ok: true; file: string; size: number; mtimeMs: number }
  | { ok: false; status: 400 | 403 | 404 };

/**
 * Splits the path part of a request target into safe segments, or returns the status to answer.
 * Refused (403): backslashes, NUL, encoded `/` `\` NUL, `.`/`..` segments, empty segments (`//`),
 * segments with `:` (drive letters, alternate data streams), dot files, and anything still
 * percent-encoded after one decoding (double encoding). Malformed percent-encoding → 400.
 * A trailing slash names a directory → 404 (no listings).
 */
export function splitRequestPath(target: string): string[] | { status: 400 | 403 | 404 } {
  const q = target.search(/[?#]/);
  const raw = q < 0 ? target : target.slice(0, q);
  if (!raw.startsWith('/')) return { status: 400 }; // absolute-form or garbage
  if (/[\\\0]|%(2f|5c|00)/i.test(raw)) return { status: 403 };
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return { status: 400 };
  }
  if (/[\\\0]|%[0-9a-f]{2}/i.test(decoded)) return { status: 403 };
  const segments = decoded.slice(1).split('/');
  if (segments.length > 1 && segments[segments.length - 1] === '') {
    // A trailing slash names a directory; we never list directories.
    return { status: 404 };
  }
  for (const s of segments) {
    if (s === '' && segments.length === 1) continue; // "/" itself
    if (s === '' || s === '.' || s === '..' || s.startsWith('.') || s.includes(':')) {
      return { status: 403 };
    }
  }
  return segments[0] === '' ? [] : segments;
}

/**
 * Resolves safe segments under `rootReal` (already a real path). Follows symlinks, then refuses
 * (403) any real path that leaves the root. Only regular files are served; directories, missing
 * files and special files are 404.
 */
export async function resolveUnder(rootReal: string, segments: string[]): Promise<Resolved> {
  if (segments.length === 0) return { ok: false, status: 404 };
  const candidate = path.join(rootReal, ...segments);
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    return { ok: false, status: 404 };
  }
  if (!isInside(rootReal, real)) return { ok: false, status: 403 };
  try {
    const st = await stat(real);
    if (!st.isFile()) return { ok: false, status: 404 };
    return { ok: true, file: real, size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return { ok: false, status: 404 };
  }
}

export function isInside(rootReal: string, p: string): boolean {
  const rel = path.relative(rootReal, p);
  return rel !== '' && rel !== '..' && !rel.startsWith('..' + path.sep) && !path.isAbsolute(rel);
}
