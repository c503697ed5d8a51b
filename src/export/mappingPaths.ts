// A mapping file's relative paths are relative to its folder (host side: needs Node's path rules).
import * as path from 'node:path';
import type { Mapping } from '../shared/mapping';
import { looksLikeUrl } from '../shared/url';

/** Resolves a mapping's relative paths against `baseDir` (the mapping file's folder). */
export function resolveMappingPaths(m: Mapping, baseDir: string): Mapping {
  // URLs (s3://, gs://, https://) are not paths.
  const r = (p: string | undefined) => (p === undefined ? undefined : looksLikeUrl(p) ? p : path.resolve(baseDir, p));
  const out: Mapping = { ...m };
  if (m.input !== undefined) out.input = r(m.input);
  if (m.points !== undefined) out.points = r(m.points);
  if (m.output !== undefined) out.output = r(m.output);
  return out;
}
