// `npm run bench:profile -- points-1e6`: where an export's time goes. Runs one bench workload through
// the built CLI under `node --cpu-prof` (one profile per thread: the main thread, the Parquet reader
// threads, the shard encoder threads), then prints per thread its busy and idle time and its CPU time
// by source module (from the bundles' `// src/...` module markers), and the main thread's timeline
// (`-- --all-threads`: every thread's).
// Needs the workload's input (made by `npm run bench` or here, with DuckDB).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateInputs, WORKLOADS } from './workloads';

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Per bundle: the first line of each module esbuild put in it, to name a sample's module. */
const moduleIndex = new Map<string, Array<{ line: number; name: string }>>();
function moduleOf(url: string, line: number): string {
  if (!url) return '(native)';
  if (url.startsWith('node:')) return url;
  const file = url.replace(/^file:\/\//, '');
  if (!file.startsWith(DIST)) return file.includes('/node_modules/') || !file.startsWith('/') ? '(node internals)' : file;
  let marks = moduleIndex.get(file);
  if (!marks) {
    marks = [];
    fs.readFileSync(file, 'utf8')
      .split('\n')
      .forEach((text, i) => {
        const m = /^\/\/ ((?:src|node_modules)\/\S+)$/.exec(text);
        if (m) marks!.push({ line: i, name: m[1].replace(/^node_modules\/((?:@[^/]+\/)?[^/]+)\/.*$/, '$1') });
      });
    moduleIndex.set(file, marks);
  }
  let name = path.basename(file);
  for (const mk of marks) {
    if (mk.line > line) break;
    name = mk.name;
  }
  return name;
}

function summarise(p: CpuProfile, t0: number) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const modules = new Map<string, number>();
  const timeline = new Map<number, Map<string, number>>();
  let busy = 0;
  let gc = 0;
  let role = 'main';
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    const cf = byId.get(p.samples[i])!.callFrame;
    if (cf.url.endsWith('parquetWorker.js')) role = 'Parquet reader';
    if (cf.url.endsWith('shardWorker.js')) role = 'shard encoder';
    if (cf.functionName === '(idle)') continue;
    const dt = p.timeDeltas[i] / 1e3;
    busy += dt;
    if (cf.functionName === '(garbage collector)') gc += dt;
    const mod = cf.functionName === '(garbage collector)' ? '(garbage collector)' : moduleOf(cf.url, cf.lineNumber);
    modules.set(mod, (modules.get(mod) ?? 0) + dt);
    const slot = Math.floor((t - t0) / 250e3);
    const m = timeline.get(slot) ?? new Map<string, number>();
    m.set(cf.functionName || '(anonymous)', (m.get(cf.functionName || '(anonymous)') ?? 0) + dt);
    timeline.set(slot, m);
  }
  return { role, wall: (p.endTime - p.startTime) / 1e3, start: (p.startTime - t0) / 1e3, busy, gc, modules, timeline };
}

function main(): void {
  const name = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'points-1e6';
  const w = WORKLOADS.find((x) => x.name === name);
  if (!w || w.s3) throw new Error(`no such local workload: ${name} (one of ${WORKLOADS.filter((x) => !x.s3).map((x) => x.name).join(', ')})`);
  if (!fs.existsSync(path.join(DIST, 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
  return void generateInputs(w, path.join(ROOT, 'bench', 'out', 'inputs')).then((inputs) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ng-annotations-profile-'));
    try {
      const out = path.join(dir, 'dataset');
      const args = [...(w.node ?? []), '--cpu-prof', '--cpu-prof-dir', dir, path.join(DIST, 'cli.js'), 'export', ...w.args(inputs), '--out', out, '--seed', '1', '--quiet'];
      const t = process.hrtime.bigint();
      const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
      const seconds = Number(process.hrtime.bigint() - t) / 1e9;
      if (r.status !== 0) throw new Error(`export failed: ${r.stderr}`);
      // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile. A large export runs in a child process
      // (src/cli/relaunch.ts): the process with the most threads is the one that exported.
      const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
      const pidOf = (f: string) => f.split('.')[3];
      const perPid = new Map<string, number>();
      for (const f of files) perPid.set(pidOf(f), (perPid.get(pidOf(f)) ?? 0) + 1);
      const exporter = [...perPid].sort((a, b) => b[1] - a[1])[0][0];
      const profiles = files.filter((f) => pidOf(f) === exporter).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as CpuProfile);
      const t0 = Math.min(...profiles.map((p) => p.startTime));
      const threads = profiles.map((p) => summarise(p, t0)).sort((a, b) => a.start - b.start);
      console.log(`${name}: ${seconds.toFixed(2)} s under the profiler (which slows it by 10–20%), ${threads.length} threads`);
      let total = 0;
      for (const th of threads) {
        total += th.busy;
        console.log(
          `\n${th.role}: from ${(th.start / 1e3).toFixed(2)} s for ${(th.wall / 1e3).toFixed(2)} s, busy ${(th.busy / 1e3).toFixed(2)} s (${Math.round((100 * th.busy) / th.wall)}%), of which GC ${(th.gc / 1e3).toFixed(2)} s`,
        );
        for (const [mod, ms] of [...th.modules].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${ms.toFixed(0).padStart(6)} ms  ${mod}`);
      }
      console.log(`\nCPU busy in all threads: ${(total / 1e3).toFixed(2)} s over ${seconds.toFixed(2)} s wall on ${os.cpus().length} cores`);
      // The main thread's timeline; every thread's with --all-threads (to see where the encoders wait).
      for (const th of process.argv.includes('--all-threads') ? threads : threads.filter((x) => x.role === 'main')) {
        console.log(`\n${th.role} thread, per 250 ms: busy ms and the functions that took most of it`);
        for (const [slot, m] of [...th.timeline].sort((a, b) => a[0] - b[0])) {
          const sum = [...m.values()].reduce((a, b) => a + b, 0);
          const top = [...m].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([f, ms]) => `${f} ${ms.toFixed(0)}`);
          console.log(`  ${(slot / 4).toFixed(2).padStart(6)} s ${sum.toFixed(0).padStart(4)}  ${top.join(', ')}`);
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

main();
