// Hostile and huge inputs through the built CLI (`dist/cli.js export`), each in its own child
// process: the exit status, the one-line message, the child's peak RSS (reported by a --require
// hook from process.resourceUsage().maxRSS, so threads count too) and the wall time are checked,
// and that nothing is left at the target or beside it. Inputs are generated at test time in the
// OS temporary folder and removed after. The limits are in src/io/limits.ts and docs/limits.md.
// `HOSTILE_REPORT=1` prints one table row per case (the closing-note table).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, before, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Endpoint, type HostToWorker, type WorkerToHost } from '../src/shared/protocol';
import type { Mapping } from '../src/shared/mapping';
import * as net from 'node:net';
import { startPreviewServer } from '../src/server/preview';
import { raw } from './helpers/rawhttp';
import { parquetMetadata } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { ensureBuilt } from './helpers/cli';
import { DIST, tempRoot } from './helpers/reliability';
import { writeParquet } from './io-fixtures';

const tmp = tempRoot('hostile');
after(() => tmp.cleanup());

const RSS_LIMIT_KB = 1024 * 1024; // 1 GB
const HOOK = path.join(tmp.root, 'maxrss.cjs');

before(() => {
  ensureBuilt();
  fs.writeFileSync(
    HOOK,
    "process.on('exit', () => require('fs').writeSync(2, '\\n@@maxrss=' + process.resourceUsage().maxRSS + '\\n'));\n",
  );
});

interface Run {
  code: number | null;
  message: string;
  stdout: string;
  rssKb: number;
  ms: number;
}

/** Runs `node dist/cli.js export FILE --type point --out OUT --quiet` with a time limit. */
function runExport(file: string, out: string, limitMs = 60_000, extra: string[] = []): Promise<Run> {
  return runCli(['export', file, '--type', 'point', '--out', out, '--quiet', ...extra], limitMs);
}

function runCli(args: string[], limitMs: number): Promise<Run> {
  const start = Date.now();
  const file = args[1]!;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', HOOK, path.join(DIST, 'cli.js'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`export of ${path.basename(file)} still running after ${limitMs} ms (killed)`));
    }, limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      // An input of 64 MB or more is exported by a child process (src/cli/relaunch.ts): both report, the larger peak counts.
      const rss = [...stderr.matchAll(/@@maxrss=(\d+)/g)].map((m) => Number(m[1]));
      const message = stderr.replace(/\n?@@maxrss=\d+\n?/g, '').trim();
      resolve({ code, message, stdout, rssKb: rss.length ? Math.max(...rss) : NaN, ms: Date.now() - start });
    });
  });
}

const rows: string[] = [];
after(() => {
  if (process.env.HOSTILE_REPORT) console.log(['| case | exit | message | peak RSS | wall time |', '| --- | --- | --- | --- | --- |', ...rows].join('\n'));
});

/** Runs one case and checks exit 1, the message, the RSS and time bounds, and that nothing is left. */
async function refuses(name: string, file: string, message: RegExp, limitMs = 30_000, extra: string[] = []): Promise<void> {
  const parent = tmp.dir(`out-${name}`);
  fs.mkdirSync(parent, { recursive: true });
  const out = path.join(parent, 'out');
  const r = await runExport(file, out, limitMs, extra);
  rows.push(`| ${name} | ${r.code} | \`${r.message.slice(0, 160)}\` | ${(r.rssKb / 1024).toFixed(0)} MB | ${(r.ms / 1000).toFixed(2)} s |`);
  assert.equal(r.code, 1, `${name}: exit status (stderr: ${r.message.slice(0, 300)})`);
  assert.match(r.message, message, name);
  assert.equal(r.message.split('\n').length, 1, `${name}: one line`);
  assert.ok(r.message.length < 400, `${name}: a short message (${r.message.length} characters)`);
  assert.ok(r.rssKb < RSS_LIMIT_KB, `${name}: peak RSS ${r.rssKb} kB`);
  assert.ok(r.ms < limitMs, `${name}: ${r.ms} ms`);
  assert.deepEqual(fs.readdirSync(parent), [], `${name}: nothing left beside the target`);
  fs.rmSync(file, { force: true });
}

