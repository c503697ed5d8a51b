// "Open as Table": the first rows of a precomputed annotation dataset as a read-only page, in the
// export form's look (its stylesheet, its preview table). No VS Code here and no script in the page:
// the host reads the dataset and renders static HTML, so it can be checked in node.
import type { DataType } from 'apache-arrow';
import { openPrecomputedAnnotations, type PrecomputedSchema } from '../roundtrip/read';
import { escapeHtml } from './html';

export interface PreviewTable {
  columns: Array<{ name: string; type: string }>;
  rows: string[][];
}

export interface DatasetPreview {
  dir: string;
  schema: PrecomputedSchema;
  annotations: PreviewTable;
  /** Polylines: the vertices of the annotations shown. */
  vertices?: PreviewTable;
  /** True when the dataset has more annotations than shown. */
  more: boolean;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'object' && v !== null && 'toArray' in v) return `[${Array.from((v as { toArray(): ArrayLike<unknown> }).toArray(), String).join(', ')}]`;
  return String(v);
}

function tableOf(batch: { schema: { fields: Array<{ name: string; type: DataType }> }; numRows: number; getChildAt(i: number): { get(i: number): unknown } | null }, limit = Infinity): PreviewTable {
  const fields = batch.schema.fields;
  const rows: string[][] = [];
  for (let i = 0; i < Math.min(batch.numRows, limit); i++) rows.push(fields.map((_, c) => cell(batch.getChildAt(c)?.get(i))));
  return { columns: fields.map((f) => ({ name: f.name, type: String(f.type) })), rows };
}

/** The first `rows` annotations in storage order (by_id, or the spatial index when there is none). */
export async function datasetPreview(dir: string, rows = 50): Promise<DatasetPreview> {
  const { schema, batches } = await openPrecomputedAnnotations(dir, { batchSize: rows });
  const it = batches(false);
  try {
    const first = await it.next();
    const more = !first.done && !(await it.next()).done;
    if (first.done) return { dir, schema, annotations: { columns: [], rows: [] }, more: false };
    const out: DatasetPreview = { dir, schema, annotations: tableOf(first.value.annotations), more };
    if (first.value.vertices) out.vertices = tableOf(first.value.vertices, 200);
    return out;
  } finally {
    await it.return(undefined);
  }
}

export interface TableViewHtmlInput {
  cspSource: string;
  cssUri: string;
  lang: string;
  /** Labels, already translated. */
  text: { title: string; shown: string; vertices: string; convert: string };
}

function htmlTable(t: PreviewTable): string {
  const head = t.columns.map((c) => `<th>${escapeHtml(c.name)}<br><span class="coltype">${escapeHtml(c.type)}</span></th>`).join('');
  const body = t.rows.map((r) => `<tr>${r.map((v) => `<td>${escapeHtml(v)}</td>`).join('')}</tr>`).join('\n');
  return `<div class="table-scroll"><table id="preview"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

/** The page: no script at all (the CSP allows none), styles only from the extension. */
export function tableViewHtml(p: DatasetPreview, o: TableViewHtmlInput): string {
  const csp = ["default-src 'none'", `style-src ${o.cspSource}`, `font-src ${o.cspSource}`].join('; ');
  const s = p.schema;
  const dims = s.coords.map((c, d) => `${c} (${s.scales[d]} ${s.units[d]})`).join(', ');
  const props = s.properties.map((q) => `${q.id}: ${q.type}${q.enum_labels ? ` {${q.enum_labels.join(', ')}}` : ''}`).join('; ');
  return `<!DOCTYPE html>
<html lang="${escapeHtml(o.lang)}">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeHtml(o.cssUri)}">
<title>${escapeHtml(o.text.title)}</title>
</head>
<body>
<h1>${escapeHtml(o.text.title)}</h1>
<p class="file"><span class="filename">${escapeHtml(p.dir)}</span><span class="badge">${escapeHtml(s.annotationType)}</span><span class="badge">${s.coords.length}-D</span><span class="badge">${escapeHtml(s.source)}</span></p>
<p class="muted">${escapeHtml(dims)}${props ? `<br>${escapeHtml(props)}` : ''}${s.relationships.length ? `<br>${escapeHtml(s.relationships.join(', '))}` : ''}</p>
<h2>${escapeHtml(o.text.shown)}</h2>
${htmlTable(p.annotations)}
${p.vertices ? `<h2>${escapeHtml(o.text.vertices)}</h2>\n${htmlTable(p.vertices)}` : ''}
<p class="help">${escapeHtml(o.text.convert)}</p>
<pre id="cli">ng-annotations to-table ${escapeHtml(JSON.stringify(p.dir))} --out table.parquet</pre>
</body>
</html>`;
}
