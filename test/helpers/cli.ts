// Runs the built command line (`node dist/cli.js`) as a user would, and writes the same table to every
// input format with independent writers (DuckDB for Parquet, apache-arrow for IPC/Feather).
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  Field,
  Float64,
  Int32,
  Int64,
  List,
  Table,
  Uint64,
  Utf8,
  makeVector,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import { duckdb } from '../io-fixtures';
import { limit, runSyncWithin } from './bounded';

export const ROOT = path.resolve(__dirname, '..', '..');
/**
 * The CLI the tests run: a private copy of dist/cli.js (with the files it finds next to itself), taken
 * once by ensureBuilt(), so a rebuild of dist/ while the tests run (another `npm run build`) cannot
 * hand a half-written bundle to a spawned process. NG_ANNOTATIONS_CLI points at another build instead.
 */
const SNAPSHOT = process.env.NG_ANNOTATIONS_CLI ? '' : fs.mkdtempSync(path.join(tmpdir(), 'ng-cli-bin-'));
if (SNAPSHOT) process.on('exit', () => fs.rmSync(SNAPSHOT, { recursive: true, force: true }));
export const CLI = process.env.NG_ANNOTATIONS_CLI ?? path.join(SNAPSHOT, 'dist', 'cli.js');

// Runs under flock so test files starting side by side do not rebuild (and rewrite dist/cli.js) at once;
// the staleness check is inside the lock, so only the first one builds.
const BUILD_IF_STALE = `
const fs = require('node:fs'), path = require('node:path'), { spawnSync } = require('node:child_process');
const [root, cli] = process.argv.slice(1);
const newest = (p) => { const st = fs.statSync(p); return st.isDirectory() ? Math.max(0, ...fs.readdirSync(p).map((n) => newest(path.join(p, n)))) : st.mtimeMs; };
let built = 0; try { built = fs.statSync(cli).mtimeMs; } catch {}
if (built >= Math.max(newest(path.join(root, 'src')), newest(path.join(root, 'package.json')))) process.exit(0);
const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
`;

/** Builds dist/ when dist/cli.js is missing or older than the sources (`npm test` builds first), then copies it. */
export function ensureBuilt(): void {
  if (!SNAPSHOT || fs.existsSync(CLI)) return;
  const built = path.join(ROOT, 'dist', 'cli.js');
  const node = [process.execPath, '-e', BUILD_IF_STALE, ROOT, built];
  // Bounded: a build (or a lock holder) that never ends fails here, naming the command.
  let r = runSyncWithin('flock', [path.join(tmpdir(), 'ng-annotations-cli-build.lock'), ...node], 180_000);
  if (r.error) r = runSyncWithin(node[0], node.slice(1), 180_000); // no flock(1) on this system
  assert.equal(r.status, 0, `building the CLI failed:\n${r.stderr}`);
  // Copy what the bundle loads from its own folder (worker scripts) and link what it finds beside it
  // (examples/ for demo, dist/viewer for serve); check the copy runs, retrying if a build was mid-write.
  for (let attempt = 0; ; attempt++) {
    fs.mkdirSync(path.join(SNAPSHOT, 'dist'), { recursive: true });
    for (const f of ['cli.js', 'shardWorker.js', 'parquetWorker.js', 'buckets.js']) fs.copyFileSync(path.join(ROOT, 'dist', f), path.join(SNAPSHOT, 'dist', f));
    for (const [link, target] of [['dist/viewer', 'dist/viewer'], ['examples', 'examples']]) {
      if (fs.existsSync(path.join(ROOT, target)) && !fs.existsSync(path.join(SNAPSHOT, link))) fs.symlinkSync(path.join(ROOT, target), path.join(SNAPSHOT, link));
    }
    const v = runSyncWithin(process.execPath, [CLI, '--version'], 30_000);
    if (v.status === 0 && /^\d+\.\d+\.\d+/.test(v.stdout)) return;
    if (attempt >= 20) assert.fail(`the copied CLI does not run: ${v.stderr}`);
    spawnSync('sleep', ['0.5']);
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Limit for one CLI run in the tests (the longest take a few seconds on an idle machine). */
const CLI_TIMEOUT_MS = 120_000;

/**
 * Runs `node dist/cli.js ...args` (asynchronously, so independent cases can run side by side). A run
 * that has not ended after CLI_TIMEOUT_MS (scaled by TEST_TIME_SCALE) is killed, and its stderr says so.
 */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const max = limit(CLI_TIMEOUT_MS);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        cwd: opts.cwd,
        env: { ...process.env, NG_ANNOTATIONS_DEBUG: '', ...opts.env },
        maxBuffer: 64 << 20,
        encoding: 'utf8',
        timeout: max,
        killSignal: 'SIGKILL',
      },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; signal?: NodeJS.Signals; killed?: boolean }) | null;
        const timedOut = e?.killed === true && e.signal === 'SIGKILL';
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout,
          stderr: timedOut ? `${stderr}\n[timed out after ${max / 1000} s waiting for \`ng-annotations ${args.join(' ')}\` to exit; killed]` : stderr,
        });
      },
    );
  });
}

