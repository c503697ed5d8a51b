// `ng-annotations export <table-file> --type T --out DIR [...]`: flags (and an optional mapping JSON)
// become writer options; errors become one line and an exit status.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writePrecomputedAnnotations } from '../export/run';
import { ExportError } from '../core/errors';
import { normalizeCoordSpace } from '../core/coords';
import { ANNOTATION_TYPES, PROPERTY_TYPES, type AnnotationType, type PropertySpec, type PropertyType, type WriteSummary } from '../core/types';
import { ALL_ROLES, GEOMETRY_ROLES, dimsFromColumns, roleLabel, type GeometryColumns } from '../shared/geometry';
import { MAPPING_FIELDS, parseByteSize, parseMapping, mappingCoordSpace, mappingToWriteOptions, type FlagSpec, type Mapping } from '../shared/mapping';
import { resolveMappingPaths } from '../export/mappingPaths';
import { UsageError, formatHelp, nearest, parseCommand, type CommandSpec } from './usage';
import { ProgressBar } from './progress';
import { previewTable } from '../io/preview';
import { formatOf, isRemote, showDelimiter, type InputFormat } from '../io/index';
import { inputDelimiter } from '../io/dialect';
import { remotePath } from '../io/remote';
import { GUESS_ROWS, guessIdColumn } from '../shared/guess';
import { looksLikeUrl } from '../storage/url';

const TYPES = 'point, line, axis_aligned_bounding_box, ellipsoid or polyline';