/** A file of `head` then `size` bytes of `fill`, written with few large writes. */
function bigFile(file: string, head: string, fill: string, size: number): string {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, head);
    const block = Buffer.alloc(Math.min(size, 1 << 24), fill);
    for (let left = size; left > 0; left -= block.length) fs.writeSync(fd, block, 0, Math.min(left, block.length));
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

test('text inputs: a 10^6-column header, a 200 MB line, invalid UTF-8, NUL bytes', { timeout: 60_000 }, async () => {
  const dir = tmp.dir('text');
  fs.mkdirSync(dir, { recursive: true });
  const wide = path.join(dir, 'wide.csv');
  const names: string[] = [];
  for (let i = 0; i < 1e6; i++) names.push(`c${i}`);
  fs.writeFileSync(wide, `${names.join(',')}\n${'1,'.repeat(1e6 - 1)}1\n`);
  const long = bigFile(path.join(dir, 'long.csv'), 'x,y,z\n', 'a', 200 * 2 ** 20);
  const utf8 = path.join(dir, 'utf8.csv');
  fs.writeFileSync(utf8, Buffer.concat([Buffer.from('x,y,z\n1,2,3\n'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x2c, 0x31, 0x2c, 0x32, 0x0a])]));
  const nul = bigFile(path.join(dir, 'nul.csv'), '', '\0', 20 * 2 ** 20);
  // A binary file renamed .csv: 100 MB of random bytes (one random 16 MB block, repeated).
  const binary = path.join(dir, 'binary.csv');
  const noise = crypto.randomBytes(2 ** 24);
  const fd = fs.openSync(binary, 'w');
  for (let i = 0; i < 100 / 16; i++) fs.writeSync(fd, noise);
  fs.closeSync(fd);
  await Promise.all([
    refuses('CSV, header of 10^6 columns', wide, /wide\.csv, line 1: the header has 1000000 fields, more than the limit of 100000 columns/),
    refuses('CSV, 200 MB line without a newline', long, /long\.csv, line 2: a line longer than 16 MiB without a line break/),
  ]);
  await Promise.all([
    // Invalid UTF-8 decodes to U+FFFD: the row is read, and the geometry check names the cell.
    refuses('CSV, invalid UTF-8 in a coordinate', utf8, /utf8\.csv: Column "x" \(geometry\) holds text: 1 value\(s\) are not numbers \(row 2/),
    refuses('CSV, 20 MB of NUL bytes', nul, /nul\.csv, line 1: a line longer than 16 MiB without a line break/),
  ]);
  await refuses('CSV, 100 MB of random bytes (a binary renamed .csv)', binary, /binary\.csv, /);
});

