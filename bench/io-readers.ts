// Time and peak memory of readTable() per input format on the same 1M-row table
// (x,y,z float64, confidence, kind string, id, rel uint64 > 2^53, rels = relationship cells in text).
//   node --import tsx bench/io-readers.ts [rows]
// Each read runs in a fresh child process; prints a Markdown table.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
// Static import: a dynamic import() would load apache-arrow's ESM build, a second copy whose
// writer does not recognise tables made by the CJS copy the readers use.
import { tableToIPC } from 'apache-arrow';

const outDir = join(__dirname, 'out');

async function makeFiles(rows: number): Promise<string[]> {
  const base = join(outDir, `io-${rows}`);
  const files = [`${base}.parquet`, `${base}.csv`, `${base}.tsv`, `${base}.arrow`];
  if (files.every(existsSync)) return files;
  const { duckdb } = await import('../test/io-fixtures.js');
  const select = `SELECT random() * 1e5 AS x, random() * 1e5 AS y, random() * 1e4 AS z, random()::FLOAT AS confidence,
      (['soma', 'axon', 'dendrite', 'spine', 'glia'])[1 + (i % 5)::INT] AS kind, (i * 7 + 1)::BIGINT AS id,
      (i * 1000003 + 9007199254740993)::UBIGINT AS rel,
      CASE WHEN i % 3 = 0 THEN '' WHEN i % 3 = 1 THEN '[' || i || ', ' || (i + 1) || ']' ELSE i::VARCHAR END AS rels
    FROM range(${rows}) t(i)`;
  await duckdb(
    `CREATE TABLE t AS ${select}`,
    `COPY t TO '${files[0]}' (FORMAT parquet, COMPRESSION 'snappy')`,
    `COPY t TO '${files[1]}' (HEADER, DELIMITER ',')`,
    `COPY t TO '${files[2]}' (HEADER, DELIMITER '\t')`,
  );
  const { readTable } = await import('../src/io/index.js');
  writeFileSync(files[3], tableToIPC(await readTable(files[0]), 'file'));
  return files;
}

async function child(path: string): Promise<void> {
  const { readTable } = await import('../src/io/index.js');
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const t = await readTable(path);
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const cpuMs = (c.user + c.system) / 1000;
  process.stdout.write(JSON.stringify({ ms, cpuMs, maxRssMB: process.resourceUsage().maxRSS / 1024, rows: t.numRows }));
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3]);
  const rows = Number(process.argv[2] ?? 1_000_000);
  mkdirSync(outDir, { recursive: true });
  const files = await makeFiles(rows);
  console.log(`readTable() on ${rows} rows, Node ${process.version}, median of 3 fresh processes\n`);
  console.log(`(load average at start: ${loadavg()[0].toFixed(1)} on ${cpus().length} cores; CPU time is the less load-sensitive figure)\n`);
  console.log('| file | size | wall time | CPU time | peak RSS |');
  console.log('|---|---|---|---|---|');
  for (const f of files) {
    const runs = [0, 1, 2].map(() =>
      JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', __filename, '--child', f], { cwd: join(__dirname, '..') }).toString()),
    );
    const med = (k: 'ms' | 'cpuMs' | 'maxRssMB') => runs.map((r) => r[k] as number).sort((a, b) => a - b)[1];
    console.log(
      `| ${f.split('.').pop()} | ${(statSync(f).size / 1e6).toFixed(0)} MB | ${(med('ms') / 1000).toFixed(2)} s | ${(med('cpuMs') / 1000).toFixed(2)} s | ${med('maxRssMB').toFixed(0)} MB |`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