/** The export command's options: this table drives the parser, the help and the suggestions. */
export const EXPORT_SPEC: CommandSpec = {
  name: 'export',
  synopsis: 'export <table-file> --type <type> [options]',
  summary: 'Writes a neuroglancer precomputed annotation dataset from a CSV, TSV, Parquet or Arrow/Feather table.',
  docs: 'docs/cli.md#export (columns: docs/mapping-columns.md)',
  options: [
    { name: 'type', type: 'string', value: 'TYPE', help: `${TYPES} (required)`, group: 'Geometry' },
    { name: 'point', type: 'string', value: 'X,Y,Z', help: 'point columns', default: 'x,y,z, or e.g. ctr_pt_position_*', group: 'Geometry' },
    { name: 'a', type: 'string', value: 'X,Y,Z', help: 'line endpoint / box corner a', default: 'xa,ya,za, or e.g. pre_pt_position_*', group: 'Geometry' },
    { name: 'b', type: 'string', value: 'X,Y,Z', help: 'line endpoint / box corner b', default: 'xb,yb,zb, or e.g. post_pt_position_*', group: 'Geometry' },
    { name: 'center', type: 'string', value: 'X,Y,Z', help: 'ellipsoid center', default: 'x,y,z', group: 'Geometry' },
    { name: 'radii', type: 'string', value: 'RX,RY,RZ', help: 'ellipsoid radii', default: 'rx,ry,rz', group: 'Geometry' },
    { name: 'vertex', type: 'string', value: 'X,Y,Z', help: 'polyline vertex columns of the vertices table', default: 'x,y,z', group: 'Geometry' },
    { name: 'points', type: 'string', value: 'FILE', help: 'polyline vertices table (annotation_id + vertex columns)', group: 'Geometry' },
    { name: 'dims', type: 'string', value: 'NAMES|JSON', help: 'dimension names, or a coordinate space {"x":[4e-9,"m"],…}', default: 'x,y,z', group: 'Dimensions' },
    { name: 'coords', type: 'string', value: 'NAMES', help: 'dimension names, also naming the columns (x; xa,xb; rx)', group: 'Dimensions' },
    { name: 'units', type: 'string', value: 'U[,U…]', help: 'unit per dimension (one for all)', default: 'nm', group: 'Dimensions' },
    { name: 'scales', type: 'string', value: 'S[,S…]', help: 'size of one coordinate step per dimension (one for all)', default: '1', group: 'Dimensions' },
    { name: 'id-column', type: 'string', value: 'NAME', help: 'column of uint64 ids', default: 'annotation_id, else unique integral id, else row numbers', group: 'Columns' },
    { name: 'no-id-column', type: 'flag', help: 'ids are row numbers', group: 'Columns' },
    { name: 'properties', type: 'string', value: 'A,B', help: 'property columns', default: 'none', group: 'Columns' },
    { name: 'property-type', type: 'string', multiple: true, value: 'A=TYPE', help: 'a property\'s type: uint8…int32, float32, rgb, rgba', default: 'inferred', group: 'Columns' },
    { name: 'relationships', type: 'string', value: 'R1,R2', help: 'columns of related segment ids', default: 'none', group: 'Columns' },
    { name: 'delimiter', type: 'string', value: 'C', help: 'CSV/TSV field delimiter: , ; tab |', default: 'sniffed', group: 'Columns' },
    { name: 'decimal-comma', type: 'flag', help: 'CSV/TSV numbers use a decimal comma (1,5)', group: 'Columns' },
    { name: 'config', type: 'string', value: 'FILE', help: 'a mapping JSON (flags override it)', group: 'Columns' },
    { name: 'out', short: 'o', type: 'string', value: 'DIR', help: 'output folder', default: '<stem>.precomputed beside the table', group: 'Output' },
    { name: 'overwrite', type: 'flag', help: 'replace an existing dataset', group: 'Output' },
    { name: 'description', type: 'string', value: 'TEXT', help: 'description in the info file', group: 'Output' },
    { name: 'unsharded', type: 'flag', help: 'one file per annotation and chunk', default: 'sharded', group: 'Output' },
    { name: 'no-by-id', type: 'flag', help: 'skip the by_id index', group: 'Output' },
    { name: 'no-by-relationship', type: 'flag', help: 'skip the relationship indexes', group: 'Output' },
    { name: 'no-spatial', type: 'flag', help: 'skip the spatial index', group: 'Output' },
    { name: 'spatial-levels', type: 'string', value: 'N', help: 'spatial index levels, 1 to 64', default: '7', group: 'Output' },
    { name: 'chunk-limit', type: 'string', value: 'N', help: 'annotations per spatial chunk, 0: all', default: '10000', group: 'Output' },
    { name: 'no-shuffle', type: 'flag', help: 'assign spatial levels in row order', group: 'Output' },
    { name: 'seed', type: 'string', value: 'N', help: 'shuffle seed', default: 'random', group: 'Output' },
    { name: 'data-encoding', type: 'string', value: 'E', help: 'sharded chunk data: auto (gzip where it pays), gzip, raw', default: 'auto', group: 'Output' },
    { name: 'gzip-level', type: 'string', value: '0-9|raw', help: 'gzip level', default: '1', group: 'Output' },
    { name: 'threads', type: 'string', value: 'N', help: 'worker threads', default: 'the cores', group: 'Output' },
    { name: 'memory-limit', type: 'string', value: 'SIZE', help: 'memory to plan for, e.g. 4G', default: '60% of RAM', group: 'Output' },
    { name: 'upload-concurrency', type: 'string', value: 'N', help: 'objects uploaded at once to an s3:// or gs:// --out', default: '16', group: 'Output' },
    { name: 'quiet', short: 'q', type: 'flag', help: 'no progress, summary or warnings', group: 'Output' },
    { name: 'json', type: 'flag', help: 'print the summary as JSON', group: 'Output' },
    { name: 'help', short: 'h', type: 'flag', help: 'this help', group: 'Output' },
  ],
  footer: [
    'Example: a CAVE synapse table as lines from pre- to post-synaptic point, in 4x4x40 nm voxels',
    '  ng-annotations export synapses.parquet --type line --scales 4,4,40 --relationships pre_pt_root_id,post_pt_root_id',
  ],
};