test('Parquet: zstd and gzip page bombs, truncations at many offsets', { timeout: 60_000 }, async () => {
  const dir = tmp.dir('parquet');
  fs.mkdirSync(dir, { recursive: true });
  // One 100 MB string cell: a few kB compressed, one page of 100 MB once decompressed.
  const bombs = ['zstd', 'gzip'].map((codec) => path.join(dir, `bomb-${codec}.parquet`));
  for (const [i, codec] of ['zstd', 'gzip'].entries()) {
    await writeParquet(bombs[i]!, `SELECT 1.0 AS x, 2.0 AS y, 3.0 AS z, repeat('a', 100000000) AS note`, { codec });
    assert.ok(fs.statSync(bombs[i]!).size < 2 ** 20, `${codec} bomb is small`);
  }
  await Promise.all(
    ['zstd', 'gzip'].map((codec, i) =>
      refuses(`Parquet, ${codec} page bomb (100 MB in ${(fs.statSync(bombs[i]!).size / 1024).toFixed(0)} kB)`, bombs[i]!, /column 'note'.*a page of 1000\d+ bytes once decompressed .*more than the limit of 64 MiB/),
    ),
  );
  // Forged numbers in a valid file, same byte length (thrift compact varints of the same size):
  // the footer's and the row group's row count (20000 → 1048575), and the first page's compressed size.
  const one = path.join(dir, 'one.parquet');
  await writeParquet(one, `SELECT i * 1.0 AS x, i * 2.0 AS y, i * 3.0 AS z FROM range(20000) t(i)`, { codec: 'snappy', rowGroupSize: 100000 });
  const good = fs.readFileSync(one);
  const rowsForged = Buffer.from(good);
  const count = Buffer.from([0x16, ...varint(20000 * 2)]); // field 3, i64, zigzag
  let forged = 0;
  for (let i = rowsForged.indexOf(count, good.length - good.readUInt32LE(good.length - 8) - 8); i >= 0; i = rowsForged.indexOf(count, i + 1)) {
    Buffer.from([0x16, ...varint(1048575 * 2)]).copy(rowsForged, i);
    forged++;
  }
  assert.ok(forged >= 2, 'row counts found in the footer');
  const rowsFile = path.join(dir, 'rows.parquet');
  fs.writeFileSync(rowsFile, rowsForged);
  const pageForged = Buffer.from(good);
  // PageHeader at byte 4: field 1 type, field 2 uncompressed size, field 3 compressed size (all i32).
  let at = 5;
  for (let f = 0; f < 2; f++) at = skipVarint(pageForged, at) + 1;
  const width = skipVarint(pageForged, at) - at;
  Buffer.from(varint(2 ** (7 * width) - 2)).copy(pageForged, at);
  const pageFile = path.join(dir, 'page.parquet');
  fs.writeFileSync(pageFile, pageForged);
  // A dictionary index past its dictionary: name has 5 distinct values (dictionary-encoded); the first
  // index run of its first data page is made to point at entry 7.
  const dictFile = path.join(dir, 'dict.parquet');
  await writeParquet(dictFile, `SELECT i * 1.0 AS x, i * 2.0 AS y, i * 3.0 AS z, 'k' || (i % 5) AS name FROM range(3000) t(i)`, { codec: 'uncompressed' });
  const db = fs.readFileSync(dictFile);
  const ab = db.buffer.slice(db.byteOffset, db.byteOffset + db.byteLength);
  const meta = parquetMetadata(ab).row_groups[0]!.columns[3]!.meta_data!;
  const pr = { view: new DataView(ab), offset: Number(meta.dictionary_page_offset || meta.data_page_offset) };
  let ph = parquetHeader(pr);
  assert.equal(ph.type, 'DICTIONARY_PAGE', 'name is dictionary-encoded');
  pr.offset += ph.compressed_page_size;
  ph = parquetHeader(pr);
  assert.match(ph.data_page_header?.encoding ?? '', /_DICTIONARY$/);
  // Page v1 of an optional column: a 4-byte level section length, the levels, the bit width, the first run header.
  const widthAt = pr.offset + 4 + db.readUInt32LE(pr.offset);
  assert.equal(db[widthAt], 3, 'indices of 3 bits');
  const runHeader = db[widthAt + 1]!;
  assert.ok(runHeader < 0x80, 'a one-byte run header');
  db[widthAt + 2] = runHeader & 1 ? 0xff : 7; // bit-packed: the first eight indices become 7; RLE: the run's value
  fs.writeFileSync(dictFile, db);
  await Promise.all([
    refuses('Parquet, forged dictionary index (7 of 5 values)', dictFile, /dict\.parquet, column 'name': corrupt Parquet data in row group 1, page 2: dictionary index 7 of 5 values/, 30_000, ['--properties', 'name']),
    refuses('Parquet, forged row count (20000 → 1048575)', rowsFile, /rows\.parquet, column 'x': column has 20000 values in rows 1\.\.1048575, expected 1048575/),
    refuses('Parquet, forged compressed page size', pageFile, /page\.parquet, column 'x': corrupt Parquet data in row group 1, page 1: a page of \d+ bytes where its column chunk has \d+ left/),
  ]);
  const whole = path.join(dir, 'whole.parquet');
  await writeParquet(whole, `SELECT i * 1.0 AS x, i * 2.0 AS y, i * 3.0 AS z, i AS id FROM range(20000) t(i)`, { codec: 'zstd', rowGroupSize: 5000 });
  const bytes = fs.readFileSync(whole);
  const cuts = [5, 100, 1000, Math.floor(bytes.length / 2), bytes.length - 200, bytes.length - 9, bytes.length - 1];
  for (let i = 0; i < cuts.length; i += 2) {
    await Promise.all(
      cuts.slice(i, i + 2).map((cut) => {
        const f = path.join(dir, `cut-${cut}.parquet`);
        fs.writeFileSync(f, bytes.subarray(0, cut));
        return refuses(`Parquet truncated at ${cut} of ${bytes.length} bytes`, f, /cut-\d+\.parquet: (not a Parquet file|truncated Parquet file)/);
      }),
    );
  }
});

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function skipVarint(b: Buffer, at: number): number {
  while (b[at]! & 0x80) at++;
  return at + 1;
}

