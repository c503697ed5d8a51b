// Remote inputs and bucket datasets, against real servers on loopback: a node http server with Range
// support (counting the bytes it sends) and s3rver (in its own process) behind a counting proxy.
// `export <url>` of a Parquet, a CSV and an Arrow file writes exactly the local export of the same
// file; a wide Parquet file is read ranged (far fewer bytes than the file); failures are one line;
// `inspect`, `to-table` and `serve` take a bucket dataset.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ensureBuilt, runCli, snapshot, type CliResult } from './helpers/cli';
import { client, startFaultProxy, startS3rver, type S3Server } from './helpers/s3';
import { startRangeServer, type RangeServer } from './helpers/rangehttp';
import { rng } from './helpers/common';

const BUCKET = 'inputs';
const ROWS = 20_000;
const WIDE = 40;
let s3: S3Server;
let web: RangeServer;
let work: string;
let tables: string;
const local = new Map<string, Map<string, Buffer>>();

/** Per file: its export options (the Parquet file leaves the id column to the id guess). */
const ARGS: Record<string, string[]> = {
  't.parquet': ['--type', 'point', '--properties', 'score', '--relationships', 'segment', '--chunk-limit', '2000', '--seed', '7'],
  't.csv': ['--type', 'point', '--id-column', 'id', '--properties', 'score', '--relationships', 'segment', '--chunk-limit', '300', '--seed', '7'],
  't.arrow': ['--type', 'point', '--id-column', 'id', '--chunk-limit', '300', '--seed', '7'],
};

function fail(r: CliResult, what: string): string {
  return `${what}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

function writeTables(dir: string): void {
  const r = rng(11);
  const cols: Record<string, Float64Array | Float32Array | BigInt64Array> = {
    id: BigInt64Array.from({ length: ROWS }, (_, i) => BigInt(i + 1)),
    x: Float64Array.from({ length: ROWS }, () => Math.fround(r() * 1000)),
    y: Float64Array.from({ length: ROWS }, () => Math.fround(r() * 1000)),
    z: Float64Array.from({ length: ROWS }, () => Math.fround(r() * 100)),
    score: Float32Array.from({ length: ROWS }, () => r()),
    segment: BigInt64Array.from({ length: ROWS }, () => BigInt(1 + Math.floor(r() * 50))),
  };
  // Columns the export does not use: a remote read must not fetch them.
  for (let k = 0; k < WIDE; k++) cols[`unused${k}`] = Float64Array.from({ length: ROWS }, () => r());
  const type = (a: unknown) => (a instanceof BigInt64Array ? 'INT64' : a instanceof Float32Array ? 'FLOAT' : 'DOUBLE');
  const pq = parquetWriteBuffer({ columnData: Object.entries(cols).map(([name, data]) => ({ name, data: data as never, type: type(data) as never })), rowGroupSize: 5000 });
  fs.writeFileSync(path.join(dir, 't.parquet'), new Uint8Array(pq));
  const lines = ['id,x,y,z,score,segment'];
  for (let i = 0; i < 2000; i++) lines.push(['id', 'x', 'y', 'z', 'score', 'segment'].map((c) => String(cols[c][i])).join(','));
  fs.writeFileSync(path.join(dir, 't.csv'), lines.join('\n') + '\n');
  const n = 3000;
  const arrow = tableFromArrays({ id: BigUint64Array.from({ length: n }, (_, i) => BigInt(i + 1)), x: cols.x.slice(0, n), y: cols.y.slice(0, n), z: cols.z.slice(0, n) });
  fs.writeFileSync(path.join(dir, 't.arrow'), tableToIPC(arrow, 'file'));
}

function assertSame(outDir: string, file: string): void {
  const got = snapshot(outDir);
  const want = local.get(file)!;
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${file}: the same files`);
  for (const [k, v] of want) assert.ok(got.get(k)!.equals(v), `${file}: ${k} differs from the local export`);
}