function list(s: string | undefined): string[] | undefined {
  if (s === undefined) return undefined;
  const items = s.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  return items;
}

function wholeNumber(flag: string, s: string | undefined, min: number, max: number): number | undefined {
  if (s === undefined) return undefined;
  if (!/^-?\d+$/.test(s.trim())) throw new UsageError(`--${flag} expects a whole number from ${min} to ${max}, got ${JSON.stringify(s)}`);
  const n = Number(s);
  if (n < min || n > max) throw new UsageError(`--${flag} must be ${max === Number.MAX_SAFE_INTEGER ? `a whole number >= ${min}` : `between ${min} and ${max}`}, got ${s.trim()}`);
  return n;
}

function oneOf(flag: string, s: string | undefined, known: readonly string[]): string | undefined {
  if (s === undefined) return undefined;
  const v = s.trim().toLowerCase();
  if (known.includes(v)) return v;
  const near = nearest(v, known);
  throw new UsageError(`--${flag} expects one of ${known.join(', ')}, got ${JSON.stringify(s)}${near ? ` (did you mean ${near}?)` : ''}`);
}

const DELIMITERS: Record<string, string> = { ',': ',', comma: ',', ';': ';', semicolon: ';', tab: '\t', '\t': '\t', '\\t': '\t', '|': '|', pipe: '|' };

