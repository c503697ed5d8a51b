// Bad input through the command line: exit status 1 (2 for usage mistakes), one line naming the
// file/column/row/value, no stack trace, and nothing left behind (no output folder, no hidden
// temporary sibling, existing folders untouched).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Table, makeVector, tableToIPC } from 'apache-arrow';
import { exitOf, waitUntil } from './helpers/bounded';
import { CLI, arrowTable, ensureBuilt, runCli, snapshot, toText, writeParquetFile, type Column } from './helpers/cli';
import { makeFixture } from './helpers/cli-data';
import { duckdb } from './io-fixtures';

const tmp = fs.mkdtempSync(path.join(tmpdir(), 'ng-cli-err-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
before(() => ensureBuilt());

interface Case {
  name: string;
  /** Files to create in the case folder: name → content, or a function that writes it. */
  files: Record<string, string | Buffer | ((p: string) => Promise<void> | void)>;
  /** Arguments; `OUT` is replaced by the output path, `@name` by the path of a case file. */
  args: string[];
  code: 1 | 2;
  /** Every pattern must match the error message. */
  message: RegExp[];
  todo?: string;
}

const pts = (rows: string[], header = 'annotation_id,x,y,z') => [header, ...rows].join('\n') + '\n';
const ok3 = ['1,1,2,3', '2,4,5,6', '3,7,8,9'];
const type = (t: string) => ['--type', t];

const small = makeFixture('point', 12, 1);
const withCell = (cols: Column[], name: string, row: number, v: unknown): Column[] =>
  cols.map((c) => (c.name === name ? { ...c, values: c.values.map((x, i) => (i === row ? v : x)) } : c));

const CASES: Case[] = [
  // geometry
  { name: 'missing geometry column', files: { 'a.csv': pts(['1,1,2', '2,3,4'], 'annotation_id,x,y') }, args: ['@a.csv', ...type('point'), '--out', 'OUT'], code: 1, message: [/\bz\b/] },
  { name: 'missing geometry column for a line', files: { 'a.csv': pts(['1,1,2,3,4,5,6'], 'annotation_id,xa,ya,za,xb,yb,zc') }, args: ['@a.csv', ...type('line'), '--out', 'OUT'], code: 1, message: [/\bzb\b/] },
  { name: 'NaN in a coordinate', files: { 'a.csv': pts(['1,1,2,3', '2,NaN,5,6', '3,7,8,9']) }, args: ['@a.csv', ...type('point'), '--out', 'OUT'], code: 1, message: [/'x'|\bx\b/, /row 2\b/] },
  { name: 'Infinity in a coordinate', files: { 'a.csv': pts(['1,1,2,3', '2,4,5,6', '3,7,8,-Infinity']) }, args: ['@a.csv', ...type('point'), '--out', 'OUT'], code: 1, message: [/'z'|\bz\b/, /row 3\b/] },
  { name: 'inf in an ellipsoid radius', files: { 'a.csv': pts(['1,1,2,3,1,1,1', '2,4,5,6,inf,1,1'], 'annotation_id,x,y,z,rx,ry,rz') }, args: ['@a.csv', ...type('ellipsoid'), '--out', 'OUT'], code: 1, message: [/\brx\b/, /row 2\b/] },
  { name: 'text in a coordinate', files: { 'a.csv': pts(['1,1,2,3', '2,4,five,6', '3,7,8,9']) }, args: ['@a.csv', ...type('point'), '--out', 'OUT'], code: 1, message: [/\by\b/, /row 2\b/, /five/] },
  { name: 'empty coordinate cell', files: { 'a.csv': pts(['1,1,2,3', '2,4,5,6', '3,,8,9']) }, args: ['@a.csv', ...type('point'), '--out', 'OUT'], code: 1, message: [/\bx\b/, /row 3\b/] },
  {
    name: 'NaN coordinate in Parquet',
    files: { 'a.parquet': (p) => writeParquetFile(p, withCell(small.main, 'y', 4, Number.NaN)) },
    args: ['@a.parquet', ...type('point'), '--out', 'OUT'],
    code: 1,
    message: [/\by\b/, /row 5\b/],
  },
  {
    name: 'null coordinate in Arrow',
    files: { 'a.arrow': (p) => fs.writeFileSync(p, tableToIPC(arrowTable(withCell(small.main, 'z', 6, null)), 'file')) },
    args: ['@a.arrow', ...type('point'), '--out', 'OUT'],
    code: 1,
    message: [/\bz\b/, /row 7\b/],
  },
  // ids
  { name: 'duplicate ids', files: { 'a.csv': pts(['5,1,2,3', '6,4,5,6', '5,7,8,9']) }, args: ['@a.csv', ...type('point'), '--out', 'OUT'], code: 1, message: [/annotation_id/, /\b5\b/, /rows? 1, 3|rows 1 and 3/] },
  { name: 'negative id', files: { 'a.csv': pts(['1,1,2,3', '-5,4,5,6']) }, args: ['@a.csv', ...type('point'), '--out', 'OUT'], code: 1, message: [/annotation_id/, /-5/, /row 2\b/] },
  { name: 'id above 2^64-1', files: { 'a.csv': pts(['1,1,2,3', '18446744073709551616,4,5,6']) }, args: ['@a.csv', ...type('point'), '--out', 'OUT'], code: 1, message: [/annotation_id/, /18446744073709551616/, /row 2\b/] },
  { name: 'fractional id', files: { 'a.csv': pts(['1,1,2,3', '2.5,4,5,6']) }, args: ['@a.csv', ...type('point'), '--out', 'OUT'], code: 1, message: [/annotation_id/, /2\.5/, /row 2\b/] },
  { name: 'empty id cell', files: { 'a.csv': pts(['1,1,2,3', ',4,5,6']) }, args: ['@a.csv', ...type('point'), '--out', 'OUT'], code: 1, message: [/annotation_id/, /row 2\b/] },
  {
    name: 'null id in Arrow',
    files: { 'a.arrow': (p) => fs.writeFileSync(p, tableToIPC(arrowTable(withCell(small.main, 'annotation_id', 3, null)), 'file')) },
    args: ['@a.arrow', ...type('point'), '--out', 'OUT'],
    code: 1,
    message: [/annotation_id/, /row 4\b/],
  },
  { name: 'negative id in --id-column (Parquet)', files: { 'a.parquet': (p) => duckdb(`COPY (SELECT * FROM (VALUES (1, 1.0, 2.0, 3.0), (-7, 4.0, 5.0, 6.0)) t(oid, x, y, z)) TO '${p}' (FORMAT parquet)`) }, args: ['@a.parquet', ...type('point'), '--id-column', 'oid', '--out', 'OUT'], code: 1, message: [/oid/, /-7/, /row 2\b/] },
  { name: '--id-column that does not exist', files: { 'a.csv': pts(ok3) }, args: ['@a.csv', ...type('point'), '--id-column', 'nope', '--out', 'OUT'], code: 1, message: [/nope/] },
  // properties
  { name: 'property name with a capital', files: { 'a.csv': pts(['1,1,2,3,0.5'], 'annotation_id,x,y,z,Confidence') }, args: ['@a.csv', ...type('point'), '--properties', 'Confidence', '--out', 'OUT'], code: 1, message: [/Confidence/] },
  { name: 'property name starting with a digit', files: { 'a.csv': pts(['1,1,2,3,0.5'], 'annotation_id,x,y,z,2x') }, args: ['@a.csv', ...type('point'), '--properties', '2x', '--out', 'OUT'], code: 1, message: [/2x/] },
  { name: 'property column missing', files: { 'a.csv': pts(ok3) }, args: ['@a.csv', ...type('point'), '--properties', 'score', '--out', 'OUT'], code: 1, message: [/score/] },
  { name: 'colour channel out of range', files: { 'a.csv': pts(['1,1,2,3,10,20,30', '2,4,5,6,300,0,0'], 'annotation_id,x,y,z,c_r,c_g,c_b') }, args: ['@a.csv', ...type('point'), '--properties', 'c', '--out', 'OUT'], code: 1, message: [/c_r/, /300/, /row 2\b/] },
  { name: 'malformed colour #12345', files: { 'a.csv': pts(['1,1,2,3,#ff0000', '2,4,5,6,#12345'], 'annotation_id,x,y,z,color') }, args: ['@a.csv', ...type('point'), '--properties', 'color', '--property-type', 'color=rgb', '--out', 'OUT'], code: 1, message: [/color/, /#12345/, /row 2\b/] },
  { name: 'value that does not fit --property-type', files: { 'a.csv': pts(['1,1,2,3,10', '2,4,5,6,-3'], 'annotation_id,x,y,z,level') }, args: ['@a.csv', ...type('point'), '--property-type', 'level=uint8', '--out', 'OUT'], code: 1, message: [/level/, /-3/, /row 2\b/] },
  // relationships
  { name: 'relationship cell [10, x]', files: { 'a.csv': pts(['1,1,2,3,10', '2,4,5,6,"[10, x]"'], 'annotation_id,x,y,z,rel') }, args: ['@a.csv', ...type('point'), '--relationships', 'rel', '--out', 'OUT'], code: 1, message: [/\brel\b/, /row 2\b/, /\[10, x\]/] },
  { name: 'relationship cell 10;;x', files: { 'a.csv': pts(['1,1,2,3,10;;x', '2,4,5,6,11'], 'annotation_id,x,y,z,rel') }, args: ['@a.csv', ...type('point'), '--relationships', 'rel', '--out', 'OUT'], code: 1, message: [/\brel\b/, /row 1\b/, /10;;x/] },
  { name: 'relationship column missing', files: { 'a.csv': pts(ok3) }, args: ['@a.csv', ...type('point'), '--relationships', 'pre', '--out', 'OUT'], code: 1, message: [/\bpre\b/] },
  // files
  { name: 'ragged CSV row (extra field)', files: { 'a.csv': pts(['1,1,2,3', '2,4,5,6,7', '3,7,8,9']) }, args: ['@a.csv', ...type('point'), '--out', 'OUT'], code: 1, message: [/a\.csv/, /line 3\b/] },
  { name: 'ragged TSV row (missing field)', files: { 'a.tsv': 'annotation_id\tx\ty\tz\n1\t1\t2\t3\n2\t4\t5\n' }, args: ['@a.tsv', ...type('point'), '--out', 'OUT'], code: 1, message: [/a\.tsv/, /line 3\b/] },
  {
    name: 'truncated Parquet file',
    files: {
      'a.parquet': async (p) => {
        await writeParquetFile(p, small.main);
        const b = fs.readFileSync(p);
        fs.writeFileSync(p, b.subarray(0, Math.floor(b.length / 2)));
      },
    },
    args: ['@a.parquet', ...type('point'), '--out', 'OUT'],
    code: 1,
    message: [/a\.parquet/],
  },
  {
    name: 'truncated Arrow file',
    files: {
      'a.feather': (p) => {
        const b = tableToIPC(arrowTable(small.main), 'file');
        fs.writeFileSync(p, b.subarray(0, Math.floor(b.length * 0.6)));
      },
    },
    args: ['@a.feather', ...type('point'), '--out', 'OUT'],
    code: 1,
    message: [/a\.feather/],
  },
  {
    name: 'truncated Arrow stream',
    files: {
      'a.arrows': (p) => {
        const b = tableToIPC(arrowTable(small.main), 'stream');
        fs.writeFileSync(p, b.subarray(0, Math.floor(b.length * 0.6)));
      },
    },
    args: ['@a.arrows', ...type('point'), '--out', 'OUT'],
    code: 1,
    message: [/a\.arrows/],
  },
  { name: 'unknown extension', files: { 'a.xlsx': 'x' }, args: ['@a.xlsx', ...type('point'), '--out', 'OUT'], code: 1, message: [/a\.xlsx/, /\.xlsx/] },
  { name: 'empty file (no header)', files: { 'a.csv': '' }, args: ['@a.csv', ...type('point'), '--out', 'OUT'], code: 1, message: [/a\.csv/, /empty/] },
  { name: 'random bytes named .parquet', files: { 'a.parquet': Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) % 251)) }, args: ['@a.parquet', ...type('point'), '--out', 'OUT'], code: 1, message: [/a\.parquet/, /Parquet/] },
  { name: 'random bytes named .feather', files: { 'a.feather': Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) % 251)) }, args: ['@a.feather', ...type('point'), '--out', 'OUT'], code: 1, message: [/a\.feather/, /Arrow|Feather/] },
  {
    name: 'a folder given as the table file',
    files: { 'a.csv': (p) => void fs.mkdirSync(p) },
    args: ['@a.csv', ...type('point'), '--out', 'OUT'],
    code: 1,
    message: [/a\.csv/],
  },
  { name: 'missing input file', files: {}, args: ['@nope.csv', ...type('point'), '--out', 'OUT'], code: 1, message: [/nope\.csv/] },
  { name: 'empty CSV (header only)', files: { 'a.csv': 'annotation_id,x,y,z\n' }, args: ['@a.csv', ...type('point'), '--out', 'OUT'], code: 1, message: [/a\.csv|no rows|empty|annotations/i] },
  // polylines
  {
    name: 'polyline with a single vertex',
    files: { 'v.csv': pts(['1,0,0,0', '1,1,1,1', '2,5,5,5', '3,2,2,2', '3,3,3,3']) },
    args: ['@v.csv', ...type('polyline'), '--out', 'OUT'],
    code: 1,
    message: [/\b2\b/, /vert/i],
  },
  {
    name: 'NaN in a polyline vertex (--points)',
    files: { 'm.csv': 'annotation_id,score\n1,0.5\n2,0.25\n', 'v.csv': pts(['1,0,0,0', '1,1,1,1', '2,5,5,5', '2,6,NaN,6']) },
    args: ['@m.csv', '--points', '@v.csv', ...type('polyline'), '--properties', 'score', '--out', 'OUT'],
    code: 1,
    message: [/\by\b/, /row 4\b/, /^error: In the polyline vertices table \(v\.csv\): /],
  },
  {
    name: 'polyline vertices file without annotation_id',
    files: { 'v.csv': 'x,y,z\n0,0,0\n1,1,1\n' },
    args: ['@v.csv', ...type('polyline'), '--out', 'OUT'],
    code: 1,
    message: [/annotation_id/],
  },
  // usage mistakes: exit 2
  { name: 'unknown flag', files: { 'a.csv': pts(ok3) }, args: ['@a.csv', ...type('point'), '--out', 'OUT', '--frobnicate'], code: 2, message: [/--frobnicate/] },
  { name: 'missing --type', files: { 'a.csv': pts(ok3) }, args: ['@a.csv', '--out', 'OUT'], code: 2, message: [/--type/] },
  { name: 'unknown --type', files: { 'a.csv': pts(ok3) }, args: ['@a.csv', ...type('sphere'), '--out', 'OUT'], code: 2, message: [/sphere/] },
  { name: 'missing table file', files: {}, args: [...type('point'), '--out', 'OUT'], code: 2, message: [/table file/] },
  { name: '--spatial-levels 0', files: { 'a.csv': pts(ok3) }, args: ['@a.csv', ...type('point'), '--out', 'OUT', '--spatial-levels', '0'], code: 2, message: [/--spatial-levels/, /\b0\b/] },
  { name: '--spatial-levels 65', files: { 'a.csv': pts(ok3) }, args: ['@a.csv', ...type('point'), '--out', 'OUT', '--spatial-levels', '65'], code: 2, message: [/--spatial-levels/, /65/] },
  { name: '--spatial-levels abc', files: { 'a.csv': pts(ok3) }, args: ['@a.csv', ...type('point'), '--out', 'OUT', '--spatial-levels', 'abc'], code: 2, message: [/--spatial-levels/, /abc/] },
  { name: '--chunk-limit 0 with more than one level', files: { 'a.csv': pts(ok3) }, args: ['@a.csv', ...type('point'), '--out', 'OUT', '--chunk-limit', '0', '--spatial-levels', '3'], code: 2, message: [/--chunk-limit/, /--spatial-levels|level/] },
  { name: '--chunk-limit 0 with the default levels', files: { 'a.csv': pts(ok3) }, args: ['@a.csv', ...type('point'), '--out', 'OUT', '--chunk-limit', '0'], code: 2, message: [/--chunk-limit/] },
  { name: '--property-type without =', files: { 'a.csv': pts(ok3) }, args: ['@a.csv', ...type('point'), '--out', 'OUT', '--property-type', 'uint16'], code: 2, message: [/--property-type/] },
  { name: '--property-type with an unknown type', files: { 'a.csv': pts(ok3) }, args: ['@a.csv', ...type('point'), '--out', 'OUT', '--property-type', 'a=float64'], code: 2, message: [/--property-type/, /float64/] },
  { name: '--scales not a number', files: { 'a.csv': pts(ok3) }, args: ['@a.csv', ...type('point'), '--out', 'OUT', '--scales', '8,x,40'], code: 2, message: [/--scales/, /"x"/] },
  { name: '--units count does not match --coords', files: { 'a.csv': pts(ok3) }, args: ['@a.csv', ...type('point'), '--out', 'OUT', '--units', 'nm,nm'], code: 2, message: [/units/] },
  { name: '--units px (neuroglancer has no such unit)', files: { 'a.csv': pts(ok3) }, args: ['@a.csv', ...type('point'), '--out', 'OUT', '--units', 'px'], code: 2, message: [/--units/, /px/] },
  { name: '--coords with a repeated name', files: { 'a.csv': pts(ok3) }, args: ['@a.csv', ...type('point'), '--out', 'OUT', '--coords', 'x,x,y'], code: 2, message: [/--coords/, /"x"/] },
  { name: '--seed negative', files: { 'a.csv': pts(ok3) }, args: ['@a.csv', ...type('point'), '--out', 'OUT', '--seed', '-1'], code: 2, message: [/--seed/] },
  { name: '--points with --type point', files: { 'a.csv': pts(ok3), 'v.csv': pts(['1,0,0,0', '1,1,1,1']) }, args: ['@a.csv', ...type('point'), '--points', '@v.csv', '--out', 'OUT'], code: 2, message: [/--points/, /polyline/] },
  { name: 'polyline properties without a main table', files: { 'v.csv': pts(['1,0,0,0', '1,1,1,1']) }, args: ['@v.csv', ...type('polyline'), '--properties', 'x', '--out', 'OUT'], code: 2, message: [/--properties/, /--points/] },
  { name: 'two table files', files: { 'a.csv': pts(ok3) }, args: ['@a.csv', '@a.csv', ...type('point'), '--out', 'OUT'], code: 2, message: [/one table file/] },
  // mapping JSON
  { name: 'mapping with an unknown field', files: { 'a.csv': pts(ok3), 'm.json': JSON.stringify({ input: 'a.csv', annotationType: 'point', coords: ['x', 'y', 'z'], colour: 1 }) }, args: ['--config', '@m.json', '--out', 'OUT'], code: 2, message: [/m\.json/, /colour/] },
  { name: 'mapping with a wrong type', files: { 'a.csv': pts(ok3), 'm.json': JSON.stringify({ input: 'a.csv', annotationType: 'point', coords: ['x', 'y', 'z'], sharded: 'yes' }) }, args: ['--config', '@m.json', '--out', 'OUT'], code: 2, message: [/m\.json/, /sharded/] },
  { name: 'mapping that is not JSON', files: { 'a.csv': pts(ok3), 'm.json': '{"input": "a.csv",' }, args: ['--config', '@m.json', '--out', 'OUT'], code: 2, message: [/m\.json/, /JSON/] },
  { name: 'mapping file missing', files: { 'a.csv': pts(ok3) }, args: ['--config', '@m.json', '--out', 'OUT'], code: 2, message: [/m\.json/] },
];

