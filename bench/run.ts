// `npm run bench`: end-to-end exports through the built CLI on deterministic Parquet inputs, with the
// floor measured in the same run: compressing the same chunk bytes with the same codec and level and
// writing the same number of bytes. Prints a table and writes bench/out/results.json.
//
//   npm run bench                      every workload
//   npm run bench -- --only points-1e6 one workload (repeatable; prefix match)
//   npm run bench -- --skip-1e7        everything but the 10M-row runs
//   npm run bench -- --large           also the 100M-row runs (input 3.75 GB; about 25 min for both)
//   npm run bench -- --only points-1e6-s3  1e6 points uploaded to a loopback s3rver beside a local export
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { parseInfo, type Problem } from '../src/inspect/info';
import { readShard, parseShardFileName } from '../src/inspect/sharded';
import { generateInputs, type Workload, WORKLOADS } from './workloads';
import { startS3rver } from '../test/helpers/s3';

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'bench', 'out');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const RSS_HOOK = path.join(ROOT, 'bench', 'rss-hook.cjs');

interface Result {
  workload: string;
  annotations: number;
  seconds: number;
  annotationsPerSecond: number;
  peakRssMB: number;
  bytesWritten: number;
  files: number;
  floorSeconds: number;
  /** The floor's zlib time was measured on a sample of each index and scaled (large runs). */
  floorSampled: boolean;
  ratioToFloor: number;
  gzipIndexes: number;
}