/** `--dims x,y,z`, or a neuroglancer coordinate space `{"x": [4e-9, "m"], …}` (inline or a .json file). */
function parseDims(s: string): { names: string[]; units?: string[]; scales?: number[] } {
  let text = s.trim();
  if (!text.startsWith('{') && /\.json$/i.test(text)) {
    try {
      text = fs.readFileSync(text, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read --dims ${s}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  if (!text.trim().startsWith('{')) return { names: list(s)! };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--dims is not valid JSON: ${(e as Error).message}`);
  }
  // A whole neuroglancer state or layer may carry it under "dimensions".
  if (json && typeof json === 'object' && 'dimensions' in json) json = (json as { dimensions: unknown }).dimensions;
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new UsageError('--dims JSON must be an object such as {"x": [4e-9, "m"], "y": [4e-9, "m"], "z": [4e-8, "m"]}');
  const names: string[] = [];
  const units: string[] = [];
  const scales: number[] = [];
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'number' || typeof v[1] !== 'string') {
      throw new UsageError(`--dims: dimension ${JSON.stringify(name)} must be [scale, unit], got ${JSON.stringify(v)}`);
    }
    names.push(name);
    scales.push(v[0]);
    units.push(v[1]);
  }
  return { names, units, scales };
}

/** A mapping field's value from its flag (undefined when the flag is not given). Throws UsageError. */
function flagValue(f: FlagSpec, flag: (name: string) => boolean, opt: (name: string) => string | undefined): unknown {
  const s = opt(f.name);
  switch (f.kind) {
    case 'on':
      return flag(f.name) ? true : undefined;
    case 'off':
      return flag(f.name) ? false : undefined;
    case 'int':
      return wholeNumber(f.name, s, f.min, f.max);
    case 'level':
      return s === undefined ? undefined : s === 'raw' ? 'raw' : wholeNumber(f.name, s, 0, 9);
    case 'choice':
      return oneOf(f.name, s, f.values);
    case 'bytes': {
      if (s === undefined) return undefined;
      const bytes = parseByteSize(s);
      if (bytes === null) throw new UsageError(`--${f.name} expects a size such as 4G, 512M or a number of bytes, got ${JSON.stringify(s)}`);
      return bytes;
    }
    case 'text':
      return s;
    case 'path':
      return s === undefined ? undefined : inputLocation(s);
  }
}

/** Builds the mapping from --config (if any) overlaid with the flags. Throws UsageError. */
export function mappingFromArgs(argv: string[]): { mapping: Mapping; json: boolean; quiet: boolean; idGiven: boolean; uploadConcurrency?: number } | 'help' {
  const { values, positionals } = parseCommand(EXPORT_SPEC, argv);
  const v = values as Record<string, string | undefined> & Record<'property-type', string[] | undefined> & Record<string, boolean | undefined>;
  const flag = (k: string) => values[k] === true;
  const opt = (k: string) => values[k] as string | undefined;
  if (flag('help')) return 'help';
  if (positionals.length > 1) throw new UsageError(`expected one table file, got ${positionals.length}: ${positionals.join(' ')}`);
  let base: Partial<Mapping> = {};
  const config = opt('config');
  if (config !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(config, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read --config ${config}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`--config ${config} is not valid JSON: ${(e as Error).message}`);
    }
    try {
      base = resolveMappingPaths(parseMapping(json), path.dirname(path.resolve(config)));
    } catch (e) {
      throw new UsageError(`--config ${config}: ${(e as Error).message}`);
    }
  }
  const m: Record<string, unknown> = { ...base, version: 1 };
  if (positionals[0] !== undefined) m.input = inputLocation(positionals[0]);
  const type = oneOf('type', opt('type'), ANNOTATION_TYPES);
  if (type !== undefined) {
    if (type !== base.annotationType) delete m.geometry;
    m.annotationType = type;
  }
  // A bucket URL stays as it is (and an s3:-looking --out is never made a local path).
  if (opt('out') !== undefined) m.output = looksLikeUrl(opt('out')!) ? opt('out') : path.resolve(opt('out')!);
  // Geometry columns per role (they replace the mapping's roles as a whole).
  const roles = ALL_ROLES.filter((r) => opt(r) !== undefined);
  if (roles.length) {
    const t = (m.annotationType as AnnotationType | undefined) ?? 'point';
    const wrong = roles.find((r) => !GEOMETRY_ROLES[t].includes(r));
    if (wrong) throw new UsageError(`--${wrong} is not a role of --type ${t} (it has ${GEOMETRY_ROLES[t].map((r) => `--${r}`).join(', ')})`);
    m.geometry = Object.fromEntries(roles.map((r) => [r, list(opt(r))!]));
  }
  if (opt('dims') !== undefined && opt('coords') !== undefined) throw new UsageError('give --dims or --coords, not both (--coords is --dims with conventional column names)');
  const dimsText = opt('dims') ?? opt('coords');
  if (dimsText !== undefined) {
    const d = parseDims(dimsText);
    m.coords = d.names;
    if (d.units) m.units = d.units;
    if (d.scales) m.scales = d.scales;
  }
  if (m.coords === undefined) {
    const g = m.geometry as GeometryColumns | undefined;
    const first = g ? Object.values(g)[0] : undefined;
    m.coords = first ? dimsFromColumns(first) : ['x', 'y', 'z'];
  }
  const rank = (m.coords as string[]).length;
  if (opt('units') !== undefined) {
    const u = list(opt('units'))!;
    m.units = u.length === 1 ? new Array(rank).fill(u[0]) : u;
  }
  if (opt('scales') !== undefined) {
    const s = list(opt('scales'))!.map((x) => {
      const n = Number(x);
      if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--scales expects positive numbers, got ${JSON.stringify(x)}`);
      return n;
    });
    m.scales = s.length === 1 ? new Array(rank).fill(s[0]) : s;
  }
  // Properties: names from --properties, explicit types from --property-type name=type.
  const props: Array<string | PropertySpec> = opt('properties') !== undefined ? list(opt('properties'))! : ((base.properties as Array<string | PropertySpec>) ?? []);
  for (const pt of v['property-type'] ?? []) {
    const eq = pt.indexOf('=');
    const name = pt.slice(0, eq).trim();
    const type = pt.slice(eq + 1).trim();
    if (eq <= 0 || !PROPERTY_TYPES.includes(type as PropertyType)) {
      throw new UsageError(`--property-type expects name=type with type one of ${PROPERTY_TYPES.join(', ')}, got ${JSON.stringify(pt)}`);
    }
    const at = props.findIndex((p) => (typeof p === 'string' ? p : p.id) === name);
    const prev = at >= 0 ? props[at] : undefined;
    const spec: PropertySpec = { ...(typeof prev === 'object' ? prev : {}), id: name, type: type as PropertyType };
    if (at >= 0) props[at] = spec;
    else props.push(spec);
  }
  if (props.length) m.properties = props;
  if (opt('relationships') !== undefined) m.relationships = list(opt('relationships'));
  if (opt('id-column') !== undefined && flag('no-id-column')) throw new UsageError('give --id-column or --no-id-column, not both');
  if (opt('id-column') !== undefined) m.idColumn = opt('id-column');
  if (flag('no-id-column')) m.idColumn = null;
  if (opt('delimiter') !== undefined) {
    const d = DELIMITERS[opt('delimiter')!.toLowerCase()];
    if (!d) throw new UsageError(`--delimiter expects one of , ; tab |, got ${JSON.stringify(opt('delimiter'))}`);
    m.delimiter = d;
  }
  // The flags that map one to one to a mapping field (shared/mapping.ts's table), in its order.
  for (const [key, f] of Object.entries(MAPPING_FIELDS) as Array<[string, { flag?: FlagSpec }]>) {
    const value = f.flag && flagValue(f.flag, flag, opt);
    if (value !== undefined) m[key] = value;
  }
  if (m.annotationType === undefined) throw new UsageError(`--type is required (${TYPES})`);
  if (m.input === undefined) {
    if (m.points === undefined) throw new UsageError('a table file is required');
    // Polylines without properties: the vertices file is the table.
    m.input = m.points;
    delete m.points;
  }
  let mapping: Mapping;
  try {
    mapping = parseMapping(m);
  } catch (e) {
    // The mapping's field names, in the command line's words.
    const msg = (e as Error).message.replace(/^geometry\.(\w+): /, '--$1: ').replace(/^coords: /, '--dims: ');
    throw new UsageError(msg);
  }
  // Coordinate names, units and scales come only from the command line (or mapping): a bad one is a usage mistake.
  try {
    normalizeCoordSpace(mappingCoordSpace(mapping));
  } catch (e) {
    throw new UsageError(`--${opt('coords') !== undefined ? 'coords' : 'dims'}/--units/--scales: ${(e as Error).message}`);
  }
  // A contradiction between options is a usage mistake (exit 2), not an export error.
  if (mapping.points !== undefined && mapping.annotationType !== 'polyline') {
    throw new UsageError(`--points (polyline vertices) is only for --type polyline, not ${mapping.annotationType}`);
  }
  if (mapping.annotationType === 'polyline' && mapping.points === undefined && (mapping.properties?.length || mapping.relationships?.length)) {
    throw new UsageError('--properties and --relationships need a main table: give it as the table file and the vertices with --points');
  }
  if (mapping.chunkLimit === 0 && mapping.spatial !== false && (mapping.spatialLevels ?? 7) !== 1) {
    throw new UsageError(`--chunk-limit 0 (no subsampling) needs --spatial-levels 1, got ${mapping.spatialLevels ?? '7 (the default)'}`);
  }
  if (mapping.output === undefined) {
    const src = mapping.input!;
    // Beside a local input; for a URL, in the current folder.
    const remote = isRemote(src);
    const stem = path.basename(remote ? remotePath(src) : src).replace(/\.[^.]+$/, '');
    mapping.output = remote ? path.resolve(`${stem}.precomputed`) : path.join(path.dirname(src), `${stem}.precomputed`);
  }
  const uploadConcurrency = wholeNumber('upload-concurrency', opt('upload-concurrency'), 1, 1024);
  return { mapping, json: flag('json'), quiet: flag('quiet'), idGiven: mapping.idColumn !== undefined, uploadConcurrency };
}