/** Asserts a successful run and returns it. */
export async function runOk(args: string[], opts: { cwd?: string } = {}): Promise<CliResult> {
  const r = await runCli(args, opts);
  assert.equal(r.code, 0, `ng-annotations ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** Everything in `dir`, recursively, as relative paths (sorted). */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(r);
      if (e.isDirectory()) walk(path.join(d, e.name), r);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** Relative path → bytes, for byte-identity and "untouched" checks. */
export function snapshot(dir: string): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  for (const r of listTree(dir)) {
    const p = path.join(dir, r);
    if (fs.statSync(p).isFile()) m.set(r, fs.readFileSync(p));
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// One logical table, written to every format.

export type ColumnKind = 'f64' | 'u64' | 'i64' | 'i32' | 'str' | 'u64list' | 'i64list';
export interface Column {
  name: string;
  kind: ColumnKind;
  /** f64/i32: number; u64/i64: bigint | null; str: string; u64list/i64list: bigint[] */
  values: unknown[];
}
export type Format = 'csv' | 'tsv' | 'parquet' | 'arrow' | 'feather';
export const FORMATS: Format[] = ['csv', 'tsv', 'parquet', 'arrow', 'feather'];

function textCell(c: Column, v: unknown, row: number): string {
  switch (c.kind) {
    case 'u64':
    case 'i64':
      return v === null ? '' : String(v);
    case 'u64list':
    case 'i64list': {
      // Every relationship cell form a user may write: `100`, `[10, 11]`, `10;11`, empty.
      const l = v as bigint[];
      if (l.length === 0) return '';
      if (l.length === 1 && row % 2 === 0) return String(l[0]);
      return row % 3 === 0 ? l.join(';') : `[${l.join(', ')}]`;
    }
    default:
      return String(v);
  }
}

function quoteCsv(s: string): string {
  return /[",\n\r;]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toText(cols: Column[], delimiter: ',' | '\t'): string {
  const n = cols[0].values.length;
  const lines = [cols.map((c) => c.name).join(delimiter)];
  for (let i = 0; i < n; i++) {
    const cells = cols.map((c) => textCell(c, c.values[i], i));
    lines.push(cells.map((s) => (delimiter === ',' ? quoteCsv(s) : s)).join(delimiter));
  }
  return lines.join('\n') + '\n';
}

const SQL_TYPE: Record<ColumnKind, string> = { f64: 'DOUBLE', u64: 'UBIGINT', i64: 'BIGINT', i32: 'INTEGER', str: 'VARCHAR', u64list: 'UBIGINT[]', i64list: 'BIGINT[]' };

function sqlValue(c: Column, v: unknown): string {
  if (v === null) return 'NULL';
  switch (c.kind) {
    case 'f64':
      return Number.isFinite(v) ? String(v) : `'${v}'::DOUBLE`;
    case 'i32':
    case 'u64':
    case 'i64':
      return String(v);
    case 'str':
      return `'${String(v).replace(/'/g, "''")}'`;
    case 'u64list':
    case 'i64list':
      return `[${(v as bigint[]).join(', ')}]::${SQL_TYPE[c.kind]}`;
  }
}