/** `inspect DIR` exits 1 naming the problem, within bounds. */
async function inspectRefuses(name: string, dir: string, message: RegExp, limitMs = 30_000): Promise<void> {
  const r = await runCli(['inspect', dir], limitMs);
  r.message = `${r.stdout}\n${r.message}`;
  const line = r.message.split('\n').find((l) => message.test(l)) ?? r.message.slice(0, 300);
  rows.push(`| inspect: ${name} | ${r.code} | \`${line.slice(0, 160)}\` | ${(r.rssKb / 1024).toFixed(0)} MB | ${(r.ms / 1000).toFixed(2)} s |`);
  assert.equal(r.code, 1, `${name}: exit status (output: ${r.message.slice(0, 300)})`);
  assert.match(r.message, message, name);
  assert.ok(r.rssKb < RSS_LIMIT_KB, `${name}: peak RSS ${r.rssKb} kB`);
  assert.ok(r.ms < limitMs, `${name}: ${r.ms} ms`);
}

test('inspect: shard index past the end, overlapping minishards, a gzip bomb chunk, shard_bits 60 and rank 10^6', { timeout: 60_000 }, async () => {
  const dir = tmp.dir('inspect');
  fs.mkdirSync(dir, { recursive: true });
  const csv = path.join(dir, 'p.csv');
  fs.writeFileSync(csv, 'x,y,z\n1,2,3\n4,5,6\n');
  const base = path.join(dir, 'base');
  // gzip chunk data, so the bomb below is read as gzip (the default, auto, stores these small records raw).
  const made = await runExport(csv, base, 60_000, ['--data-encoding', 'gzip']);
  assert.equal(made.code, 0, made.message);
  const info = JSON.parse(fs.readFileSync(path.join(base, 'info'), 'utf8'));
  const copy = (name: string): string => {
    const d = path.join(dir, name);
    fs.cpSync(base, d, { recursive: true });
    return d;
  };
  const shard = (d: string) => path.join(d, 'by_id', '0.shard');

  const past = copy('past');
  const b = fs.readFileSync(shard(past));
  b.writeBigUInt64LE(1n << 40n, 8); // minishard 0 ends 1 TB in
  fs.writeFileSync(shard(past), b);

  // Two minishards whose indexes are the same bytes.
  const overlap = copy('overlap');
  const oi = structuredClone(info);
  oi.by_id.sharding.minishard_bits = 1;
  fs.writeFileSync(path.join(overlap, 'info'), JSON.stringify(oi));
  const one = fs.readFileSync(shard(base));
  const a0 = one.readBigUInt64LE(0);
  const a1 = one.readBigUInt64LE(8);
  const two = Buffer.concat([Buffer.alloc(32), one.subarray(16)]);
  for (const ms of [0, 1]) {
    two.writeBigUInt64LE(a0 - 16n, 16 * ms);
    two.writeBigUInt64LE(a1 - 16n, 16 * ms + 8);
  }
  fs.writeFileSync(shard(overlap), two);

  // Every key's chunk is one gzip stream of 20 members of 64 MB of zeros each (1.3 GB from 1.3 MB).
  const bomb = copy('bomb');
  const member = zlib.gzipSync(Buffer.alloc(64 * 2 ** 20), { level: 9 });
  const payload = Buffer.concat(Array.from({ length: 20 }, () => member));
  const mini = zlib.gunzipSync(one.subarray(16 + Number(a0), 16 + Number(a1)));
  const n = mini.length / 24;
  const entries = Buffer.alloc(24 * n);
  mini.copy(entries, 0, 0, 8 * n); // key deltas
  for (let i = 0; i < n; i++) {
    entries.writeBigUInt64LE(i === 0 ? 0n : BigInt.asUintN(64, -BigInt(payload.length)), 8 * (n + i)); // all at the same start
    entries.writeBigUInt64LE(BigInt(payload.length), 8 * (2 * n + i));
  }
  const miz = zlib.gzipSync(entries);
  const head = Buffer.alloc(16);
  head.writeBigUInt64LE(BigInt(payload.length), 0);
  head.writeBigUInt64LE(BigInt(payload.length + miz.length), 8);
  fs.writeFileSync(shard(bomb), Buffer.concat([head, payload, miz]));

  const bits = copy('bits60');
  const bi = structuredClone(info);
  bi.by_id.sharding.shard_bits = 60;
  fs.writeFileSync(path.join(bits, 'info'), JSON.stringify(bi));

  const rank = copy('rank');
  const ri = structuredClone(info);
  ri.by_id.sharding.shard_bits = 60;
  const dims: Record<string, [number, string]> = {};
  for (let i = 0; i < 1e6; i++) dims[i.toString(36)] = [1, ''];
  ri.dimensions = dims;
  fs.writeFileSync(path.join(rank, 'info'), JSON.stringify(ri));
  assert.ok(fs.statSync(path.join(rank, 'info')).size < 16 * 2 ** 20, 'the rank case is under the info size limit');

  await Promise.all([
    inspectRefuses('shard index past the file end', past, /by_id\/0\.shard: minishard 0: index range \[\d+, 1099511627776\) .* is outside the \d+-byte file/),
    inspectRefuses('overlapping minishards', overlap, /by_id\/0\.shard: minishard 1: index range .* overlaps minishard 0's/),
  ]);
  await Promise.all([
    inspectRefuses('gzip bomb chunk (1.3 GB from 1.3 MB)', bomb, /by_id\/0\.shard: minishard 0, key 0: data does not decode \(gzip\): \d+ bytes of gzip decode to more than the limit of 256 MiB/),
    inspectRefuses('shard_bits 60', bits, /by_id\/0\.shard: unexpected file: with shard_bits 60 shard files are named x{15}\.shard/),
    inspectRefuses('rank 10^6 (and shard_bits 60)', rank, /info: "dimensions" has 1000000 entries, more than the limit of 32/),
  ]);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the VS Code export worker: the same one-line error for a hostile file, and cancel while a huge file is read', { timeout: 60_000 }, async () => {
  const dir = tmp.dir('worker');
  fs.mkdirSync(dir, { recursive: true });
  const wide = path.join(dir, 'wide.csv');
  fs.writeFileSync(wide, `${Array.from({ length: 200_000 }, (_, i) => `c${i}`).join(',')}\n`);
  // 100 MB of valid rows: cancelled from the first progress event of the read.
  const big = bigFile(path.join(dir, 'big.csv'), 'x,y,z\n', '1', 0);
  const fd = fs.openSync(big, 'a');
  const block = Buffer.from('1.5,2.5,3.5\n'.repeat(2 ** 16));
  for (let i = 0; i < Math.ceil((100 * 2 ** 20) / block.length); i++) fs.writeSync(fd, block);
  fs.closeSync(fd);
  // Started as src/extension/runExport.ts does: dist/exportWorker.js, the same message protocol.
  const worker = new Worker(path.join(DIST, 'exportWorker.js'));
  const progress: string[] = [];
  let cancelOnProgress = false;
  const link = new Endpoint<HostToWorker, WorkerToHost>((m) => worker.postMessage(m), {
    requests: {},
    events: {
      progress: (p) => {
        progress.push(p.phase);
        if (cancelOnProgress && progress.length === 1) link.emit('cancel', {});
      },
    },
  });
  worker.on('message', (m) => void link.receive(m));
  try {
    const mapping = (name: string): Mapping => ({ version: 1, annotationType: 'point', coords: ['x', 'y', 'z'], output: path.join(dir, name), seed: 1 });
    const settle = (p: Promise<unknown>) => p.then(() => 'finished', (e: Error) => e.message);
    let t = Date.now();
    const wideResult = await settle(link.request('export', { input: wide, mapping: mapping('wide-out') }));
    assert.equal(wideResult, 'wide.csv, line 1: the header has 200000 fields, more than the limit of 100000 columns (is this a matrix rather than a table?)');
    assert.ok(Date.now() - t < 20_000, `refused in ${Date.now() - t} ms`);
    progress.length = 0;
    cancelOnProgress = true;
    t = Date.now();
    const bigResult = await settle(link.request('export', { input: big, mapping: mapping('big-out') }));
    const ms = Date.now() - t;
    assert.match(bigResult, /cancel|abort/i, `cancelled: ${bigResult}`);
    assert.equal(progress[0], 'reading', 'cancelled while reading');
    assert.ok(ms < 20_000, `cancelled in ${ms} ms`);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['big.csv', 'wide.csv'], 'no dataset or temporary folder left');
  } finally {
    link.dispose('test over');
    await worker.terminate();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('preview server: idle and slow sockets are closed on timeouts, connections past the cap are refused, others are served meanwhile', { timeout: 30_000 }, async () => {
  const root = tmp.dir('serve');
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(path.join(root, 'info'), '{"@type":"neuroglancer_annotations_v1"}');
  const server = await startPreviewServer({ root, limits: { headersTimeoutMs: 1_000, keepAliveTimeoutMs: 500, idleTimeoutMs: 2_000, maxConnections: 50 } });
  const sockets: net.Socket[] = [];
  try {
    /** Opens a socket and resolves with the ms until the server closed it (or the wait ran out). */
    const open = (onConnect?: (s: net.Socket) => void): Promise<number> =>
      new Promise((resolve) => {
        const t = Date.now();
        const s = net.connect(server.port, '127.0.0.1', () => onConnect?.(s));
        sockets.push(s);
        s.on('error', () => {});
        s.resume();
        s.on('close', () => resolve(Date.now() - t));
        setTimeout(() => resolve(Infinity), 8_000).unref();
      });
    const idle = Array.from({ length: 40 }, () => open());
    await new Promise((r) => setTimeout(r, 200));
    // 40 idle connections open: a request is still answered at once.
    let t = Date.now();
    const ok = await raw(server.port, 'GET /info HTTP/1.1');
    assert.equal(ok.status, 200);
    assert.ok(Date.now() - t < 1_000, `answered in ${Date.now() - t} ms beside 40 idle sockets`);
    // 20 more: past the cap of 50, the extra ones are closed on arrival.
    const extra = Array.from({ length: 20 }, () => open());
    // A slow client: one header byte every 200 ms, never finishing.
    const slow = open((s) => {
      s.write('GET /info HTTP/1.1\r\n');
      const drip = setInterval(() => (s.destroyed ? clearInterval(drip) : s.write('X')), 200);
    });
    // A keep-alive client after one answered request.
    const kept = open((s) => s.write(`GET /info HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`));
    const extraTimes = await Promise.all(extra);
    assert.ok(extraTimes.filter((ms) => ms < 500).length >= 10, `connections past the cap closed at once: ${extraTimes.join(', ')}`);
    const idleTimes = await Promise.all(idle);
    assert.ok(idleTimes.every((ms) => ms < 4_000), `idle sockets closed by the headers timeout: max ${Math.max(...idleTimes)} ms`);
    const slowMs = await slow;
    assert.ok(slowMs < 4_000, `slow headers closed after ${slowMs} ms`);
    const keptMs = await kept;
    assert.ok(keptMs < 3_000, `idle keep-alive closed after ${keptMs} ms`);
    t = Date.now();
    assert.equal((await raw(server.port, 'GET /info HTTP/1.1')).status, 200, 'still serving');
  } finally {
    for (const s of sockets) s.destroy();
    await server.close();
  }
});