function exportOnce(w: Workload, inputs: Record<string, string>, to?: { out: string; env: NodeJS.ProcessEnv }): { seconds: number; rssMB: number; summary: any } {
  const out = to?.out ?? path.join(OUT, 'datasets', w.name);
  if (!to) fs.rmSync(out, { recursive: true, force: true });
  const args = [...(w.node ?? []), '--require', RSS_HOOK, CLI, 'export', ...w.args(inputs), '--out', out, '--seed', '1', '--json', '--quiet'];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26, env: to?.env });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${w.name}: export failed (${r.status}): ${r.stderr}`);
  // A large export runs in a child process (src/cli/relaunch.ts): each process reports its own peak.
  const rss = [...r.stderr.matchAll(/maxRSS=(\d+)/g)].map((m) => Number(m[1]));
  return { seconds, rssMB: rss.length ? Math.max(...rss) / 1024 : NaN, summary: JSON.parse(r.stdout) };
}

/** The floor: gzip the bytes of every gzip-encoded chunk at the same level, then write as many bytes as the export wrote. */
/**
 * `sample`: read at most about this many uncompressed bytes of each index and scale its zlib time by
 * the index's total (`rawBytes` from the export's summary). Used for the 1e8 run, where inflating
 * every one of its 10^8 small by_id values back out of the shards would take longer than the export.
 */
async function floor(dir: string, gzipLevel: number, sample?: { bytes: number; rawByKey: Map<string, number> }): Promise<{ seconds: number; gzipIndexes: number; sampled: boolean }> {
  const problems: Problem[] = [];
  const info = parseInfo(JSON.parse(fs.readFileSync(path.join(dir, 'info'), 'utf8')), problems);
  if (!info) throw new Error(`cannot parse ${dir}/info`);
  // The codec's own cost for these bytes: zlib at the same level over 1 MiB blocks (no per-call
  // overhead, which is the writer's problem to avoid, not part of the floor). Chunks are staged into
  // blocks as the shards are read, and only the zlib and write time is counted.
  const BLOCK = 1 << 20;
  const stage = Buffer.alloc(BLOCK);
  let staged = 0;
  let zlibNs = 0n;
  const flush = () => {
    const t = process.hrtime.bigint();
    gzipSync(stage.subarray(0, staged), { level: gzipLevel });
    zlibNs += process.hrtime.bigint() - t;
    staged = 0;
  };
  const add = (data: Uint8Array) => {
    for (let at = 0; at < data.length; ) {
      const n = Math.min(BLOCK - staged, data.length - at);
      stage.set(data.subarray(at, at + n), staged);
      staged += n;
      at += n;
      if (staged === BLOCK) flush();
    }
  };
  let total = 0;
  let gzipIndexes = 0;
  let scaledNs = 0;
  let sampled = false;
  const indexes = [info.byId, ...info.relationships, ...info.spatial].filter((x) => x !== undefined);
  for (const idx of indexes) {
    const folder = path.join(dir, idx!.key);
    if (!fs.existsSync(folder)) continue;
    let raw = 0;
    const before = zlibNs;
    for (const name of fs.readdirSync(folder)) {
      const file = path.join(folder, name);
      total += fs.statSync(file).size;
      const s = idx!.sharding;
      if (s && s.dataEncoding === 'gzip' && !(sample && raw >= sample.bytes)) {
        await readShard(file, parseShardFileName(name, s) ?? 0n, s, (_k, data) => ((raw += data.length), add(data)), () => {});
      }
    }
    if (staged) flush();
    const whole = sample?.rawByKey.get(idx!.key) ?? raw;
    if (raw > 0 && whole > raw) sampled = true;
    scaledNs += raw > 0 ? (Number(zlibNs - before) * whole) / raw : 0;
    if (idx!.sharding?.dataEncoding === 'gzip') gzipIndexes++;
  }
  const target = path.join(os.tmpdir(), `ng-annotations-floor-${process.pid}`);
  const t0 = process.hrtime.bigint();
  const block = Buffer.alloc(1 << 22, 7);
  const fd = fs.openSync(target, 'w');
  for (let left = total; left > 0; left -= block.length) fs.writeSync(fd, block, 0, Math.min(block.length, left));
  fs.closeSync(fd);
  const seconds = (Number(process.hrtime.bigint() - t0) + scaledNs) / 1e9;
  fs.rmSync(target, { force: true });
  return { seconds, gzipIndexes, sampled };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: 'string', multiple: true }, 'skip-1e7': { type: 'boolean' }, large: { type: 'boolean' } } });
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first');
  fs.mkdirSync(OUT, { recursive: true });
  let list = WORKLOADS;
  if (values.only?.length) list = list.filter((w) => values.only!.some((o) => (w.large ? w.name === o : w.name.startsWith(o))));
  else if (!values.large) list = list.filter((w) => !w.large);
  if (values['skip-1e7']) list = list.filter((w) => !w.name.includes('1e7'));
  console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  const results: Result[] = [];
  for (const w of list) {
    const inputs = await generateInputs(w, path.join(OUT, 'inputs'));
    if (w.s3) {
      // Local first, then the same export to the bucket, in the same run on the same input.
      const server = await startS3rver(['bench']);
      try {
        const local = exportOnce(w, inputs);
        const remote = exportOnce(w, inputs, { out: `s3://bench/${w.name}`, env: server.env() });
        const ratio = remote.seconds / local.seconds;
        console.log(
          `${w.name.padEnd(22)} bucket ${remote.seconds.toFixed(2)} s, peak RSS ${Math.round(remote.rssMB)} MB; local ${local.seconds.toFixed(2)} s, peak RSS ${Math.round(local.rssMB)} MB; ` +
            `ratio ${ratio.toFixed(2)}x (${(remote.summary.bytesWritten / 1e6).toFixed(1)} MB in ${remote.summary.filesWritten} objects)`,
        );
        results.push({ workload: w.name, annotations: w.rows, seconds: remote.seconds, annotationsPerSecond: w.rows / remote.seconds, peakRssMB: remote.rssMB, bytesWritten: remote.summary.bytesWritten, files: remote.summary.filesWritten, localSeconds: local.seconds, localPeakRssMB: local.rssMB, ratioToLocal: ratio } as unknown as Result);
      } finally {
        await server.close();
      }
      continue;
    }
    const run = exportOnce(w, inputs);
    const s = run.summary;
    const rawByKey = new Map<string, number>([s.byId, ...s.relationships, ...s.spatial].filter(Boolean).map((x: { key: string; rawBytes: number }) => [x.key, x.rawBytes]));
    const fl = await floor(path.join(OUT, 'datasets', w.name), 1, w.large ? { bytes: 256 << 20, rawByKey } : undefined);
    const r: Result = {
      workload: w.name,
      annotations: w.rows,
      seconds: run.seconds,
      annotationsPerSecond: w.rows / run.seconds,
      peakRssMB: run.rssMB,
      bytesWritten: run.summary.bytesWritten,
      files: run.summary.filesWritten,
      floorSeconds: fl.seconds,
      floorSampled: fl.sampled,
      ratioToFloor: run.seconds / fl.seconds,
      gzipIndexes: fl.gzipIndexes,
    };
    results.push(r);
    console.log(
      `${r.workload.padEnd(22)} ${r.seconds.toFixed(2).padStart(7)} s  ${Math.round(r.annotationsPerSecond).toLocaleString('en-US').padStart(10)} ann/s  ` +
        `peak RSS ${Math.round(r.peakRssMB).toLocaleString('en-US').padStart(6)} MB  ${(r.bytesWritten / 1e6).toFixed(1).padStart(8)} MB in ${r.files} files  ` +
        `floor ${r.floorSeconds.toFixed(2)} s${fl.sampled ? ' (sampled, scaled)' : ''}  ratio ${r.ratioToFloor.toFixed(2)}x`,
    );
  }
  fs.writeFileSync(path.join(OUT, 'results.json'), JSON.stringify(results, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