before(async () => {
  ensureBuilt();
  work = fs.mkdtempSync(path.join(tmpdir(), 'ng-inputs-'));
  tables = path.join(work, 'tables');
  fs.mkdirSync(tables);
  writeTables(tables);
  [s3, web] = await Promise.all([startS3rver([BUCKET, 'other']), startRangeServer(tables)]);
  const c = client(s3.endpoint);
  for (const f of Object.keys(ARGS)) await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: `tables/${f}`, Body: fs.readFileSync(path.join(tables, f)) }));
  const rs = await Promise.all(Object.keys(ARGS).map((f) => runCli(['export', path.join(tables, f), ...ARGS[f], '--out', path.join(work, `local-${f}`)])));
  Object.keys(ARGS).forEach((f, i) => {
    assert.equal(rs[i].code, 0, fail(rs[i], `local export of ${f}`));
    local.set(f, snapshot(path.join(work, `local-${f}`)));
  });
  assert.match(rs[0].stdout, /ids: column "id"/, 'the Parquet export guessed the id column');
});

after(async () => {
  await Promise.all([s3?.close(), web?.close()]);
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('remote inputs', { concurrency: 3 }, () => {
  test('export http://… of Parquet, CSV and Arrow: the local export byte for byte; the wide Parquet file is read ranged', async () => {
    const files = Object.keys(ARGS);
    const rs = await Promise.all(files.map((f) => runCli(['export', `${web.url}/${f}`, ...ARGS[f], '--out', path.join(work, `http-${f}`)])));
    files.forEach((f, i) => {
      assert.equal(rs[i].code, 0, fail(rs[i], `http export of ${f}`));
      assertSame(path.join(work, `http-${f}`), f);
    });
    assert.match(rs[0].stdout, /ids: column "id"/, 'the id guess works on a URL too');
    // Parquet: the footer and the chunks of 6 of 46 columns, never the whole file.
    const size = fs.statSync(path.join(tables, 't.parquet')).size;
    const pq = web.seen.filter((s) => s.startsWith('GET /t.parquet'));
    assert.ok(pq.every((s) => / bytes=\d+-\d+$/.test(s)), `every Parquet read is ranged: ${pq.join(', ')}`);
    const sent = pq.map((s) => /bytes=(\d+)-(\d+)/.exec(s)!).reduce((a, m) => a + Number(m[2]) - Number(m[1]) + 1, 0);
    assert.ok(sent < size * 0.2, `${sent} bytes of a ${size}-byte file were fetched`);
    // CSV: streamed in one GET (the first 64 KiB are fetched before, to sniff the delimiter).
    assert.ok(web.seen.some((s) => s === 'GET /t.csv'), web.seen.join(', '));
  });

  test('export s3://… (through a counting proxy) and gs://…: the local export byte for byte; Parquet ranged', async () => {
    const proxy = await startFaultProxy(s3.port, () => null);
    try {
      const files = Object.keys(ARGS);
      const rs = await Promise.all(files.map((f) => runCli(['export', `s3://${BUCKET}/tables/${f}`, ...ARGS[f], '--out', path.join(work, `s3-${f}`)], { env: s3.env(proxy.endpoint) })));
      files.forEach((f, i) => {
        assert.equal(rs[i].code, 0, fail(rs[i], `s3 export of ${f}`));
        assertSame(path.join(work, `s3-${f}`), f);
      });
      const size = fs.statSync(path.join(tables, 't.parquet')).size;
      const others = fs.statSync(path.join(tables, 't.csv')).size + fs.statSync(path.join(tables, 't.arrow')).size;
      // Everything the three exports read: the CSV and Arrow files (about once or twice), the Parquet footer and used chunks.
      assert.ok(proxy.bytesOut < size * 0.2 + 3 * others, `${proxy.bytesOut} bytes read through the proxy for a ${size}-byte Parquet file`);
      assert.ok(!proxy.seen.some((s) => s.startsWith('PUT')), 'nothing written to the bucket');
    } finally {
      await proxy.close();
    }
    const gs = { ...s3.env(), GCS_ENDPOINT_URL: s3.endpoint, GCS_HMAC_ACCESS_KEY_ID: 'S3RVER', GCS_HMAC_SECRET_ACCESS_KEY: 'S3RVER' };
    const r = await runCli(['export', `gs://${BUCKET}/tables/t.parquet`, ...ARGS['t.parquet'], '--out', path.join(work, 'gs-t.parquet')], { env: gs });
    assert.equal(r.code, 0, fail(r, 'gs export'));
    assertSame(path.join(work, 'gs-t.parquet'), 't.parquet');
  });

  test('a remote Parquet file through temporary files (--memory-limit 0), and to a bucket: the same dataset', async () => {
    const proxy = await startFaultProxy(s3.port, () => null);
    let r: CliResult;
    try {
      r = await runCli(['export', `s3://${BUCKET}/tables/t.parquet`, ...ARGS['t.parquet'], '--memory-limit', '0', '--out', `s3://${BUCKET}/runs/streamed`], { env: s3.env(proxy.endpoint) });
    } finally {
      await proxy.close();
    }
    assert.equal(r.code, 0, fail(r, 'streamed remote export'));
    assert.match(r.stdout, /through temporary files/);
    // Two passes over the file, each fetching only the used columns' chunks (uploads are not counted: PUT answers are empty).
    const size = fs.statSync(path.join(tables, 't.parquet')).size;
    assert.ok(proxy.bytesOut < size * 0.4, `${proxy.bytesOut} bytes read for a ${size}-byte file`);
    const { download } = await import('./helpers/s3');
    const got = await download(client(s3.endpoint), BUCKET, 'runs/streamed/', path.join(work, 'dl-streamed'));
    const want = local.get('t.parquet')!;
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [k, v] of want) assert.ok(got.get(k)!.equals(v), `${k} differs`);
  });

  test('a missing object, a missing bucket, denied, nothing listening, a bad URL: one line naming the URL, exit 1, nothing written', async () => {
    const env = s3.env();
    // A port that was free a moment ago: nothing listens there.
    const closed = await new Promise<number>((resolve) => {
      const srv = http.createServer().listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
    });
    const cases: Array<{ input: string; env?: NodeJS.ProcessEnv; re: RegExp }> = [
      { input: `s3://${BUCKET}/tables/missing.parquet`, re: /^error: Cannot read s3:\/\/inputs\/tables\/missing\.parquet: there is no such object/ },
      { input: 's3://no-such-bucket/t.parquet', re: /^error: Cannot read s3:\/\/no-such-bucket\/t\.parquet: the bucket does not exist at http:\/\/127\.0\.0\.1:\d+/ },
      { input: `s3://${BUCKET}/tables/t.csv`, env: { ...env, AWS_ACCESS_KEY_ID: 'NOTAKEY' }, re: /^error: Cannot read s3:\/\/inputs\/tables\/t\.csv: access denied \(403\)/ },
      { input: `s3://${BUCKET}/tables/t.csv`, env: { ...s3.env(`http://127.0.0.1:${closed}`), AWS_MAX_ATTEMPTS: '2' }, re: new RegExp(`^error: Cannot read s3://inputs/tables/t\\.csv: cannot reach http://127\\.0\\.0\\.1:${closed} \\(ECONNREFUSED\\)`) },
      { input: `${web.url}/missing.csv`, re: /^error: Cannot read http:\/\/127\.0\.0\.1:\d+\/missing\.csv: HTTP 404 Not Found; check the URL/ },
      { input: `http://127.0.0.1:${closed}/t.parquet`, re: new RegExp(`^error: Cannot read http://127\\.0\\.0\\.1:${closed}/t\\.parquet: cannot reach 127\\.0\\.0\\.1:${closed} \\(ECONNREFUSED\\)`) },
      { input: 'ftp://host/t.csv', re: /^error: "ftp:\/\/host\/t\.csv" is not a supported input URL/ },
      { input: 's3:/inputs/t.csv', re: /^error: "s3:\/inputs\/t\.csv" is not a supported input URL/ },
      { input: 's3://Bad_Bucket/t.csv', re: /^error: "s3:\/\/Bad_Bucket\/t\.csv" is not a valid bucket URL/ },
    ];
    const rs = await Promise.all(cases.map((k, i) => runCli(['export', k.input, '--type', 'point', '--out', path.join(work, `bad-${i}`)], { env: k.env ?? env })));
    cases.forEach((k, i) => {
      const r = rs[i];
      assert.equal(r.code, 1, fail(r, k.input));
      assert.equal(r.stderr.trim().split('\n').length, 1, fail(r, `${k.input}: one line`));
      assert.match(r.stderr, k.re, fail(r, k.input));
      assert.ok(!fs.existsSync(path.join(work, `bad-${i}`)), `${k.input}: nothing written`);
    });
  });
});

test('library: writePrecomputedAnnotations(url) writes what it writes from the local file', async () => {
  const { writePrecomputedAnnotations } = await import('../src/export/run');
  const opts = { idColumn: 'id', properties: ['score'], relationships: ['segment'], seed: 3, targetChunkLimit: 2000 };
  await writePrecomputedAnnotations(path.join(tables, 't.parquet'), 'xyz', 'point', { ...opts, outputDir: path.join(work, 'lib-local') });
  web.reset();
  await writePrecomputedAnnotations(`${web.url}/t.parquet`, 'xyz', 'point', { ...opts, outputDir: path.join(work, 'lib-http') });
  const want = snapshot(path.join(work, 'lib-local'));
  const got = snapshot(path.join(work, 'lib-http'));
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
  for (const [k, v] of want) assert.ok(got.get(k)!.equals(v), `${k} differs`);
  assert.ok(web.bytesSent < fs.statSync(path.join(tables, 't.parquet')).size * 0.2, `${web.bytesSent} bytes fetched`);
});

describe('bucket datasets as a source', { concurrency: 3 }, () => {
  const ds = `s3://${BUCKET}/datasets/points`;
  let localDs: string;
  before(async () => {
    localDs = path.join(work, 'local-t.csv');
    const r = await runCli(['export', path.join(tables, 't.csv'), ...ARGS['t.csv'], '--out', ds], { env: s3.env() });
    assert.equal(r.code, 0, fail(r, 'export to the bucket'));
  });

  test('inspect s3://… reports what inspect of the local folder reports', async () => {
    const [a, b] = await Promise.all([runCli(['inspect', ds], { env: s3.env() }), runCli(['inspect', localDs])]);
    assert.equal(a.code, 0, fail(a, 'inspect bucket'));
    assert.equal(b.code, 0, fail(b, 'inspect local'));
    const body = (s: string) => s.split('\n').slice(1).join('\n');
    assert.equal(a.stdout.split('\n')[0], `Dataset ${ds}`);
    assert.equal(body(a.stdout), body(b.stdout));
    const missing = await runCli(['inspect', 's3://no-such-bucket/x'], { env: s3.env() });
    assert.equal(missing.code, 1, fail(missing, 'inspect missing bucket'));
    assert.match(missing.stderr, /^error: Cannot list s3:\/\/no-such-bucket\/x: the bucket does not exist/);
    assert.equal(missing.stderr.trim().split('\n').length, 1);
  });

  test('to-table s3://… and readPrecomputedAnnotations(s3://…) equal the local results', async () => {
    const [a, b] = await Promise.all([
      runCli(['to-table', ds, '--out', path.join(work, 'from-bucket.parquet')], { env: s3.env() }),
      runCli(['to-table', localDs, '--out', path.join(work, 'from-local.parquet')]),
    ]);
    assert.equal(a.code, 0, fail(a, 'to-table bucket'));
    assert.equal(b.code, 0, fail(b, 'to-table local'));
    assert.ok(fs.readFileSync(path.join(work, 'from-bucket.parquet')).equals(fs.readFileSync(path.join(work, 'from-local.parquet'))), 'the same table');
    const { readPrecomputedAnnotations } = await import('../src/roundtrip/read');
    const saved = { ...process.env };
    Object.assign(process.env, s3.env());
    try {
      const [remote, here] = await Promise.all([readPrecomputedAnnotations(ds), readPrecomputedAnnotations(localDs)]);
      assert.equal(remote.source, here.source);
      assert.ok(Buffer.from(tableToIPC(remote.table)).equals(Buffer.from(tableToIPC(here.table))), 'the same Arrow table');
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  test('serve s3://… prints the source and a link without starting a server; the bundled viewer is refused', async () => {
    const r = await runCli(['serve', ds], { env: s3.env() });
    assert.equal(r.code, 0, fail(r, 'serve bucket'));
    assert.match(r.stdout, new RegExp(`Source URL: precomputed://s3\\+http://127\\.0\\.0\\.1:${s3.port}/inputs/datasets/points/\\n`));
    assert.match(r.stdout, /Neuroglancer: https:\/\/neuroglancer-demo\.appspot\.com\/#!/);
    const bundled = await runCli(['serve', ds, '--viewer', 'bundled'], { env: s3.env() });
    assert.equal(bundled.code, 1, fail(bundled, 'serve bundled'));
    assert.match(bundled.stderr, /needs no local server|without a local server/);
    const none = await runCli(['serve', `s3://${BUCKET}/datasets/none`], { env: s3.env() });
    assert.equal(none.code, 1, fail(none, 'serve missing'));
    assert.match(none.stderr, /s3:\/\/inputs\/datasets\/none\/info not found/);
  });
});