/**
 * A file argument as the readers take it: a URL (https://, s3://, gs://) as given, to be read remotely;
 * anything else URL-like is refused (one line saying what is expected), never taken for a path; a path
 * made absolute.
 */
function inputLocation(s: string): string {
  if (!looksLikeUrl(s)) return path.resolve(s);
  if (isRemote(s)) return s;
  throw new ExportError(`${JSON.stringify(s)} is not a supported input URL; give a local file, https://host/path/table.parquet, s3://bucket/key or gs://bucket/key`);
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let x = n / 1000;
  let u = 0;
  while (x >= 1000 && u < units.length - 1) {
    x /= 1000;
    u++;
  }
  return `${x.toFixed(x < 10 ? 2 : 1)} ${units[u]}`;
}

/** A writer error in the command line's words: roles as flags, and why an id column was chosen. */
function inCliWords(e: ExportError, mapping: Mapping, idGuessed: boolean): ExportError {
  let message = e.message.replace(/give the columns per role \(([^)]*)\)/, (_, roles: string) =>
    `give them with ${roles.split(', ').map((r) => `--${r} ${mapping.coords.map((d) => d.toUpperCase()).join(',')}`).join(' ')}`,
  );
  if (idGuessed && e.details.column === mapping.idColumn) {
    message += ` (column ${JSON.stringify(mapping.idColumn)} was taken as the id column because of its name; --no-id-column numbers the rows instead, --id-column NAME picks another)`;
  }
  return message === e.message ? e : new ExportError(message, e.details);
}

