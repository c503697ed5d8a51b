// Checks a mapping from the (untrusted) webview against the table it is for, before any export
// starts, and returns problems keyed by field so the form can show each next to its input.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MappingError, parseMapping, type Mapping } from '../shared/mapping';
import { geometryColumns, PROPERTY_ID } from '../shared/guess';
import type { ColumnInfo, FormState, Problem } from '../shared/protocol';
import { looksLikeUrl, parseBucketUrl } from '../storage/url';

export interface Checked {
  mapping: Mapping | null;
  problems: Problem[];
}

function exists(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch {
    return null;
  }
}

function inside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * `input` is the file the form was opened for (the webview cannot redirect it); `columns` are its
 * columns (null when the preview failed). Relative output/points paths are taken from the input's folder.
 * `forExport: false` (saving the mapping, copying the command) skips "the output folder exists".
 */
export function checkMapping(raw: unknown, input: string, columns: ColumnInfo[] | null, opts: { forExport?: boolean } = {}): Checked {
  let m: Mapping;
  try {
    m = parseMapping(raw);
  } catch (e) {
    if (e instanceof MappingError) return { mapping: null, problems: [{ field: e.field, message: e.message.slice(e.field.length + 2) }] };
    throw e;
  }
  const problems: Problem[] = [];
  const base = path.dirname(input);
  const polylineOnly = m.annotationType === 'polyline' && m.input === undefined;
  m = { ...m, input: polylineOnly ? undefined : input };
  if (m.points !== undefined) m.points = path.resolve(base, m.points);
  // A bucket URL (s3://, gs://) is checked by the export itself (it lists the prefix first).
  let bucketProblem: string | null = null;
  const bucket = m.output !== undefined && looksLikeUrl(m.output);
  if (bucket) {
    try {
      m.output = parseBucketUrl(m.output!).url;
    } catch (e) {
      bucketProblem = (e as Error).message;
    }
  } else m.output = path.resolve(base, m.output ?? `${path.basename(input).replace(/\.[^.]*$/, '')}.precomputed`);

  const names = new Set(columns?.map((c) => c.name) ?? []);
  const need = (field: string, col: string, what: string) => {
    if (columns && !names.has(col)) problems.push({ field, message: `${what} column "${col}" is not in ${path.basename(input)}` });
  };
  if (m.annotationType === 'polyline') {
    if (!m.points) problems.push({ field: 'points', message: 'polylines need a vertices file (annotation_id + coordinate columns)' });
    else if (!exists(m.points)?.isFile()) problems.push({ field: 'points', message: `no such file: ${m.points}` });
    else if (m.points === input) for (const c of m.geometry?.vertex ?? m.coords) need(m.geometry ? 'geometry' : 'coords', c, 'vertex coordinate');
  } else {
    for (const c of geometryColumns(m.annotationType, m.coords, m.geometry)) need(m.geometry ? 'geometry' : 'coords', c, 'geometry');
  }
  if (typeof m.idColumn === 'string' && !polylineOnly) need('idColumn', m.idColumn, 'id');
  (m.properties ?? []).forEach((p, i) => {
    const id = typeof p === 'string' ? p : p.id;
    if (!PROPERTY_ID.test(id)) {
      problems.push({ field: `properties[${i}]`, message: `"${id}" is not a valid property id (a lowercase letter, then letters, digits or _)` });
    } else if (columns && !names.has(id) && !(names.has(`${id}_r`) && names.has(`${id}_g`) && names.has(`${id}_b`))) {
      problems.push({ field: `properties[${i}]`, message: `column "${id}" is not in ${path.basename(input)}` });
    }
  });
  (m.relationships ?? []).forEach((r, i) => {
    if (!/^[A-Za-z0-9_.-]+$/.test(r) || r === '.' || r === '..') {
      problems.push({ field: `relationships[${i}]`, message: `"${r}" cannot be a folder name (use letters, digits, _ . -)` });
    } else need(`relationships[${i}]`, r, 'relationship');
  });
  if (polylineOnly && (m.properties?.length || m.relationships?.length)) {
    problems.push({ field: 'properties', message: 'a vertices file alone has no per-annotation properties or relationships' });
  }

  // The output folder: never the input's own folder or anything holding the inputs, never someone
  // else's folder. An existing folder is only replaced when it is a dataset and overwrite is ticked.
  const out = m.output!;
  if (bucket) {
    if (bucketProblem) problems.push({ field: 'output', message: bucketProblem });
    return { mapping: m, problems };
  }
  const parent = exists(path.dirname(out));
  const st = exists(out);
  if (!parent?.isDirectory()) problems.push({ field: 'output', message: `parent folder does not exist: ${path.dirname(out)}` });
  else if ([input, m.points].some((f) => f !== undefined && inside(out, f))) {
    problems.push({ field: 'output', message: 'the output folder must not contain the input files' });
  } else if (st && !st.isDirectory()) problems.push({ field: 'output', message: 'a file with this name exists' });
  else if (st && fs.readdirSync(out).length > 0 && opts.forExport !== false) {
    if (!exists(path.join(out, 'info'))) problems.push({ field: 'output', message: 'this folder exists, is not empty and is not an annotation dataset' });
    else if (!m.overwrite) problems.push({ field: 'output', message: 'a dataset exists here: tick "Replace existing output" (Advanced) or pick another folder' });
  }
  return { mapping: m, problems };
}

/** Parses a remembered or webview-sent form state; null if it is not one. */
export function parseFormState(v: unknown): FormState | null {
  if (typeof v !== 'object' || v === null) return null;
  const s = v as Record<string, unknown>;
  try {
    const mapping = parseMapping(s.mapping);
    const cols = s.propertyColumns;
    if (!Array.isArray(cols) || cols.length > 10000 || !cols.every((c) => typeof c === 'string' && c.length < 1024)) return null;
    return { mapping, propertyColumns: cols as string[] };
  } catch {
    return null;
  }
}
