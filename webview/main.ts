// The export form (runs in the webview). It edits a mapping and asks the host to check, export,
// save or copy it; the host owns the disk. State survives reloads through getState/setState.
import '@vscode-elements/elements/dist/bundled.js';
import './form.css';
import { ANNOTATION_TYPES, PROPERTY_TYPES, type AnnotationType, type PropertySpec } from '../src/shared/types';
import type { Mapping } from '../src/shared/mapping';
import { emptyInPreview, geometryColumns, geometryFor, guessGeometry, guessIdColumn, propertyCandidates, PROPERTY_ID } from '../src/shared/guess';
import { GEOMETRY_ROLES, conventionalColumns, roleLabel } from '../src/shared/geometry';
import {
  Endpoint,
  ReplyError,
  type ExportOutcome,
  type FormInit,
  type FormState,
  type HostSends,
  type Inspection,
  type Problem,
  type WebviewSends,
} from '../src/shared/protocol';

interface VsCodeApi {
  postMessage(m: unknown): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

interface Saved {
  file: string;
  form: FormState;
}

const vscode = acquireVsCodeApi();
/** The id select's value for "Row numbers" (idColumn null). */
const ROW_NUMBERS = '\u0000rows';
const app = document.getElementById('app')!;
let init: FormInit | null = null;
let state: FormState | null = null;
let busy = false;
/** From reading the whole table in the background (host `inspected` event): exact specs or errors. */
let inspection: Inspection | null = null;

const host = new Endpoint<WebviewSends, HostSends>((m) => vscode.postMessage(m), {
  requests: {},
  events: {
    init: (i) => {
      init = i;
      const saved = vscode.getState() as Saved | undefined;
      // After a reload the webview's own state is newer than anything the host remembers.
      state = saved && saved.file === i.file.path && saved.form ? saved.form : i.state;
      render();
      changed(false);
    },
    progress: ({ progress, percent }) => {
      const bar = document.getElementById('progress') as HTMLElement & { value: number };
      if (bar) bar.value = percent;
      setText('status', `${progress.phase.replace(/_/g, ' ')}${progress.detail ? ` ${progress.detail}` : ''}: ${percent}%`);
    },
    exportFinished: (o) => showOutcome(o),
    inspected: (i) => applyInspection(i),
  },
});
window.addEventListener('message', (e) => void host.receive(e.data));

const TYPE_LABELS: Record<AnnotationType, string> = {
  point: 'Point',
  line: 'Line',
  axis_aligned_bounding_box: 'Axis-aligned bounding box',
  ellipsoid: 'Ellipsoid',
  polyline: 'Polyline',
};

// ---- small DOM helpers ----------------------------------------------------------------------
type Attrs = Record<string, string | boolean | number | undefined>;
function h(tag: string, attrs: Attrs = {}, ...children: Array<Node | string | null | undefined>): HTMLElement {
  // Attributes only (never innerHTML): column names and cell values are data, not markup.
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}
function setText(id: string, text: string): void {
  const el = document.getElementById(id);
  if (el) el.textContent = text;
}
function valueOf(id: string): string {
  return ((document.getElementById(id) as unknown as { value?: string })?.value ?? '').trim();
}
function checked(id: string): boolean {
  return Boolean((document.getElementById(id) as unknown as { checked?: boolean })?.checked);
}
function select(id: string, options: Array<[string, string]>, value: string): HTMLElement {
  const s = h('vscode-single-select', { id, 'aria-label': id });
  for (const [v, label] of options) s.append(h('vscode-option', { value: v, selected: v === value }, label));
  return s;
}
function field(label: string, forId: string, input: Node, help?: string, problemKey = forId): HTMLElement {
  return h(
    'div',
    { class: 'field' },
    h('vscode-label', { for: forId }, label),
    input,
    help ? h('div', { class: 'help' }, help) : null,
    h('div', { class: 'problem', 'data-problem-for': problemKey, role: 'alert' }),
  );
}
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

// ---- inferred property types from the preview -------------------------------------------------
function columnValues(name: string): string[] {
  const i = init?.preview?.columns.findIndex((c) => c.name === name) ?? -1;
  return i < 0 ? [] : (init?.preview?.rows ?? []).map((r) => r[i] ?? '').filter((v) => v !== '');
}
function inferredHint(name: string): { type: string; labels?: string[]; more?: number; exact?: boolean; error?: string } {
  const exact = inspection?.properties.find((p) => p.id === name);
  if (exact?.error) return { type: '—', error: exact.error };
  if (exact?.spec) {
    const labels = exact.spec.enum_labels;
    return { type: labels ? `${exact.spec.type} enum` : exact.spec.type, labels, more: exact.labelCount, exact: true };
  }
  const cols = init?.preview?.columns ?? [];
  const col = cols.find((c) => c.name === name);
  if (!col) {
    if (cols.some((c) => c.name === `${name}_a`)) return { type: 'rgba' };
    return { type: 'rgb' };
  }
  const t = col.type.toLowerCase();
  const m = /^(u?int)(8|16|32)$/.exec(t);
  if (m) return { type: `${m[1]}${m[2]}` };
  if (/^u?int64$/.test(t)) return { type: 'smallest integer type' };
  if (t.startsWith('float')) return { type: 'float32' };
  if (t === 'bool') return { type: 'uint8 enum', labels: ['false', 'true'] };
  const values = columnValues(name);
  if (t === 'utf8' || t.startsWith('dictionary') || t === 'largeutf8') {
    if (values.length && values.every((v) => /^#[0-9a-f]{6}$/i.test(v))) return { type: 'rgb' };
    if (values.length && values.every((v) => /^#[0-9a-f]{8}$/i.test(v))) return { type: 'rgba' };
    return { type: 'enum', labels: [...new Set(values)].sort() };
  }
  if (t === 'null') return { type: 'uint8 (all empty)' };
  return { type: col.type };
}

// ---- rendering ------------------------------------------------------------------------------
function render(): void {
  if (!init || !state) return;
  const m = state.mapping;
  const cols = init.preview?.columns.map((c) => c.name) ?? [];
  const parts: Array<Node | null> = [
    h('h1', {}, 'Export annotations'),
    h(
      'p',
      { class: 'file' },
      h('span', { class: 'filename', title: init.file.path }, init.file.name),
      ` · ${init.file.format.toUpperCase()}`,
      init.preview?.totalRows !== undefined ? ` · ${init.preview.totalRows.toLocaleString('en-US')} rows` : '',
      init.remembered ? h('span', { class: 'badge' }, 'remembered mapping') : h('span', { class: 'badge' }, 'guessed mapping'),
    ),
    previewTable(),
    h(
      'section',
      {},
      h('h2', {}, 'Geometry'),
      field(
        'Annotation type',
        'annotationType',
        select('annotationType', ANNOTATION_TYPES.map((t) => [t, TYPE_LABELS[t]]), m.annotationType),
        geometryHelp(),
        'annotationType',
      ),
      h(
        'div',
        { class: 'row3' },
        field('Coordinate names', 'coords', h('vscode-textfield', { id: 'coords', value: m.coords.join(', ') }), 'in dimension order, e.g. x, y, z'),
        field('Units', 'units', h('vscode-textfield', { id: 'units', value: (m.units ?? []).join(', '), placeholder: m.coords.map(() => 'nm').join(', ') }), 'default nm'),
        field('Scales', 'scales', h('vscode-textfield', { id: 'scales', value: (m.scales ?? []).join(', '), placeholder: m.coords.map(() => '1').join(', ') }), 'size of one unit step'),
      ),
      h('p', { id: 'dimensions', class: 'help' }, dimensionsText()),
      field(
        'Annotation id column',
        'idColumn',
        select('idColumn', [['', 'Automatic (annotation_id, else a unique integral id, else row number)'], [ROW_NUMBERS, 'Row numbers'], ...cols.map((c): [string, string] => [c, c])], m.idColumn === null ? ROW_NUMBERS : (m.idColumn ?? '')),
      ),
      m.annotationType === 'polyline'
        ? field(
            'Polyline vertices file',
            'points',
            h('div', { class: 'with-button' }, h('vscode-textfield', { id: 'points', value: m.points ?? '' }), h('vscode-button', { id: 'pickPoints', secondary: true }, 'Browse…')),
            'a table with annotation_id and coordinate columns; vertex order = row order',
          )
        : null,
    ),
    columnsSection(),
    h(
      'section',
      {},
      h('h2', {}, 'Output'),
      field(
        'Output folder',
        'output',
        h('div', { class: 'with-button' }, h('vscode-textfield', { id: 'output', value: m.output ?? init.defaults.outputDir }), h('vscode-button', { id: 'pickOutput', secondary: true }, 'Browse…')),
        'a folder, or a bucket: s3://bucket/prefix, gs://bucket/prefix',
      ),
      advanced(),
    ),
    h(
      'section',
      { class: 'actions' },
      h('div', { class: 'problem', 'data-problem-for': '*', role: 'alert' }),
      h(
        'div',
        { class: 'buttons' },
        h('vscode-button', { id: 'export' }, 'Export'),
        h('vscode-button', { id: 'cancel', secondary: true, hidden: true }, 'Cancel'),
        h('vscode-button', { id: 'saveMapping', secondary: true }, 'Save mapping…'),
        h('vscode-button', { id: 'copyCli', secondary: true }, 'Copy CLI command'),
      ),
      h('vscode-progress-bar', { id: 'progress', hidden: true, value: 0, max: 100 }),
      h('p', { id: 'status', role: 'status' }),
      h('div', { id: 'outcome' }),
      h('details', {}, h('summary', {}, 'Equivalent command'), h('pre', { id: 'cli' })),
    ),
  ];
  app.replaceChildren(...parts.filter((p): p is Node => p !== null));
  wire();
}

/** What the layer's dimensions will be, and which columns feed each role: "Dimensions x (4 nm), y (4 nm), z (40 nm) · line endpoint a: …". */
function dimensionsText(): string {
  if (!state) return '';
  const m = state.mapping;
  const dims = m.coords.map((d, i) => `${d} (${m.scales?.[i] ?? 1} ${m.units?.[i] ?? 'nm'})`).join(', ');
  const g = m.annotationType === 'polyline' ? null : (m.geometry ?? conventionalColumns(m.annotationType, m.coords));
  const roles = g ? GEOMETRY_ROLES[m.annotationType].map((r) => `${roleLabel(m.annotationType, r)}: ${(g[r] ?? []).join(', ')}`).join(' · ') : `vertices: ${(m.coords).join(', ')}`;
  return `Dimensions ${dims} · ${roles}`;
}

function geometryHelp(): string {
  if (!init?.preview) return '';
  const g = guessGeometry(init.preview);
  const cols = g.polylineVertices ? ['annotation_id', ...g.coords] : geometryColumns(g.type, g.coords, g.geometry);
  return `detected ${TYPE_LABELS[g.type].toLowerCase()} from columns ${cols.join(', ')}${g.type === 'line' ? ' (change to bounding box if these are corners)' : ''}`;
}

function previewTable(): HTMLElement {
  if (!init?.preview) return h('p', { class: 'problem shown' }, `Could not read the file: ${init?.previewError ?? 'unknown error'}`);
  const p = init.preview;
  const shown = p.rows.slice(0, 8);
  return h(
    'details',
    { class: 'preview', open: true },
    h('summary', {}, `First ${shown.length} rows`),
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { id: 'preview' },
        h('thead', {}, h('tr', {}, ...p.columns.map((c) => h('th', { title: c.type }, c.name, h('div', { class: 'coltype' }, c.type))))),
        h('tbody', {}, ...shown.map((r) => h('tr', {}, ...r.map((v) => h('td', {}, v))))),
      ),
    ),
  );
}

function columnsSection(): HTMLElement | null {
  if (!state || !init) return null;
  const m = state.mapping;
  if (m.annotationType === 'polyline' && m.input === undefined) {
    return h('section', {}, h('h2', {}, 'Properties'), h('p', { class: 'help' }, 'This file holds polyline vertices only; it has no per-annotation properties.'));
  }
  const props = new Map<string, string | PropertySpec>((m.properties ?? []).map((p) => [typeof p === 'string' ? p : p.id, p]));
  const rels = new Set(m.relationships ?? []);
  const rows = state.propertyColumns.map((name, i) => {
    const use = props.has(name) ? 'property' : rels.has(name) ? 'relationship' : 'skip';
    const spec = props.get(name);
    const hint = inferredHint(name);
    const explicit = typeof spec === 'object' ? spec.type : '';
    const count = hint.more ?? hint.labels?.length ?? 0;
    const labels = hint.labels?.length
      ? `labels: ${hint.labels.slice(0, 12).join(', ')}${count > 12 ? `, … (${count.toLocaleString('en-US')})` : ''}${hint.exact ? '' : ' (from the first rows)'}`
      : '';
    const badName = !PROPERTY_ID.test(name);
    return h(
      'tr',
      { 'data-column': name },
      h('td', { class: 'colname' }, name),
      h('td', {}, select(`use-${i}`, [['property', 'Property'], ['relationship', 'Relationship'], ['skip', 'Skip']], use)),
      h(
        'td',
        {},
        select(`type-${i}`, [['', `auto: ${hint.type}`], ...PROPERTY_TYPES.map((t): [string, string] => [t, t])], explicit),
      ),
      h(
        'td',
        { class: 'help' },
        badName && use !== 'relationship'
          ? 'not a valid property id (a lowercase letter, then letters, digits or _)'
          : hint.error && use !== 'relationship'
            ? h('span', { class: use === 'property' ? 'problem shown' : '' }, hint.error)
            : init!.preview && emptyInPreview(init!.preview, name) && !hint.exact
              ? 'empty in the first rows'
              : labels,
      ),
    );
  });
  return h(
    'section',
    { id: 'columns-section', 'data-inspected': inspection ? String(inspection.rows) : undefined },
    h('h2', {}, 'Properties and relationships'),
    rows.length
      ? h('table', { class: 'columns' }, h('thead', {}, h('tr', {}, h('th', {}, 'Column'), h('th', {}, 'Use as'), h('th', {}, 'Type'), h('th', {}, ''))), h('tbody', {}, ...rows))
      : h('p', { class: 'help' }, 'No other columns.'),
    h('div', { class: 'problem', 'data-problem-for': 'properties', role: 'alert' }),
    h('div', { class: 'problem', 'data-problem-for': 'relationships', role: 'alert' }),
  );
}

function advanced(): HTMLElement {
  const m = state!.mapping;
  const num = (v: number | undefined) => (v === undefined ? '' : String(v));
  return h(
    'vscode-collapsible',
    { heading: 'Advanced options', id: 'advanced' },
    h(
      'div',
      { class: 'advanced' },
      h('vscode-checkbox', { id: 'sharded', checked: m.sharded !== false }, 'Sharded (fewer, larger files)'),
      h('vscode-checkbox', { id: 'shuffle', checked: m.shuffle !== false }, 'Shuffle before assigning spatial levels'),
      h('vscode-checkbox', { id: 'overwrite', checked: m.overwrite === true }, 'Replace existing output'),
      h(
        'div',
        { class: 'row3' },
        field('Spatial levels', 'spatialLevels', h('vscode-textfield', { id: 'spatialLevels', type: 'number', value: num(m.spatialLevels) })),
        field('Chunk limit', 'chunkLimit', h('vscode-textfield', { id: 'chunkLimit', type: 'number', value: num(m.chunkLimit) })),
        field('Seed', 'seed', h('vscode-textfield', { id: 'seed', type: 'number', value: num(m.seed), placeholder: 'random' })),
      ),
      h(
        'div',
        { class: 'row3' },
        field('Threads', 'threads', h('vscode-textfield', { id: 'threads', type: 'number', value: num(m.threads), placeholder: 'all cores' })),
        field('gzip level', 'gzipLevel', h('vscode-textfield', { id: 'gzipLevel', value: m.gzipLevel === undefined ? '' : String(m.gzipLevel), placeholder: 'default' }), '0–9, or raw'),
        h('div'),
      ),
      field('Description', 'description', h('vscode-textfield', { id: 'description', value: m.description ?? '' })),
    ),
  );
}

// ---- reading the form back into the mapping ---------------------------------------------------
function optionalNumber(id: string): number | undefined {
  const v = valueOf(id);
  return v === '' ? undefined : Number(v);
}

/** Reads the inputs into state.mapping (values the host will check; bad numbers are kept as NaN → problem). */
function collect(): void {
  if (!state) return;
  const old = state.mapping;
  const m: Mapping = { version: 1, annotationType: (valueOf('annotationType') || old.annotationType) as AnnotationType, coords: list(valueOf('coords')) };
  if (old.input !== undefined) m.input = old.input;
  // Geometry columns per role: kept while the type and dimension names stay, else guessed again.
  const same = old.annotationType === m.annotationType && old.coords.join() === m.coords.join();
  const geometry = same ? old.geometry : init?.preview ? geometryFor(init.preview, m.annotationType, m.coords) : undefined;
  if (geometry) m.geometry = geometry;
  const units = list(valueOf('units'));
  if (units.length) m.units = units;
  const scales = list(valueOf('scales'));
  if (scales.length) m.scales = scales.map(Number);
  // "Automatic" is resolved here, by the same guess as the CLI's, so the saved mapping says which column.
  const id = valueOf('idColumn');
  if (id === ROW_NUMBERS) m.idColumn = null;
  else if (id) m.idColumn = id;
  else if (init?.preview && m.annotationType !== 'polyline') {
    const guessed = guessIdColumn(init.preview);
    if (guessed) m.idColumn = guessed;
  }
  if (m.annotationType === 'polyline') {
    const pts = valueOf('points') || old.points;
    if (pts) m.points = pts;
  }
  const properties: Array<string | PropertySpec> = [];
  const relationships: string[] = [];
  state.propertyColumns.forEach((name, i) => {
    const use = valueOf(`use-${i}`);
    const type = valueOf(`type-${i}`);
    if (use === 'property') properties.push(type ? { id: name, type: type as PropertySpec['type'] } : name);
    else if (use === 'relationship') relationships.push(name);
  });
  if (properties.length) m.properties = properties;
  if (relationships.length) m.relationships = relationships;
  m.output = valueOf('output') || undefined;
  m.sharded = checked('sharded');
  m.shuffle = checked('shuffle');
  if (checked('overwrite')) m.overwrite = true;
  m.spatialLevels = optionalNumber('spatialLevels');
  m.chunkLimit = optionalNumber('chunkLimit');
  m.seed = optionalNumber('seed');
  m.threads = optionalNumber('threads');
  const gz = valueOf('gzipLevel');
  if (gz) m.gzipLevel = gz === 'raw' ? 'raw' : Number(gz);
  const description = valueOf('description');
  if (description) m.description = description;
  for (const k of Object.keys(m) as Array<keyof Mapping>) if (m[k] === undefined) delete m[k];
  state.mapping = m;
}

/** The annotation type or coordinates changed: the geometry columns are different, so re-offer the rest. */
function regroupColumns(): void {
  if (!state || !init?.preview) return;
  const m = state.mapping;
  if (m.annotationType === 'polyline' && m.input === undefined) {
    state.propertyColumns = [];
    return;
  }
  const candidates = propertyCandidates(init.preview, m.annotationType, m.coords, m.idColumn, m.geometry);
  const props = new Set((m.properties ?? []).map((p) => (typeof p === 'string' ? p : p.id)));
  const fresh = candidates.filter((c) => !state!.propertyColumns.includes(c));
  m.properties = (m.properties ?? []).filter((p) => candidates.includes(typeof p === 'string' ? p : p.id));
  for (const c of fresh) if (PROPERTY_ID.test(c) && !props.has(c) && !emptyInPreview(init.preview, c)) m.properties.push(c);
  m.relationships = (m.relationships ?? []).filter((r) => candidates.includes(r));
  if (!m.properties.length) delete m.properties;
  if (!m.relationships.length) delete m.relationships;
  state.propertyColumns = candidates;
}

let validateTimer: ReturnType<typeof setTimeout> | undefined;
function changed(persist = true): void {
  if (!state || !init) return;
  vscode.setState({ file: init.file.path, form: state } satisfies Saved);
  setText('dimensions', dimensionsText());
  if (persist) host.emit('stateChanged', { state });
  clearTimeout(validateTimer);
  validateTimer = setTimeout(() => void validate(), 200);
}

async function validate(): Promise<Problem[]> {
  if (!state) return [];
  const r = await host.request('validate', { mapping: state.mapping });
  showProblems(r.problems);
  setText('cli', r.commandLine);
  return r.problems;
}

function showProblems(problems: Problem[]): void {
  const slots = new Map<string, HTMLElement>();
  for (const el of document.querySelectorAll<HTMLElement>('[data-problem-for]')) {
    el.textContent = '';
    el.classList.remove('shown');
    slots.set(el.dataset.problemFor!, el);
  }
  for (const p of problems) {
    const key = p.field.replace(/\[.*$/, '');
    let slot = slots.get(key) ?? slots.get('*')!;
    if (key === 'input') slot = slots.get('*')!;
    const line = h('div', {}, slot === slots.get('*') ? `${p.field}: ${p.message}` : p.message);
    slot.append(line);
    slot.classList.add('shown');
  }
  for (const id of ['coords', 'units', 'scales', 'output', 'points', 'idColumn', 'spatialLevels', 'chunkLimit', 'seed', 'threads', 'gzipLevel']) {
    const el = document.getElementById(id) as unknown as { invalid?: boolean } | null;
    if (el && 'invalid' in el) el.invalid = problems.some((p) => p.field === id);
  }
}

function setBusy(b: boolean): void {
  busy = b;
  for (const id of ['export', 'saveMapping']) (document.getElementById(id) as unknown as { disabled: boolean }).disabled = b;
  document.getElementById('cancel')!.hidden = !b;
  document.getElementById('progress')!.hidden = !b;
}

function showOutcome(o: ExportOutcome): void {
  setBusy(false);
  const out = document.getElementById('outcome')!;
  if (o.ok && o.summary) {
    const s = o.summary;
    setText('status', '');
    out.replaceChildren(
      h(
        'div',
        { class: 'success', role: 'status' },
        `Exported ${s.annotations.toLocaleString('en-US')} annotations to ${s.outputDir}: ${s.filesWritten.toLocaleString('en-US')} files, ${(s.bytesWritten / 1024).toFixed(1)} KiB in ${(s.elapsedMs / 1000).toFixed(1)} s.`,
      ),
    );
  } else if (o.cancelled) {
    setText('status', 'Export cancelled; nothing was written.');
    out.replaceChildren();
  } else if (o.problems?.length) {
    setText('status', '');
    showProblems(o.problems);
  } else {
    setText('status', '');
    out.replaceChildren(h('div', { class: 'problem shown', id: 'exportError', role: 'alert' }, `Export failed: ${o.error ?? 'unknown error'}`));
  }
}

async function doExport(): Promise<void> {
  if (busy || !state) return;
  collect();
  const problems = await validate();
  if (problems.length) {
    setText('status', 'Fix the problems marked above first.');
    return;
  }
  document.getElementById('outcome')!.replaceChildren();
  setBusy(true);
  setText('status', 'Starting…');
  try {
    await host.request('export', { mapping: state.mapping });
  } catch (e) {
    showOutcome({ ok: false, error: e instanceof Error ? e.message : String(e), problems: e instanceof ReplyError ? e.problems : undefined });
  }
}

async function withProblems(f: () => Promise<unknown>): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (e instanceof ReplyError && e.problems) showProblems(e.problems);
    else setText('status', e instanceof Error ? e.message : String(e));
  }
}

/**
 * The whole table has been read. Exact types replace the preview's guesses; a property the writer
 * would refuse is marked, and taken out of a *guessed* mapping so that the defaults always export.
 */
function applyInspection(i: Inspection): void {
  inspection = i;
  if (!state || !init) return;
  if (!init.remembered && state.mapping.properties) {
    const bad = new Set(i.properties.filter((p) => p.error).map((p) => p.id));
    const kept = state.mapping.properties.filter((p) => typeof p !== 'string' || !bad.has(p));
    if (kept.length !== state.mapping.properties.length) {
      if (kept.length) state.mapping.properties = kept;
      else delete state.mapping.properties;
      changed();
    }
  }
  renderColumns();
  if (init.preview) {
    const rows = document.querySelector('.file');
    if (rows && init.preview.totalRows === undefined) rows.append(` · ${i.rows.toLocaleString('en-US')} rows`);
  }
}

function renderColumns(): void {
  const old = document.getElementById('columns-section');
  const fresh = columnsSection();
  if (!old || !fresh) return;
  old.replaceWith(fresh);
  wireColumns();
}

const onChange = (ids: string[], f: () => void) => {
  for (const id of ids) {
    const el = document.getElementById(id);
    el?.addEventListener('change', f);
    if (el?.tagName === 'VSCODE-TEXTFIELD') el.addEventListener('input', f);
  }
};

function wireColumns(): void {
  onChange(
    (state?.propertyColumns ?? []).flatMap((_, i) => [`use-${i}`, `type-${i}`]),
    () => {
      collect();
      changed();
      renderColumns(); // the row's note depends on how the column is used
    },
  );
}

function wire(): void {
  const plain = ['units', 'scales', 'idColumn', 'points', 'output', 'sharded', 'shuffle', 'overwrite', 'spatialLevels', 'chunkLimit', 'seed', 'threads', 'gzipLevel', 'description'];
  onChange(plain, () => {
    collect();
    changed();
  });
  wireColumns();
  // Type and coordinates decide which columns are geometry: re-render the column table.
  onChange(['annotationType'], () => {
    collect();
    regroupColumns();
    render();
    changed();
  });
  document.getElementById('coords')?.addEventListener('change', () => {
    collect();
    regroupColumns();
    render();
    changed();
  });
  document.getElementById('coords')?.addEventListener('input', () => {
    collect();
    changed();
  });
  document.getElementById('export')?.addEventListener('click', () => void doExport());
  document.getElementById('cancel')?.addEventListener('click', () => host.emit('cancelExport', {}));
  document.getElementById('saveMapping')?.addEventListener('click', () =>
    void withProblems(async () => {
      collect();
      const r = await host.request('saveMapping', { mapping: state!.mapping });
      if (r.path) setText('status', `Saved ${r.path}`);
    }),
  );
  document.getElementById('copyCli')?.addEventListener('click', () =>
    void withProblems(async () => {
      collect();
      await host.request('copyCommandLine', { mapping: state!.mapping });
      setText('status', 'Command copied.');
    }),
  );
  for (const [button, purpose, input] of [['pickPoints', 'points', 'points'], ['pickOutput', 'output', 'output']] as const) {
    document.getElementById(button)?.addEventListener('click', () =>
      void withProblems(async () => {
        const r = await host.request('pickPath', { purpose, current: valueOf(input) });
        if (r.path) {
          (document.getElementById(input) as unknown as { value: string }).value = r.path;
          collect();
          changed();
        }
      }),
    );
  }
}

host.emit('ready', {});