function csvOptions(m: Mapping): { delimiter?: string; decimalComma?: boolean } {
  return { delimiter: m.delimiter, decimalComma: m.decimalComma };
}

export function describeSummary(s: WriteSummary, how: { idGuessed?: boolean; dialect?: string } = {}): string {
  const lines = [`Wrote ${s.annotations.toLocaleString('en-US')} ${s.annotationType} annotation(s) (${s.rank}-D) to ${s.outputDir}`];
  if (how.dialect) lines.push(`  read as: ${how.dialect}`);
  if (s.geometry) {
    const roles = GEOMETRY_ROLES[s.annotationType].filter((r) => s.geometry![r]);
    lines.push(`  geometry: ${roles.map((r) => `${roleLabel(s.annotationType, r)} ${s.geometry![r]!.join(',')}`).join('; ')}`);
  }
  if (s.ids) {
    const src = s.ids.column ? `column ${JSON.stringify(s.ids.column)}${how.idGuessed ? ' (unique integers named "id"; --no-id-column for row numbers)' : ''}` : s.ids.source;
    lines.push(`  ids: ${src}`);
  }
  if (s.byId) lines.push(`  by_id: ${s.byId.keys.toLocaleString('en-US')} ids, ${formatBytes(s.byId.bytes)} in ${s.byId.files} file(s)`);
  for (const r of s.relationships) lines.push(`  ${r.key}: ${r.keys.toLocaleString('en-US')} related ids, ${r.entries.toLocaleString('en-US')} links, ${formatBytes(r.bytes)}`);
  for (const l of s.spatial) {
    lines.push(`  ${l.key}: grid ${l.gridShape.join('x')}, ${l.keys.toLocaleString('en-US')} chunk(s), ${l.entries.toLocaleString('en-US')} entries, limit ${l.limit}, ${formatBytes(l.bytes)}`);
  }
  lines.push(`  ${formatBytes(s.bytesWritten)} in ${s.filesWritten} file(s), ${(s.elapsedMs / 1000).toFixed(2)} s${s.mode === 'stream' ? ' (through temporary files: see --memory-limit)' : ''}`);
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const parsed = mappingFromArgs(argv);
  if (parsed === 'help') {
    process.stdout.write(formatHelp(EXPORT_SPEC) + '\n');
    return 0;
  }
  const { mapping, json, quiet, idGiven, uploadConcurrency } = parsed;
  // A text file's delimiter: given, else sniffed here once (and said in the summary).
  let dialect: string | undefined;
  let fmt: InputFormat | undefined;
  let sniffed: string | undefined;
  if (mapping.input !== undefined) {
    const remote = isRemote(mapping.input);
    try {
      fmt = formatOf(mapping.input);
    } catch {
      // the writer names the problem
    }
    if (fmt === 'csv' || fmt === 'tsv') {
      // A URL's first 64 KiB are fetched for this; if that fails, the writer names the problem.
      const d = await inputDelimiter(mapping.input, fmt, mapping.delimiter).catch(() => undefined);
      if (remote) sniffed = d;
      if (d !== undefined) dialect = `${showDelimiter(d)}-separated${mapping.delimiter === undefined ? ' (sniffed; --delimiter to choose)' : ''}${mapping.decimalComma ? ', decimal comma' : ''}`;
    }
  }
  // Ctrl+C from here on cancels the export (exit 130, nothing written), also while the first rows are
  // read for the guess below: the export then sees its signal already aborted.
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // The same default as the form: `id` as the id column when it is unique and integral in the first rows.
  let idGuessed = false;
  if (!idGiven && mapping.annotationType !== 'polyline' && mapping.input !== undefined) {
    const text = sniffed !== undefined ? { ...csvOptions(mapping), delimiter: sniffed } : csvOptions(mapping);
    // A bad file is left for the writer to name; a URL that cannot be read stops here (a guess
    // silently skipped would change the ids).
    const remote = isRemote(mapping.input);
    // Of a Parquet file only the cells the guess reads are decoded: none when there is an
    // annotation_id column, else those of a column named id (the first row group of every column
    // took 0.2-0.3 s at 1e6 rows, and was the whole table at 1e5).
    const idCells = (names: string[]) => (names.includes('annotation_id') ? [] : names.filter((n) => n.toLowerCase() === 'id'));
    const preview = await previewTable(mapping.input, GUESS_ROWS, remote ? fmt : undefined, text, idCells).catch((e: unknown) => {
      if (remote && e instanceof ExportError) throw e;
      return null;
    });
    const id = preview ? guessIdColumn(preview) : undefined;
    if (id !== undefined) {
      mapping.idColumn = id;
      idGuessed = true;
    }
  }
  const bar = !quiet && process.stderr.isTTY ? new ProgressBar(process.stderr) : null;
  try {
    const options = mappingToWriteOptions(mapping);
    // `export vertices.csv --type polyline` alone: the vertices file is the only table.
    const verticesOnly = mapping.annotationType === 'polyline' && mapping.points === undefined;
    const summary = await writePrecomputedAnnotations(
      mapping.input ?? null,
      mappingCoordSpace(mapping),
      mapping.annotationType,
      {
        ...options,
        polylinePoints: verticesOnly ? undefined : options.polylinePoints,
        uploadConcurrency,
        signal: controller.signal,
        onProgress: bar ? (p) => bar.update(p) : undefined,
        onWarning: quiet ? undefined : (w) => {
          bar?.clear();
          process.stderr.write(`warning: ${w}\n`);
        },
      },
    ).catch((e: unknown) => {
      if (e instanceof ExportError) e = inCliWords(e, mapping, idGuessed);
      // The writer names column and rows but not the file; with a single table we know which file it is.
      const single = mapping.points === undefined && mapping.input !== undefined;
      if (single && e instanceof ExportError && (e.details.column !== undefined || e.details.rows !== undefined)) {
        throw new ExportError(`${path.basename(mapping.input!)}: ${e.message}`, e.details);
      }
      throw e;
    });
    bar?.done();
    if (json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    else if (!quiet) process.stdout.write(describeSummary(summary, { idGuessed, dialect }) + '\n');
    return 0;
  } finally {
    bar?.clear();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
