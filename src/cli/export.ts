// `ng-annotations export <table-file> --type T --out DIR [...]`: flags (and an optional mapping JSON)
// become writer options; errors become one line and an exit status.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { writePrecomputedAnnotations } from '../core/write';
import { ExportError } from '../core/errors';
import { normalizeCoordSpace } from '../core/coords';
import { PROPERTY_TYPES, type PropertySpec, type PropertyType, type WriteSummary } from '../core/types';
import { parseByteSize, parseMapping, resolveMappingPaths, mappingCoordSpace, mappingToWriteOptions, type Mapping } from '../mapping';
import { UsageError } from './usage';
import { ProgressBar } from './progress';
import { looksLikeUrl } from '../storage/url';

export const EXPORT_USAGE = `Usage: ng-annotations export <table-file> --type <point|line|axis_aligned_bounding_box|ellipsoid|polyline> --out <dir>
    [--coords x,y,z] [--units nm,nm,nm] [--scales 8,8,40]
    [--properties a,b,c] [--property-type a=uint16]... [--relationships r1,r2]
    [--id-column NAME] [--points <vertices-file>]
    [--unsharded] [--no-by-id] [--no-by-relationship] [--no-spatial]
    [--spatial-levels 7] [--chunk-limit 10000] [--no-shuffle] [--seed N]
    [--threads N] [--gzip-level 0-9|raw] [--data-encoding gzip|raw|auto]
    [--memory-limit SIZE] [--upload-concurrency N]
    [--description TEXT] [--overwrite]
    [--config mapping.json] [--quiet] [--json]`;

const OPTIONS = {
  type: { type: 'string' },
  out: { type: 'string', short: 'o' },
  coords: { type: 'string' },
  units: { type: 'string' },
  scales: { type: 'string' },
  properties: { type: 'string' },
  'property-type': { type: 'string', multiple: true },
  relationships: { type: 'string' },
  'id-column': { type: 'string' },
  points: { type: 'string' },
  unsharded: { type: 'boolean' },
  'no-by-id': { type: 'boolean' },
  'no-by-relationship': { type: 'boolean' },
  'no-spatial': { type: 'boolean' },
  'spatial-levels': { type: 'string' },
  'chunk-limit': { type: 'string' },
  'no-shuffle': { type: 'boolean' },
  seed: { type: 'string' },
  threads: { type: 'string' },
  'gzip-level': { type: 'string' },
  'data-encoding': { type: 'string' },
  'memory-limit': { type: 'string' },
  'upload-concurrency': { type: 'string' },
  description: { type: 'string' },
  overwrite: { type: 'boolean' },
  config: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function list(s: string | undefined): string[] | undefined {
  if (s === undefined) return undefined;
  const items = s.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  return items;
}

function wholeNumber(flag: string, s: string | undefined, min: number, max: number): number | undefined {
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s.trim())) throw new UsageError(`--${flag} expects a whole number, got ${JSON.stringify(s)}`);
  const n = Number(s);
  if (n < min || n > max) throw new UsageError(`--${flag} must be between ${min} and ${max}, got ${s}`);
  return n;
}

