// Compares the two Parquet readers we could use, on a 1M-row file shaped like annotation input:
// x,y,z float64, confidence float32, kind string (enum-like), id int64, rel uint64.
//   node --import tsx bench/parquet-readers.ts [rows] [codec]
// Each reader runs in a fresh child process so its peak RSS is its own. Output: a Markdown table.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { Table } from 'apache-arrow';

const outDir = join(__dirname, 'out');

async function makeFile(rows: number, codec: string): Promise<string> {
  const path = join(outDir, `bench-${rows}-${codec}.parquet`);
  if (existsSync(path)) return path;
  const { writeParquet } = await import('../test/io-fixtures.js');
  await writeParquet(
    path,
    `SELECT random() * 1e5 AS x, random() * 1e5 AS y, random() * 1e4 AS z,
            random()::FLOAT AS confidence,
            (['soma', 'axon', 'dendrite', 'spine', 'glia'])[1 + (i % 5)::INT] AS kind,
            (i * 7 + 1)::BIGINT AS id,
            (i * 1000003 + 9007199254740993)::UBIGINT AS rel
     FROM range(${rows}) t(i)`,
    { codec },
  );
  return path;
}

/** A cheap checksum over every column, so both readers are seen to return the same values. */
function checksum(t: Table): string {
  let f = 0;
  let big = 0n;
  let chars = 0;
  for (const name of ['x', 'y', 'z', 'confidence']) for (const v of t.getChild(name)!) f += v as number;
  for (const name of ['id', 'rel']) for (const v of t.getChild(name)!) big += BigInt(v as bigint);
  for (const v of t.getChild('kind')!) chars += (v as string).length;
  return `${t.numRows}:${f.toFixed(3)}:${big}:${chars}`;
}

async function child(reader: string, path: string): Promise<void> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let table: Table;
  if (reader === 'hyparquet') {
    const { readTable } = await import('../src/io/index.js');
    table = await readTable(path);
  } else {
    const pw = await import('parquet-wasm');
    const { tableFromIPC } = await import('apache-arrow');
    const wasmTable = pw.readParquet(new Uint8Array(readFileSync(path)));
    table = tableFromIPC(wasmTable.intoIPCStream());
  }
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const cpuMs = (c.user + c.system) / 1000;
  const sum = checksum(table);
  const maxRssMB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ ms, cpuMs, maxRssMB, sum }));
}

function bundleSize(entrySource: string): number {
  const dir = join(outDir, 'bundle');
  mkdirSync(dir, { recursive: true });
  const entry = join(dir, `entry-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(entry, entrySource);
  const out = `${entry}.js`;
  execFileSync(
    process.execPath,
    [
      '-e',
      `require('esbuild').buildSync({entryPoints:[${JSON.stringify(entry)}],bundle:true,minify:true,platform:'node',format:'cjs',outfile:${JSON.stringify(out)},logLevel:'error',loader:{'.wasm':'file'}})`,
    ],
    { cwd: join(__dirname, '..') },
  );
  return statSync(out).size;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3], process.argv[4]);
  const rows = Number(process.argv[2] ?? 1_000_000);
  const codec = process.argv[3] ?? 'snappy';
  mkdirSync(outDir, { recursive: true });
  const path = await makeFile(rows, codec);
  const results: Record<string, { ms: number; cpuMs: number; maxRssMB: number; sum: string }[]> = {};
  for (let round = 0; round < 3; round++) {
    for (const reader of ['hyparquet', 'parquet-wasm']) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', __filename, '--child', reader, path], {
        cwd: join(__dirname, '..'),
        maxBuffer: 1 << 20,
      });
      (results[reader] ??= []).push(JSON.parse(out.toString()));
    }
  }
  const root = join(__dirname, '..');
  const arrowOnly = bundleSize(`import { tableFromIPC } from 'apache-arrow'; console.log(tableFromIPC);`);
  const hyBundle = bundleSize(`import { readParquetTable } from ${JSON.stringify(join(root, 'src/io/parquet'))}; console.log(readParquetTable);`);
  const pwBundle = bundleSize(`import { readParquet } from 'parquet-wasm'; import { tableFromIPC } from 'apache-arrow'; console.log(readParquet, tableFromIPC);`);
  const wasm = statSync(join(root, 'node_modules/parquet-wasm/node/parquet_wasm_bg.wasm')).size;
  const size = statSync(path).size;
  console.log(`File: ${rows} rows, ${codec}, ${(size / 1e6).toFixed(1)} MB (DuckDB, default row groups). Node ${process.version}, ${results.hyparquet.length} runs each, fresh process per run.\n`);
  console.log(`(load average at start: ${loadavg()[0].toFixed(1)} on ${cpus().length} cores; CPU time is the less load-sensitive figure)\n`);
  console.log('| reader | wall time | CPU time | peak RSS | bundle (min, JS) | extra files | checksum |');
  console.log('|---|---|---|---|---|---|---|');
  for (const reader of ['hyparquet', 'parquet-wasm']) {
    const r = results[reader];
    const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const ms = med(r.map((x) => x.ms));
    const rss = med(r.map((x) => x.maxRssMB));
    const cpu = med(r.map((x) => x.cpuMs));
    const js = reader === 'hyparquet' ? hyBundle : pwBundle;
    const extra = reader === 'hyparquet' ? 'none' : `${(wasm / 1e6).toFixed(2)} MB .wasm`;
    console.log(
      `| ${reader} | ${(ms / 1000).toFixed(2)} s | ${(cpu / 1000).toFixed(2)} s | ${rss.toFixed(0)} MB | ${(js / 1e3).toFixed(0)} kB (${((js - arrowOnly) / 1e3).toFixed(0)} kB beyond apache-arrow) | ${extra} | ${r[0].sum === results['hyparquet'][0].sum ? 'same' : 'DIFFERENT'} |`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