export async function writeParquetFile(file: string, cols: Column[], opts: { codec?: string; kvMetadata?: Record<string, string> } = {}): Promise<void> {
  const { codec = 'zstd', kvMetadata } = opts;
  const q = (x: string) => x.replace(/'/g, "''");
  const n = cols[0].values.length;
  const rows: string[] = [];
  for (let i = 0; i < n; i++) rows.push(`(${cols.map((c) => sqlValue(c, c.values[i])).join(', ')})`);
  await duckdb(
    `CREATE TABLE t (${cols.map((c) => `"${c.name}" ${SQL_TYPE[c.kind]}`).join(', ')})`,
    `INSERT INTO t VALUES ${rows.join(',\n')}`,
    `COPY t TO '${q(file)}' (FORMAT parquet, COMPRESSION '${codec}', ROW_GROUP_SIZE 16${
      kvMetadata ? `, KV_METADATA {${Object.entries(kvMetadata).map(([k, v]) => `${k}: '${q(v)}'`).join(', ')}}` : ''
    })`,
  );
}

export function arrowTable(cols: Column[]): Table {
  const vectors: Record<string, ReturnType<typeof makeVector>> = {};
  for (const c of cols) {
    switch (c.kind) {
      case 'f64':
        vectors[c.name] = vectorFromArray(c.values as number[], new Float64());
        break;
      case 'i32':
        vectors[c.name] = vectorFromArray(c.values as number[], new Int32());
        break;
      case 'u64':
        vectors[c.name] = vectorFromArray(c.values as Array<bigint | null>, new Uint64());
        break;
      case 'str':
        vectors[c.name] = vectorFromArray(c.values as string[], new Utf8());
        break;
      case 'i64':
        vectors[c.name] = vectorFromArray(c.values as Array<bigint | null>, new Int64());
        break;
      case 'u64list':
        vectors[c.name] = vectorFromArray(
          (c.values as bigint[][]).map((l) => BigUint64Array.from(l)),
          new List(new Field('item', new Uint64(), true)),
        );
        break;
      case 'i64list':
        vectors[c.name] = vectorFromArray(
          (c.values as bigint[][]).map((l) => BigInt64Array.from(l)),
          new List(new Field('item', new Int64(), true)),
        );
        break;
    }
  }
  return new Table(vectors);
}

/** Writes the table as `<stem>.<ext>` in `dir` and returns the path. Feather = Arrow IPC file format. */
export async function writeTable(dir: string, stem: string, format: Format, cols: Column[]): Promise<string> {
  const file = path.join(dir, `${stem}.${format}`);
  switch (format) {
    case 'csv':
      fs.writeFileSync(file, toText(cols, ','));
      break;
    case 'tsv':
      fs.writeFileSync(file, toText(cols, '\t'));
      break;
    case 'parquet':
      await writeParquetFile(file, cols);
      break;
    case 'arrow':
      // The streaming format under .arrow would be ambiguous; .arrow holds the file format as pyarrow writes it.
      fs.writeFileSync(file, tableToIPC(arrowTable(cols), 'file'));
      break;
    case 'feather':
      fs.writeFileSync(file, tableToIPC(arrowTable(cols), 'file'));
      break;
  }
  return file;
}

/** Asserts `parent` holds no temporary siblings left by an export (`.NAME.ng-annotations-tmp-*`). */
export function assertNoTemporaries(parent: string): void {
  const left = fs.readdirSync(parent).filter((n) => n.includes('.ng-annotations-tmp-') || n.includes('.ng-annotations-old-'));
  assert.deepEqual(left, [], `temporary folders left in ${parent}`);
}
