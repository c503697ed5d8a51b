// `node --import tsx bench/encoding.ts [workload…]`: the chunk data encoding (`--data-encoding gzip`,
// `raw`, `auto`) on the bench workloads: bytes of each index and export time, one run each (times on
// a shared machine are noisy; sizes are exact). Inputs are the bench's own Parquet files (bench/out/inputs).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateInputs, WORKLOADS } from './workloads';

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'bench', 'out');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const names = process.argv.slice(2).length ? process.argv.slice(2) : ['points-1e5', 'points-1e6', 'lines-1e6', 'polylines-1e5'];

async function main(): Promise<void> {
  const rows: string[] = ['| workload | encoding | by_id | by_rel | spatial | total | files | time (s) |', '|---|---|---:|---:|---:|---:|---:|---:|'];
  for (const name of names) {
    const w = WORKLOADS.find((x) => x.name === name);
    if (!w) throw new Error(`no workload ${name}`);
    const inputs = await generateInputs(w, path.join(OUT, 'inputs'));
    for (const enc of ['gzip', 'auto', 'raw']) {
      const out = path.join(OUT, 'datasets', `${name}-${enc}`);
      fs.rmSync(out, { recursive: true, force: true });
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [CLI, 'export', ...w.args(inputs), '--out', out, '--seed', '1', '--data-encoding', enc, '--json', '--quiet'], { encoding: 'utf8', maxBuffer: 1 << 26 });
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (r.status !== 0) throw new Error(`${name} ${enc}: ${r.stderr}`);
      const s = JSON.parse(r.stdout);
      const sum = (xs: Array<{ bytes: number }>) => xs.reduce((a, x) => a + x.bytes, 0);
      const mb = (n: number) => (n / 1e6).toFixed(2);
      const encs = (xs: Array<{ dataEncoding?: string }>) => [...new Set(xs.map((x) => x.dataEncoding))].join('/');
      rows.push(
        `| ${name} | ${enc} | ${mb(s.byId?.bytes ?? 0)} (${s.byId?.dataEncoding}) | ${mb(sum(s.relationships))} (${encs(s.relationships)}) | ${mb(sum(s.spatial))} (${encs(s.spatial)}) | ${mb(s.bytesWritten)} | ${s.filesWritten} | ${seconds.toFixed(2)} |`,
      );
      console.error(rows[rows.length - 1]);
      fs.rmSync(out, { recursive: true, force: true });
    }
  }
  console.log(rows.join('\n'));
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
