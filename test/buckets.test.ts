// Bucket output against a real S3-compatible server (s3rver, in its own process on 127.0.0.1): the
// CLI exports with AWS_ENDPOINT_URL and the server's keys; what lands in the bucket, downloaded
// object by object, is byte for byte the local export of the same table and seed, and neuroglancer's
// own code decodes it. Faults are real: the server killed mid-upload, a burst of 503 SlowDown and a
// denied PUT from a loopback proxy in front of it, a missing bucket, unknown keys, nothing listening.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { CLI, ensureBuilt, runCli, snapshot, type CliResult } from './helpers/cli';
import { client, download, head, listKeys, startFaultProxy, startS3rver, type S3Server } from './helpers/s3';
import { readDatasetWithNeuroglancer } from './helpers/ngread';
import { rng } from './helpers/common';
import { execFile } from 'node:child_process';

let s3: S3Server;
let work: string;
let csv: string;
let local: string;
/** A small table for the tests of many small objects (unsharded): s3rver takes ~5 ms per object. */
let small: string;
let smallLocal: string;
const BUCKET = 'bucket';
const N = 800;

function writeCsv(file: string, n: number, seed: number): void {
  const r = rng(seed);
  const lines = ['id,x,y,z,score,segment'];
  for (let i = 0; i < n; i++) {
    lines.push(`${i + 1},${(r() * 1000).toFixed(2)},${(r() * 1000).toFixed(2)},${(r() * 100).toFixed(2)},${(r() * 10).toFixed(3)},${1 + Math.floor(r() * 50)}`);
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

const ARGS = ['--type', 'point', '--id-column', 'id', '--properties', 'score', '--relationships', 'segment', '--chunk-limit', '200', '--seed', '7'];

function fail(r: CliResult, what: string): string {
  return `${what}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

async function exportTo(out: string, extra: string[] = [], env = s3.env(), input = csv): Promise<CliResult> {
  return runCli(['export', input, ...ARGS, '--out', out, ...extra], { env });
}

before(async () => {
  ensureBuilt();
  work = fs.mkdtempSync(path.join(tmpdir(), 'ng-buckets-'));
  csv = path.join(work, 'points.csv');
  writeCsv(csv, N, 1);
  s3 = await startS3rver([BUCKET, 'other']);
  local = path.join(work, 'local');
  small = path.join(work, 'small.csv');
  writeCsv(small, 60, 2);
  smallLocal = path.join(work, 'small-local');
  const rs = await Promise.all([runCli(['export', csv, ...ARGS, '--out', local]), runCli(['export', small, ...ARGS, '--out', smallLocal])]);
  for (const r of rs) assert.equal(r.code, 0, fail(r, 'local export'));
});

after(async () => {
  await s3?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

// Each case waits on its own CLI process and prefix: three at a time.
describe('bucket output', { concurrency: 3 }, () => {
  test('export --out s3://bucket/prefix: the objects are the local export byte for byte, neuroglancer decodes them, a second export is refused', async () => {
    const r = await exportTo('s3://bucket/runs/a');
    assert.equal(r.code, 0, fail(r, 'bucket export'));
    assert.match(r.stdout, /to s3:\/\/bucket\/runs\/a/);
    assert.ok(!fs.existsSync('s3:') && !fs.existsSync(path.join(work, 's3:')), 'no local folder named s3:');
    const c = client(s3.endpoint);
    const dir = path.join(work, 'dl-a');
    const got = await download(c, BUCKET, 'runs/a/', dir);
    const want = snapshot(local);
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [k, v] of want) assert.ok(got.get(k)!.equals(v), `object ${k} differs from the local file`);
    // Raw bytes for neuroglancer: no Content-Encoding (the browser would gunzip the chunks itself).
    assert.deepEqual(await head(c, BUCKET, 'runs/a/info'), { contentType: 'application/json', contentEncoding: undefined });
    const shard = [...got.keys()].find((k) => k.endsWith('.shard'))!;
    assert.deepEqual(await head(c, BUCKET, `runs/a/${shard}`), { contentType: 'application/octet-stream', contentEncoding: undefined });
    const ng = await readDatasetWithNeuroglancer(dir);
    assert.equal(ng.raw['@type'], 'neuroglancer_annotations_v1');
    const first = await ng.getById(1n);
    const lastOne = await ng.getById(BigInt(N));
    assert.ok(first && lastOne, 'neuroglancer finds the first and last ids');
    const line = fs.readFileSync(csv, 'utf8').split('\n')[1].split(',');
    assert.deepEqual(first.point!.map((v) => Math.round(v * 100) / 100), [Number(line[1]), Number(line[2]), Number(line[3])]);
    assert.equal(first.relationships![0][0], BigInt(line[5]));

    // Again without --overwrite: refused before anything is uploaded, the first dataset intact.
    const again = await exportTo('s3://bucket/runs/a');
    assert.equal(again.code, 1, fail(again, 'second export'));
    assert.match(again.stderr, /^error: s3:\/\/bucket\/runs\/a already holds a dataset .*--overwrite/);
    assert.equal(again.stderr.trim().split('\n').length, 1);
    const after = await download(c, BUCKET, 'runs/a/', path.join(work, 'dl-a2'));
    assert.deepEqual([...after.keys()].sort(), [...want.keys()].sort());
    for (const [k, v] of want) assert.ok(after.get(k)!.equals(v), `object ${k} changed`);
  });

  test('--overwrite replaces the dataset and deletes the old objects it did not rewrite; foreign objects are never replaced', async () => {
    const c = client(s3.endpoint);
    let r = await exportTo('s3://bucket/runs/b', ['--unsharded'], s3.env(), small);
    assert.equal(r.code, 0, fail(r, 'unsharded export'));
    assert.ok((await listKeys(c, BUCKET, 'runs/b/')).length > 60);
    r = await exportTo('s3://bucket/runs/b', ['--overwrite'], s3.env(), small);
    assert.equal(r.code, 0, fail(r, 'overwrite'));
    const got = await download(c, BUCKET, 'runs/b/', path.join(work, 'dl-b'));
    const want = snapshot(smallLocal);
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), 'only the new dataset remains');
    for (const [k, v] of want) assert.ok(got.get(k)!.equals(v), `object ${k} differs`);

    // A prefix holding something else is refused, with and without --overwrite.
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'runs/c/notes.txt', Body: 'mine' }));
    for (const extra of [[], ['--overwrite']]) {
      r = await exportTo('s3://bucket/runs/c', extra);
      assert.equal(r.code, 1, fail(r, `foreign prefix ${extra}`));
      assert.match(r.stderr, /^error: s3:\/\/bucket\/runs\/c (is not empty|holds objects that are not part of an annotation dataset)/);
    }
    assert.deepEqual(await listKeys(c, BUCKET, 'runs/c/'), ['notes.txt']);
  });

  test('bad URLs, a missing bucket, unknown keys, no credentials, nothing listening: one line naming the URL, exit 1, nothing written', async () => {
    const cases: Array<{ out: string; env?: NodeJS.ProcessEnv; re: RegExp }> = [
      { out: 's3:/bucket/x', re: /not a valid bucket URL: s3: must be followed by \/\//i },
      { out: 's3://Bad_Name/x', re: /"Bad_Name" is not a valid S3 bucket name/ },
      { out: 's3://bucket//x', re: /empty path segment/ },
      { out: 'https://example.org/x', re: /https:\/\/ is not a supported place to write/ },
      { out: 's3://missing-bucket/x', re: /Cannot list s3:\/\/missing-bucket\/x: the bucket does not exist at http:\/\/127\.0\.0\.1:\d+; create it first/ },
      { out: 's3://bucket/keys', env: { ...s3.env(), AWS_ACCESS_KEY_ID: 'NOTAKEY' }, re: /Cannot list s3:\/\/bucket\/keys: the credentials were rejected \(InvalidAccessKeyId\); set AWS_ACCESS_KEY_ID/ },
      { out: 's3://bucket/nocreds', env: { ...s3.env(), AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' }, re: /Cannot list s3:\/\/bucket\/nocreds: no credentials were found; set AWS_ACCESS_KEY_ID/ },
      { out: 's3://bucket/down', env: { ...s3.env('http://127.0.0.1:9'), AWS_MAX_ATTEMPTS: '2' }, re: /Cannot list s3:\/\/bucket\/down: cannot reach http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\) after retrying; check the network and AWS_ENDPOINT_URL/ },
      { out: 'gs://bucket/nokey', env: { ...s3.env(), GCS_ENDPOINT_URL: s3.endpoint }, re: /Cannot list gs:\/\/bucket\/nokey: no credentials were found; set GCS_HMAC_ACCESS_KEY_ID/ },
    ];
    const results = await Promise.all(cases.map((k) => exportTo(k.out, [], k.env ?? s3.env())));
    const c = client(s3.endpoint);
    for (let i = 0; i < cases.length; i++) {
      const r = results[i];
      assert.equal(r.code, 1, fail(r, cases[i].out));
      assert.equal(r.stderr.trim().split('\n').length, 1, fail(r, `${cases[i].out}: one line`));
      assert.match(r.stderr, cases[i].re, fail(r, cases[i].out));
    }
    for (const p of ['keys/', 'nocreds/', 'down/', 'nokey/', 'x/']) assert.deepEqual(await listKeys(c, BUCKET, p), []);
    assert.deepEqual(fs.readdirSync(work).filter((n) => /^(s3|gs|https)/.test(n)), []);
  });

  test('a burst of 503 SlowDown is retried with backoff and the export still lands byte for byte', async () => {
    let refused = 0;
    const proxy = await startFaultProxy(s3.port, (method) => {
      if (method !== 'PUT' || refused >= 4) return null;
      refused++;
      return { status: 503, code: 'SlowDown' };
    });
    try {
      const r = await exportTo('s3://bucket/runs/slow', ['--upload-concurrency', '2'], s3.env(proxy.endpoint));
      assert.equal(r.code, 0, fail(r, '503 burst'));
      assert.equal(refused, 4, 'four 503s were answered');
      const puts = proxy.seen.filter((s) => s.startsWith('PUT'));
      const got = await download(client(s3.endpoint), BUCKET, 'runs/slow/', path.join(work, 'dl-slow'));
      const want = snapshot(local);
      assert.equal(puts.length, want.size + 4, 'each object was sent until it was accepted');
      for (const [k, v] of want) assert.ok(got.get(k)!.equals(v), `object ${k} differs`);
    } finally {
      await proxy.close();
    }
  });

  test('a denied PUT stops the export with one line, and what was uploaded before it is deleted', async () => {
    const proxy = await startFaultProxy(s3.port, (method, url) => (method === 'PUT' && url.includes('by_spatial_level_1') ? { status: 403, code: 'AccessDenied' } : null));
    try {
      const r = await exportTo('s3://bucket/runs/denied', [], s3.env(proxy.endpoint));
      assert.equal(r.code, 1, fail(r, 'denied'));
      assert.match(r.stderr, /^error: Cannot upload s3:\/\/bucket\/runs\/denied\/by_spatial_level_1\/[^ ]+: access denied \(AccessDenied\); the credentials are not allowed to write there\n$/);
      assert.ok(proxy.seen.some((s) => s.startsWith('PUT') && s.includes('by_id')), 'by_id had been uploaded before');
      assert.deepEqual(await listKeys(client(s3.endpoint), BUCKET, 'runs/denied/'), [], 'everything uploaded was deleted');
    } finally {
      await proxy.close();
    }
  });

  test('the server killed mid-upload: the export fails naming the endpoint, says what it could not delete, and no info was written', async () => {
    const server = await startS3rver([BUCKET]);
    let puts = 0;
    const proxy = await startFaultProxy(server.port, (method) => {
      if (method === 'PUT' && ++puts === 3) server.kill();
      return null;
    });
    try {
      const r = await exportTo('s3://bucket/runs/killed', ['--unsharded', '--upload-concurrency', '2'], { ...s3.env(proxy.endpoint), AWS_MAX_ATTEMPTS: '3' }, small);
      assert.equal(r.code, 1, fail(r, 'killed'));
      assert.match(r.stderr, /error: Cannot upload s3:\/\/bucket\/runs\/killed\/[^ ]+: (cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNRESET\) after retrying|the server kept failing)/);
      assert.match(r.stderr, /warning: The export stopped, and \d+ of the \d+ object\(s\) it uploaded under s3:\/\/bucket\/runs\/killed could not be deleted .*delete them by hand/);
      // What reached the disk of the killed server: never an info.
      const stored = fs.readdirSync(path.join(server.dir, BUCKET), { recursive: true }).map(String);
      assert.ok(!stored.some((p) => /killed\/info/.test(p)), `no info object: ${stored.join(', ')}`);
    } finally {
      await proxy.close();
      await server.close();
    }
  });

  test('Ctrl-C (SIGINT) mid-upload: exit 130 and the bucket holds nothing of the export', async () => {
    let sent = false;
    const ctl: { child?: import('node:child_process').ChildProcess } = {};
    const proxy = await startFaultProxy(s3.port, (method) => {
      if (method === 'PUT' && !sent && ctl.child) {
        sent = true;
        ctl.child.kill('SIGINT');
      }
      return null;
    });
    try {
      const r = await new Promise<CliResult>((resolve) => {
        ctl.child = execFile(process.execPath, [CLI, 'export', small, ...ARGS, '--unsharded', '--upload-concurrency', '2', '--out', 's3://bucket/runs/cancel'], { env: s3.env(proxy.endpoint), encoding: 'utf8' }, (err, stdout, stderr) => {
          resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, signal: null, stdout, stderr });
        });
      });
      assert.ok(sent, 'SIGINT was sent during the upload');
      assert.equal(r.code, 130, fail(r, 'cancel'));
      assert.deepEqual(await listKeys(client(s3.endpoint), BUCKET, 'runs/cancel/'), []);
    } finally {
      await proxy.close();
    }
  });

  test('the streamed writer (--memory-limit 0) writes to a bucket, its temporary files in os.tmpdir(), byte for byte as locally', async () => {
    const r0 = rng(3);
    const n = 2000;
    const ids = BigUint64Array.from({ length: n }, (_, i) => BigInt(i + 1));
    const arrow = path.join(work, 'points.arrow');
    fs.writeFileSync(
      arrow,
      tableToIPC(
        tableFromArrays({ id: ids, x: Float32Array.from({ length: n }, () => r0() * 100), y: Float32Array.from({ length: n }, () => r0() * 100), z: Float32Array.from({ length: n }, () => r0() * 100) }),
        'file',
      ),
    );
    const args = ['--type', 'point', '--id-column', 'id', '--seed', '5', '--memory-limit', '0', '--chunk-limit', '300'];
    const tmp = fs.mkdtempSync(path.join(work, 'tmp-'));
    const [a, b] = await Promise.all([
      runCli(['export', arrow, ...args, '--out', path.join(work, 'streamed-local')]),
      runCli(['export', arrow, ...args, '--out', 's3://bucket/runs/streamed'], { env: { ...s3.env(), TMPDIR: tmp } }),
    ]);
    assert.equal(a.code, 0, fail(a, 'streamed local'));
    assert.equal(b.code, 0, fail(b, 'streamed bucket'));
    assert.match(b.stdout, /through temporary files/);
    assert.deepEqual(fs.readdirSync(tmp), [], 'the temporary files are removed');
    const got = await download(client(s3.endpoint), BUCKET, 'runs/streamed/', path.join(work, 'dl-streamed'));
    const want = snapshot(path.join(work, 'streamed-local'));
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [k, v] of want) assert.ok(got.get(k)!.equals(v), `object ${k} differs`);
  });

  test('gs:// through the S3-interoperable XML API with an HMAC key (against the same server)', async () => {
    const env = { ...s3.env(), GCS_ENDPOINT_URL: s3.endpoint, GCS_HMAC_ACCESS_KEY_ID: 'S3RVER', GCS_HMAC_SECRET_ACCESS_KEY: 'S3RVER' };
    let r = await exportTo('gs://other/ds', ['--unsharded'], env, small);
    assert.equal(r.code, 0, fail(r, 'gs export'));
    r = await exportTo('gs://other/ds', ['--overwrite'], env, small);
    assert.equal(r.code, 0, fail(r, 'gs overwrite (one delete per object)'));
    const got = await download(client(s3.endpoint), 'other', 'ds/', path.join(work, 'dl-gs'));
    const want = snapshot(smallLocal);
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [k, v] of want) assert.ok(got.get(k)!.equals(v), `object ${k} differs`);
  });
});

test('library: progress reports bytes uploaded; objects of 16 MiB and more go up in parts', async () => {
  const { writePrecomputedAnnotations } = await import('../src/export/run');
  const saved = { ...process.env };
  Object.assign(process.env, s3.env());
  try {
    const uploaded: number[] = [];
    const summary = await writePrecomputedAnnotations(csv, { names: ['x', 'y', 'z'] }, 'point', {
      outputDir: 's3://bucket/runs/lib',
      idColumn: 'id',
      seed: 7,
      onProgress: (p) => p.uploadedBytes !== undefined && uploaded.push(p.uploadedBytes),
    });
    assert.equal(summary.outputDir, 's3://bucket/runs/lib');
    assert.ok(uploaded.length > 1, 'several reports carry uploadedBytes');
    assert.equal(uploaded.at(-1), summary.bytesWritten, 'the last report counts every byte');
    const { S3Store } = await import('../src/storage/s3');
    const { parseBucketUrl } = await import('../src/storage/url');
    const store = await S3Store.open(parseBucketUrl('s3://bucket/big'), { concurrency: 4 });
    const big = new Uint8Array(17 << 20).map((_, i) => (i * 2654435761) >>> 24);
    const proxy = await startFaultProxy(s3.port, () => null);
    process.env.AWS_ENDPOINT_URL = proxy.endpoint;
    const viaProxy = await S3Store.open(parseBucketUrl('s3://bucket/big'), { concurrency: 4 });
    try {
      await viaProxy.put('big/shard', big, 'application/octet-stream');
      assert.ok(proxy.seen.some((s) => /^POST .*uploads/.test(s)) && proxy.seen.filter((s) => /^PUT .*partNumber=/.test(s)).length === 3, `multipart: ${proxy.seen.join(', ')}`);
      assert.ok(Buffer.from((await store.get('big/shard'))!).equals(Buffer.from(big)));
      assert.ok(Buffer.from(await store.getRange('big/shard', 5, 9)).equals(Buffer.from(big.subarray(5, 9))));
    } finally {
      store.destroy();
      viaProxy.destroy();
      await proxy.close();
    }
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

test('bucket URLs: parsing, neuroglancer source names, and the extension form accepting one as output', async () => {
  const { parseBucketUrl, looksLikeUrl } = await import('../src/storage/url');
  const { neuroglancerSource } = await import('../src/storage/index');
  const { checkMapping } = await import('../src/extension/validate');
  assert.deepEqual(parseBucketUrl('s3://my-bucket/a/b/'), { scheme: 's3', bucket: 'my-bucket', prefix: 'a/b', url: 's3://my-bucket/a/b' });
  assert.deepEqual(parseBucketUrl('GS://my_bucket'), { scheme: 'gs', bucket: 'my_bucket', prefix: '', url: 'gs://my_bucket' });
  for (const bad of ['s3://', 's3://ab/x', 's3://my_bucket/x', 's3://bkt/a/../b', 's3://bkt/x?y', 'file:///tmp/x']) assert.throws(() => parseBucketUrl(bad), /bucket URL|not a supported place/, bad);
  assert.ok(looksLikeUrl('s3:bucket') && looksLikeUrl('https://x/y') && !looksLikeUrl('C:\\data\\out') && !looksLikeUrl('./s3/out'));
  assert.equal(neuroglancerSource('s3://bkt/p', {}), 's3://bkt/p/');
  assert.equal(neuroglancerSource('s3://bkt/p', { AWS_ENDPOINT_URL: 'http://127.0.0.1:4568' }), 's3+http://127.0.0.1:4568/bkt/p/');
  assert.equal(neuroglancerSource('gs://bkt', {}), 'gs://bkt/');
  const base = { version: 1, annotationType: 'point', coords: ['x', 'y', 'z'] };
  const ok = checkMapping({ ...base, output: 's3://bucket/ds/' }, csv, null);
  assert.deepEqual(ok.problems, []);
  assert.equal(ok.mapping?.output, 's3://bucket/ds');
  assert.match(checkMapping({ ...base, output: 's3:/bucket' }, csv, null).problems[0].message, /not a valid bucket URL/);
});
