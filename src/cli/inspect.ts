// `ng-annotations inspect <dir>`: summary of a precomputed annotation dataset and a consistency check.
// Exit 0 if consistent (warnings allowed), 1 if broken, 2 on usage errors.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { openBucketStore } from '../io/remote';
import { runLimited } from '../core/storage';
import { formatHelp, parseCommand, usageErrorText, type CommandSpec } from './usage';
import { inspectDataset, type IndexSummary, type InspectReport } from '../inspect/check';

export const INSPECT_SPEC: CommandSpec = {
  name: 'inspect',
  synopsis: 'inspect <dir|s3://bucket/prefix|gs://bucket/prefix> [--json]',
  summary: 'Summarises a precomputed annotation dataset and checks it (exit 0 consistent, 1 broken, 2 usage).',
  docs: 'docs/cli.md#inspect',
  options: [
    { name: 'json', type: 'flag', help: 'print the report as JSON' },
    { name: 'help', short: 'h', type: 'flag', help: 'this help' },
  ],
};

/** Where output goes; tests pass their own (the test runner owns the real stdout). */
export interface Io {
  out(s: string): void;
  err(s: string): void;
}
const STD: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

export async function run(argv: string[], io: Io = STD): Promise<number> {
  let values: { json?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseCommand(INSPECT_SPEC, argv) as { values: typeof values; positionals: string[] });
  } catch (e) {
    io.err(usageErrorText('inspect', (e as Error).message));
    return 2;
  }
  if (values.help) {
    io.out(formatHelp(INSPECT_SPEC) + '\n');
    return 0;
  }
  if (positionals.length !== 1) {
    io.err(usageErrorText('inspect', `expected one dataset folder, got ${positionals.length}`));
    return 2;
  }
  // A progress line on a terminal only; pipes and tests get clean output.
  const tty = io === STD && process.stderr.isTTY;
  const onProgress = tty ? ({ index, values }: { index: string; values: number }) => process.stderr.write(`\r\x1b[Kreading ${index}/ … ${values} values`) : undefined;
  const target = positionals[0];
  const report = /^(s3|gs):/i.test(target) ? await inspectBucket(target, onProgress) : await inspectDataset(path.resolve(target), { onProgress });
  if (tty) process.stderr.write('\r\x1b[K');
  if (values.json) {
    io.out(JSON.stringify(report, null, 2) + '\n');
  } else {
    io.out(formatReport(report));
  }
  return report.ok ? 0 : 1;
}

/**
 * A dataset in a bucket: its objects are downloaded into a temporary folder (inspect reads every
 * byte of a dataset to check it anyway), checked there, and the folder removed; the report names
 * the bucket URL.
 */
async function inspectBucket(url: string, onProgress?: (p: { index: string; values: number }) => void): Promise<InspectReport> {
  const { store, bucket } = await openBucketStore(url);
  const tmp = await mkdtemp(path.join(tmpdir(), 'ng-annotations-inspect-'));
  try {
    const base = bucket.prefix ? `${bucket.prefix}/` : '';
    const keys = await store.list(base);
    await runLimited(8, keys.length, async (i) => {
      const file = path.resolve(tmp, ...keys[i].slice(base.length).split('/'));
      if (!file.startsWith(tmp + path.sep)) return; // a key with '..' segments stays out
      const bytes = await store.get(keys[i]);
      if (bytes === null) return; // deleted meanwhile
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, bytes);
    });
    const report = await inspectDataset(tmp, { onProgress });
    return JSON.parse(JSON.stringify(report).split(tmp).join(bucket.url)) as InspectReport;
  } finally {
    store.destroy();
    await rm(tmp, { recursive: true, force: true });
  }
}

const bytes = (n: number) =>
  n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : n < 1024 ** 3 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${(n / 1024 ** 3).toFixed(2)} GiB`;

function storage(s: IndexSummary): string {
  if (s.missing) return 'folder missing';
  const files = `${s.files} ${s.sharding ? 'shard file' : 'file'}${s.files === 1 ? '' : 's'}, ${bytes(s.bytes)}`;
  if (!s.sharding) return `unsharded, ${files}`;
  const h = s.sharding;
  return `sharded (${h.hash}, preshift ${h.preshift_bits}, shard bits ${h.shard_bits}, minishard bits ${h.minishard_bits}, data ${h.data_encoding}, index ${h.minishard_index_encoding}), ${files}`;
}

export function formatReport(r: InspectReport): string {
  const out: string[] = [`Dataset ${r.dir}`];
  const s = r.summary;
  if (s) {
    out.push(`  type        ${s.annotationType}, rank ${s.rank}`);
    out.push(`  dimensions  ${Object.entries(s.dimensions).map(([n, [sc, u]]) => `${n} ${sc} ${u}`).join(', ')}`);
    out.push(`  bounds      [${s.lowerBound.join(', ')}] .. [${s.upperBound.join(', ')}]`);
    if (s.description) out.push(`  description ${s.description}`);
    out.push(`  properties  ${s.properties.length === 0 ? 'none' : ''}`);
    for (const p of s.properties) {
      const en = p.enum ? ` enum {${Object.entries(p.enum).map(([l, v]) => `${l}=${v}`).join(', ')}}` : '';
      out.push(`    ${p.id}: ${p.type}${en}${p.description ? ` — ${p.description}` : ''}`);
    }
    if (s.byId) out.push(`  by_id       ${s.byId.annotations} annotations in ${s.byId.key}/ — ${storage(s.byId)}`);
    else out.push('  by_id       none');
    out.push(`  relationships ${s.relationships.length === 0 ? 'none' : ''}`);
    for (const rel of s.relationships) {
      out.push(`    ${rel.id}: ${rel.relatedIds} related ids, ${rel.entries} entries in ${rel.key}/ — ${storage(rel)}`);
    }
    out.push(`  spatial     ${s.spatial.length} level${s.spatial.length === 1 ? '' : 's'}`);
    for (const l of s.spatial) {
      out.push(
        `    level ${l.level} (${l.key}/): grid ${l.gridShape.join('×')}, chunk ${l.chunkSize.join('×')}, limit ${l.limit}; ${l.chunks} non-empty cells, ${l.entries} entries (max ${l.maxEntries} per cell) — ${storage(l)}`,
      );
    }
    out.push(`  total       ${s.totalFiles} files, ${bytes(s.totalBytes)}`);
  }
  const errors = r.problems.filter((p) => p.severity === 'error');
  const warnings = r.problems.filter((p) => p.severity === 'warning');
  for (const p of r.problems) out.push(`${p.severity}: ${p.where}: ${p.message}`);
  out.push(
    r.ok
      ? `OK: consistent${warnings.length ? ` (${warnings.length} warning${warnings.length === 1 ? '' : 's'})` : ''}`
      : `BROKEN: ${errors.length} problem${errors.length === 1 ? '' : 's'} shown above`,
  );
  return out.join('\n') + '\n';
}