function resolveArgs(dir: string, out: string, args: string[]): string[] {
  return args.map((a) => (a === 'OUT' ? out : a.startsWith('@') ? path.join(dir, a.slice(1)) : a));
}

function assertOneLineError(stderr: string, code: 1 | 2, message: RegExp[]): void {
  assert.doesNotMatch(stderr, /^\s+at .+:\d+:\d+\)?$/m, `stack trace in stderr:\n${stderr}`);
  const lines = stderr.split('\n').filter((l) => l !== '');
  if (code === 1) {
    assert.equal(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
    assert.match(lines[0], /^error: /);
  } else {
    assert.match(lines[0], /^ng-annotations export: /, `usage errors start with the command:\n${stderr}`);
    // One line, then where the help is: not the whole synopsis.
    assert.equal(lines.length, 2, `expected the message and "see --help", got:\n${stderr}`);
    assert.equal(lines[1], "see 'ng-annotations export --help'");
  }
  for (const m of message) assert.match(lines[0], m, `message should match ${m}:\n${lines[0]}`);
}

describe('export: bad input', { concurrency: 4 }, () => {
  for (const c of CASES) {
    it(`${c.name} → exit ${c.code}`, { todo: c.todo }, async (t) => {
      const dir = fs.mkdtempSync(path.join(tmp, 'case-'));
      for (const [name, content] of Object.entries(c.files)) {
        const p = path.join(dir, name);
        if (typeof content === 'function') await content(p);
        else fs.writeFileSync(p, content);
      }
      const before = snapshot(dir);
      const out = path.join(dir, 'out');
      const r = await runCli(['export', ...resolveArgs(dir, out, c.args)], { cwd: dir });
      t.diagnostic(r.stderr.split('\n')[0]);
      assert.equal(r.code, c.code, `exit status\nstderr: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assertOneLineError(r.stderr, c.code, c.message);
      assert.deepEqual(snapshot(dir), before, 'nothing written next to the input (no output, no temporary folder)');
      assert.deepEqual(fs.readdirSync(dir).sort(), Object.keys(c.files).sort());
    });
  }

  it('Ctrl+C (SIGINT) during an export: exit 130, nothing left behind', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'case-'));
    const rows: string[] = ['x,y,z'];
    for (let i = 0; i < 1_000_000; i++) rows.push(`${i % 1000},${(i * 7) % 1000},${(i * 13) % 997}`);
    fs.writeFileSync(path.join(dir, 'big.csv'), rows.join('\n') + '\n');
    const before = snapshot(dir);
    const child = spawn(process.execPath, [CLI, 'export', path.join(dir, 'big.csv'), '--type', 'point', '--out', path.join(dir, 'out')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    // Exporting 1M points takes seconds. Signal once the process has used 0.5 s of CPU: it is then past
    // start-up (its handler is installed) and still reading, however loaded the machine is.
    const cpuTicks = () => {
      try {
        const f = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
        return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (100 per second)
      } catch {
        return -1;
      }
    };
    const start = Date.now();
    try {
      await waitUntil(() => (cpuTicks() >= 0 ? cpuTicks() >= 50 : Date.now() - start >= 1500), 60_000, 'the export to use 0.5 s of CPU');
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
    child.kill('SIGINT');
    assert.equal(await exitOf(child, 60_000, 'ng-annotations export after SIGINT'), 130, `stderr: ${stderr}`);
    assert.match(stderr, /cancelled; nothing was written/);
    assert.deepEqual(snapshot(dir), before);
  });

  it('Ctrl+C while the dataset is being written: exit 130, the temporary folder is removed', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'case-'));
    const n = 1_000_000;
    const [x, y, z] = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
    for (let i = 0; i < n; i++) [x[i], y[i], z[i]] = [i % 1000, (i * 7) % 1000, (i * 13) % 997];
    fs.writeFileSync(path.join(dir, 'big.arrow'), tableToIPC(new Table({ x: makeVector(x), y: makeVector(y), z: makeVector(z) }), 'file'));
    const before = snapshot(dir);
    const child = spawn(process.execPath, [CLI, 'export', path.join(dir, 'big.arrow'), '--type', 'point', '--out', path.join(dir, 'out')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    // The hidden sibling appears when writing starts; interrupt then.
    try {
      await waitUntil(() => child.exitCode !== null || fs.readdirSync(dir).some((f) => f.startsWith('.out.ng-annotations-tmp-')), 60_000, 'the export to start writing (its temporary folder)', 5);
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
    child.kill('SIGINT');
    assert.equal(await exitOf(child, 60_000, 'ng-annotations export after SIGINT'), 130, `stderr: ${stderr}`);
    assert.match(stderr, /cancelled; nothing was written/);
    assert.deepEqual(snapshot(dir), before);
    assert.deepEqual(fs.readdirSync(dir), ['big.arrow']);
  });

  it('existing non-empty output folder without --overwrite is refused and left untouched', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'case-'));
    fs.writeFileSync(path.join(dir, 'a.csv'), pts(ok3));
    const out = path.join(dir, 'out');
    const first = await runCli(['export', path.join(dir, 'a.csv'), '--type', 'point', '--out', out, '--quiet']);
    assert.equal(first.code, 0, first.stderr);
    fs.writeFileSync(path.join(out, 'notes.txt'), 'mine');
    const before = snapshot(dir);
    const r = await runCli(['export', path.join(dir, 'a.csv'), '--type', 'point', '--out', out, '--properties', 'x']);
    assert.equal(r.code, 1);
    assertOneLineError(r.stderr, 1, [/out/, /--overwrite/]);
    assert.deepEqual(snapshot(dir), before);
  });

  it('a folder that is not a dataset is refused even with --overwrite, and left untouched', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'case-'));
    fs.writeFileSync(path.join(dir, 'a.csv'), pts(ok3));
    const out = path.join(dir, 'photos');
    fs.mkdirSync(path.join(out, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(out, 'sub', 'cat.jpg'), 'meow');
    fs.writeFileSync(path.join(out, 'info'), '{"@type": "neuroglancer_multiscale_volume"}');
    const before = snapshot(dir);
    const r = await runCli(['export', path.join(dir, 'a.csv'), '--type', 'point', '--out', out, '--overwrite']);
    assert.equal(r.code, 1);
    assertOneLineError(r.stderr, 1, [/photos/, /not an annotation dataset/]);
    assert.deepEqual(snapshot(dir), before);
  });

  it('an output path that is a file is refused and left untouched', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'case-'));
    fs.writeFileSync(path.join(dir, 'a.csv'), pts(ok3));
    fs.writeFileSync(path.join(dir, 'out'), 'a file');
    const before = snapshot(dir);
    const r = await runCli(['export', path.join(dir, 'a.csv'), '--type', 'point', '--out', path.join(dir, 'out'), '--overwrite']);
    assert.equal(r.code, 1);
    assertOneLineError(r.stderr, 1, [/out/]);
    assert.deepEqual(snapshot(dir), before);
  });

  it('a failed --overwrite keeps the previous dataset', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'case-'));
    fs.writeFileSync(path.join(dir, 'a.csv'), pts(ok3));
    fs.writeFileSync(path.join(dir, 'b.csv'), pts(['1,1,2,3', '2,NaN,5,6']));
    const out = path.join(dir, 'out');
    assert.equal((await runCli(['export', path.join(dir, 'a.csv'), '--type', 'point', '--out', out])).code, 0);
    const before = snapshot(dir);
    const r = await runCli(['export', path.join(dir, 'b.csv'), '--type', 'point', '--out', out, '--overwrite']);
    assert.equal(r.code, 1);
    assertOneLineError(r.stderr, 1, [/\bx\b/, /row 2\b/]);
    assert.deepEqual(snapshot(dir), before);
  });
});
