// `ng-annotations to-table <dataset> --out table.parquet|.csv|.tsv|.arrow` and
// `ng-annotations from-state <state.json|link> [--layer NAME] [--type T] --out DIR [export options]`.
// from-state writes the layer's tables to a temporary folder and runs `export` on them with a mapping,
// so every export option (and its checks and messages) applies unchanged.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ANNOTATION_TYPES, type AnnotationType } from '../core/types';
import { readPrecomputedAnnotations } from '../roundtrip/read';
import { tableFormatOf, writeTableFiles } from '../roundtrip/tableFile';
import { defaultOutputName, loadState, stateLayerTables, writeStateTables } from '../roundtrip/state';
import { UsageError, formatHelp, parseCommand, type CommandSpec } from './usage';
import { EXPORT_SPEC, run as runExport } from './export';

export const TO_TABLE_SPEC: CommandSpec = {
  name: 'to-table',
  synopsis: 'to-table <dataset-dir|http(s)-url|s3://…|gs://…> --out <table.parquet|.csv|.tsv|.arrow> [options]',
  summary: 'Reads a precomputed annotation dataset back into a table, and writes <table>.mapping.json beside it (and <table>.vertices.<ext> for polylines).',
  docs: 'docs/round-trips.md',
  options: [
    { name: 'out', short: 'o', type: 'string', value: 'FILE', help: 'the table to write: .parquet, .csv, .tsv or .arrow (required)' },
    { name: 'from', type: 'string', value: 'by_id|spatial', help: 'which index to read', default: 'by_id when present' },
    { name: 'overwrite', type: 'flag', help: 'replace existing table files' },
    { name: 'quiet', short: 'q', type: 'flag', help: 'no summary or warnings' },
    { name: 'json', type: 'flag', help: 'print the summary as JSON' },
    { name: 'help', short: 'h', type: 'flag', help: 'this help' },
  ],
  footer: ["Export it again: ng-annotations export --config <table>.mapping.json --out <dir>"],
};

/** from-state takes every export option (it runs export on the layer's tables), and --layer. */
export const FROM_STATE_SPEC: CommandSpec = {
  name: 'from-state',
  synopsis: 'from-state <state.json | https://…/#!{…} | https://…/#!https://…/state.json> [--layer NAME] [--type TYPE] --out <dir> [export options]',
  summary: "Turns an annotation layer of a neuroglancer JSON state into a precomputed dataset, through the export command (every export option applies; the layer gives the columns, ids and mapping).",
  docs: 'docs/round-trips.md',
  options: [
    { name: 'layer', type: 'string', value: 'NAME', help: 'the annotation layer to convert', default: 'the only one', group: 'State' },
    ...EXPORT_SPEC.options.map((o) => (o.name === 'type' ? { ...o, help: "the layer's annotation type to keep", default: 'the only one' } : o)),
  ],
};

export async function runToTable(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseCommand(TO_TABLE_SPEC, argv) as { values: { out?: string; from?: string; overwrite?: boolean; quiet?: boolean; json?: boolean; help?: boolean }; positionals: string[] };
  if (v.help) {
    process.stdout.write(formatHelp(TO_TABLE_SPEC) + '\n');
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one dataset (a folder, an http(s) URL or s3:// / gs:// URL), got ${positionals.length}`);
  if (v.out === undefined) throw new UsageError('--out <table file> is required');
  if (tableFormatOf(v.out) === undefined) throw new UsageError(`--out ${v.out}: use a .parquet, .csv, .tsv or .arrow file name`);
  if (v.from !== undefined && v.from !== 'by_id' && v.from !== 'spatial') throw new UsageError(`--from expects by_id or spatial, got ${JSON.stringify(v.from)}`);
  const t = await readPrecomputedAnnotations(positionals[0], {
    from: v.from as 'by_id' | 'spatial' | undefined,
    onWarning: v.quiet ? undefined : (w) => process.stderr.write(`warning: ${w}\n`),
  });
  const written = await writeTableFiles(t, v.out, { overwrite: v.overwrite });
  if (v.json) {
    process.stdout.write(JSON.stringify({ annotations: t.table.numRows, vertices: t.vertices?.numRows, source: t.source, files: written.files, mapping: written.mappingFile }, null, 2) + '\n');
  } else if (!v.quiet) {
    process.stdout.write(
      `Read ${t.table.numRows.toLocaleString('en-US')} ${t.annotationType} annotation(s) (${t.coords.length}-D) from ${t.source}\n` +
        `Wrote ${written.files.join(', ')}\n` +
        `  export again: ng-annotations export --config ${written.mappingFile} --out <dir>\n`,
    );
  }
  return 0;
}

export async function runFromState(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseCommand(FROM_STATE_SPEC, argv) as { values: Record<string, string | string[] | boolean | undefined> & { layer?: string; type?: string; config?: string; help?: boolean; quiet?: boolean }; positionals: string[] };
  if (v.help) {
    process.stdout.write(formatHelp(FROM_STATE_SPEC) + '\n');
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one state (a JSON file or a neuroglancer link), got ${positionals.length}`);
  if (v.config !== undefined) throw new UsageError('--config does not apply to from-state (the layer gives the mapping); give export options as flags');
  for (const f of ['coords', 'dims', 'point', 'a', 'b', 'center', 'radii', 'vertex', 'points', 'id-column', 'no-id-column', 'delimiter', 'decimal-comma'] as const) {
    if (v[f] !== undefined) throw new UsageError(`--${f} does not apply to from-state: the layer gives it`);
  }
  if (v.type !== undefined && !ANNOTATION_TYPES.includes(v.type as AnnotationType)) {
    throw new UsageError(`--type expects one of ${ANNOTATION_TYPES.join(', ')}, got ${JSON.stringify(v.type)}`);
  }
  const stateArg = positionals[0];
  const state = await loadState(stateArg);
  const t = stateLayerTables(state, v.layer, v.type as AnnotationType | undefined);
  if (!v.quiet) for (const w of t.warnings) process.stderr.write(`warning: ${w}\n`);

  // The export command line: every option given but --layer, plus a mapping for the layer.
  const forward: string[] = [];
  for (const [name, value] of Object.entries(v)) {
    if (name === 'layer' || value === undefined || value === false) continue;
    for (const one of Array.isArray(value) ? value : [value]) forward.push(one === true ? `--${name}` : `--${name}=${one}`);
  }
  const tmp = await mkdtemp(path.join(tmpdir(), 'ng-annotations-state-'));
  try {
    // Without --out: next to a state file, else in the current folder.
    const near = /^[a-z][a-z0-9+.-]*:\/\/|#!/i.test(stateArg) ? '.' : path.dirname(stateArg);
    const mapping = await writeStateTables(t, tmp, path.resolve(near, defaultOutputName(t.layer)));
    const config = path.join(tmp, 'mapping.json');
    await writeFile(config, JSON.stringify(mapping));
    return await runExport(['--config', config, ...forward]);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