/** Builds the mapping from --config (if any) overlaid with the flags. Throws UsageError. */
export function mappingFromArgs(argv: string[]): { mapping: Mapping; json: boolean; quiet: boolean; uploadConcurrency?: number } | 'help' {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) return 'help';
  if (positionals.length > 1) throw new UsageError(`expected one table file, got ${positionals.length}: ${positionals.join(' ')}`);
  let base: Partial<Mapping> = {};
  if (v.config !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(v.config, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read --config ${v.config}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`--config ${v.config} is not valid JSON: ${(e as Error).message}`);
    }
    try {
      base = resolveMappingPaths(parseMapping(json), path.dirname(path.resolve(v.config)));
    } catch (e) {
      throw new UsageError(`--config ${v.config}: ${(e as Error).message}`);
    }
  }
  const m: Record<string, unknown> = { ...base, version: 1 };
  if (positionals[0] !== undefined) m.input = path.resolve(positionals[0]);
  if (v.type !== undefined) m.annotationType = v.type;
  // A bucket URL stays as it is (and an s3:-looking --out is never made a local path).
  if (v.out !== undefined) m.output = looksLikeUrl(v.out) ? v.out : path.resolve(v.out);
  if (v.coords !== undefined) m.coords = list(v.coords);
  if (m.coords === undefined) m.coords = ['x', 'y', 'z'];
  const rank = (m.coords as string[]).length;
  if (v.units !== undefined) {
    const u = list(v.units)!;
    m.units = u.length === 1 ? new Array(rank).fill(u[0]) : u;
  }
  if (v.scales !== undefined) {
    const s = list(v.scales)!.map((x) => {
      const n = Number(x);
      if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--scales expects positive numbers, got ${JSON.stringify(x)}`);
      return n;
    });
    m.scales = s.length === 1 ? new Array(rank).fill(s[0]) : s;
  }
  // Properties: names from --properties, explicit types from --property-type name=type.
  const props: Array<string | PropertySpec> = v.properties !== undefined ? list(v.properties)! : ((base.properties as Array<string | PropertySpec>) ?? []);
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
  if (v.relationships !== undefined) m.relationships = list(v.relationships);
  if (v['id-column'] !== undefined) m.idColumn = v['id-column'];
  if (v.points !== undefined) m.points = path.resolve(v.points);
  if (v.unsharded) m.sharded = false;
  if (v['no-by-id']) m.byId = false;
  if (v['no-by-relationship']) m.byRelationship = false;
  if (v['no-spatial']) m.spatial = false;
  const levels = wholeNumber('spatial-levels', v['spatial-levels'], 1, 64);
  if (levels !== undefined) m.spatialLevels = levels;
  const limit = wholeNumber('chunk-limit', v['chunk-limit'], 0, 2 ** 31);
  if (limit !== undefined) m.chunkLimit = limit;
  if (v['no-shuffle']) m.shuffle = false;
  const seed = wholeNumber('seed', v.seed, 0, Number.MAX_SAFE_INTEGER);
  if (seed !== undefined) m.seed = seed;
  const threads = wholeNumber('threads', v.threads, 1, 256);
  if (threads !== undefined) m.threads = threads;
  if (v['gzip-level'] !== undefined) m.gzipLevel = v['gzip-level'] === 'raw' ? 'raw' : wholeNumber('gzip-level', v['gzip-level'], 0, 9);
  if (v['data-encoding'] !== undefined) m.dataEncoding = v['data-encoding'];
  if (v['memory-limit'] !== undefined) {
    const bytes = parseByteSize(v['memory-limit']);
    if (bytes === null) throw new UsageError(`--memory-limit expects a size such as 4G, 512M or a number of bytes, got ${JSON.stringify(v['memory-limit'])}`);
    m.memoryLimit = bytes;
  }
  if (v.description !== undefined) m.description = v.description;
  if (v.overwrite) m.overwrite = true;
  if (m.annotationType === undefined) throw new UsageError('--type is required (point, line, axis_aligned_bounding_box, ellipsoid or polyline)');
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
    throw new UsageError((e as Error).message);
  }
  // Coordinate names, units and scales come only from the command line (or mapping): a bad one is a usage mistake.
  try {
    normalizeCoordSpace(mappingCoordSpace(mapping));
  } catch (e) {
    throw new UsageError(`--coords/--units/--scales: ${(e as Error).message}`);
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
    const stem = path.basename(src).replace(/\.[^.]+$/, '');
    mapping.output = path.join(path.dirname(src), `${stem}.precomputed`);
  }
  const uploadConcurrency = wholeNumber('upload-concurrency', v['upload-concurrency'], 1, 1024);
  return { mapping, json: v.json ?? false, quiet: v.quiet ?? false, uploadConcurrency };
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

export function describeSummary(s: WriteSummary): string {
  const lines = [`Wrote ${s.annotations.toLocaleString('en-US')} ${s.annotationType} annotation(s) (${s.rank}-D) to ${s.outputDir}`];
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
    process.stdout.write(EXPORT_USAGE + '\n');
    return 0;
  }
  const { mapping, json, quiet, uploadConcurrency } = parsed;
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
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
      // The writer names column and rows but not the file; with a single table we know which file it is.
      const single = mapping.points === undefined && mapping.input !== undefined;
      if (single && e instanceof ExportError && (e.details.column !== undefined || e.details.rows !== undefined)) {
        throw new ExportError(`${path.basename(mapping.input!)}: ${e.message}`, e.details);
      }
      throw e;
    });
    bar?.done();
    if (json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    else if (!quiet) process.stdout.write(describeSummary(summary) + '\n');
    return 0;
  } finally {
    bar?.clear();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
