// `ng-annotations to-table <dataset> --out table.parquet|.csv|.tsv|.arrow` and
// `ng-annotations from-state <state.json|link> [--layer NAME] [--type T] --out DIR [export options]`.
// from-state writes the layer's tables to a temporary folder and runs `export` on them with a mapping,
// so every export option (and its checks and messages) applies unchanged.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ANNOTATION_TYPES, type AnnotationType } from '../core/types';
import { readPrecomputedAnnotations } from '../roundtrip/read';
import { tableFormatOf, writeTableFiles } from '../roundtrip/tableFile';
import { defaultOutputName, loadState, stateLayerTables, writeStateTables } from '../roundtrip/state';
import { UsageError } from './usage';
import { OPTIONS as EXPORT_OPTIONS, run as runExport } from './export';

export const TO_TABLE_USAGE = `Usage: ng-annotations to-table <dataset-dir|http(s)-url> --out <table.parquet|.csv|.tsv|.arrow>
    [--from by_id|spatial] [--overwrite] [--quiet] [--json]
  Also writes <table>.mapping.json (and <table>.vertices.<ext> for polylines):
  'ng-annotations export --config <table>.mapping.json --out <dir>' exports it again.`;

export const FROM_STATE_USAGE = `Usage: ng-annotations from-state <state.json | https://…/#!{…} | https://…/#!https://…/state.json>
    [--layer NAME] [--type TYPE] --out <dir> [any export option]`;

export async function runToTable(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        out: { type: 'string', short: 'o' },
        from: { type: 'string' },
        overwrite: { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    process.stdout.write(TO_TABLE_USAGE + '\n');
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one dataset (a folder or an http(s) URL), got ${positionals.length}`);
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
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, tokens: true, options: { ...EXPORT_OPTIONS, layer: { type: 'string' } } });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values: v, positionals, tokens } = parsed;
  if (v.help) {
    process.stdout.write(FROM_STATE_USAGE + '\n');
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one state (a JSON file or a neuroglancer link), got ${positionals.length}`);
  if (v.config !== undefined) throw new UsageError('--config does not apply to from-state (the layer gives the mapping); give export options as flags');
  for (const f of ['coords', 'points', 'id-column'] as const) {
    if (v[f] !== undefined) throw new UsageError(`--${f} does not apply to from-state: the layer gives it`);
  }
  if (v.type !== undefined && !ANNOTATION_TYPES.includes(v.type as AnnotationType)) {
    throw new UsageError(`--type expects one of ${ANNOTATION_TYPES.join(', ')}, got ${JSON.stringify(v.type)}`);
  }
  const stateArg = positionals[0];
  const state = await loadState(stateArg);
  const t = stateLayerTables(state, v.layer, v.type as AnnotationType | undefined);
  if (!v.quiet) for (const w of t.warnings) process.stderr.write(`warning: ${w}\n`);

  // The export command line: every token but the state and --layer, plus a mapping for the layer.
  const forward: string[] = [];
  for (const tok of tokens ?? []) {
    if (tok.kind === 'positional' || (tok.kind === 'option' && tok.name === 'layer')) continue;
    if (tok.kind === 'option') {
      forward.push(tok.rawName);
      if (tok.value !== undefined) forward.push(tok.value);
    } else if (tok.kind === 'option-terminator') forward.push('--');
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
