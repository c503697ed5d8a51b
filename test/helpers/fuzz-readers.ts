// Child process of test/reliability-fuzz.test.ts: mutates valid Parquet/Arrow files and reads each
// with readTable. Prints "case: ..." to stderr before each case and a JSON summary line to stdout;
// exits 1 on an unexpected error type, a hang past FUZZ_CASE_MS, or RSS growth past FUZZ_RSS_LIMIT.
// Usage: node --import tsx test/helpers/fuzz-readers.ts <arrow|parquet|parquet-ends> <seed> <cases> <dir>
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tableToIPC } from 'apache-arrow';
import * as pw from 'parquet-wasm';
import { InputError, readTable } from '../../src/io/index';
import { writeParquet } from '../io-fixtures';
import { pointTable, rng, withTimeout, writeArrowFile } from './reliability';

const [kind, seedArg, casesArg, dir] = process.argv.slice(2) as [string, string, string, string];
const CASE_MS = Number(process.env.FUZZ_CASE_MS ?? 5000);
const RSS_LIMIT = Number(process.env.FUZZ_RSS_LIMIT ?? 768 * 2 ** 20);

async function seedFiles(): Promise<Array<{ name: string; bytes: Buffer }>> {
  fs.mkdirSync(dir, { recursive: true });
  const out: Array<{ name: string; bytes: Buffer }> = [];
  if (kind.startsWith('parquet')) {
    const select = `SELECT i::UBIGINT AS annotation_id, i * 0.5 AS x, (i % 17)::FLOAT AS y, i % 3 AS z, 'n' || (i % 5) AS name,
      CASE WHEN i % 4 = 0 THEN NULL ELSE [i::UBIGINT, (i + 1)::UBIGINT] END AS seg, i % 2 = 0 AS flag FROM range(600) t(i)`;
    for (const codec of ['snappy', 'zstd', 'gzip', 'uncompressed']) {
      const file = path.join(dir, `seed-${codec}.parquet`);
      await writeParquet(file, select, { codec });
      out.push({ name: file, bytes: fs.readFileSync(file) });
    }
    // Data pages v2 (levels outside the compressed part, RLE booleans), from a second writer: arrow-rs.
    for (const codec of ['ZSTD', 'UNCOMPRESSED'] as const) {
      const table = pw.readParquet(new Uint8Array(out[0]!.bytes)); // writeParquet consumes it
      const file = path.join(dir, `seed-v2-${codec.toLowerCase()}.parquet`);
      const props = new pw.WriterPropertiesBuilder().setWriterVersion(pw.WriterVersion.V2).setCompression(pw.Compression[codec]).build();
      fs.writeFileSync(file, pw.writeParquet(table, props));
      out.push({ name: file, bytes: fs.readFileSync(file) });
    }
  } else {
    const table = pointTable(500, 7, { relationship: true });
    const file = path.join(dir, 'seed-points.arrow');
    writeArrowFile(file, table);
    out.push({ name: file, bytes: fs.readFileSync(file) });
    const stream = path.join(dir, 'seed-points.arrows');
    fs.writeFileSync(stream, tableToIPC(table, 'stream'));
    out.push({ name: stream, bytes: fs.readFileSync(stream) });
    for (const f of ['zstd.feather', 'lz4.feather']) {
      const p = path.join(__dirname, '..', 'fixtures', f);
      out.push({ name: p, bytes: fs.readFileSync(p) });
    }
  }
  return out;
}

function mutate(rand: () => number, src: Buffer, endsOnly: boolean): Buffer {
  const int = (n: number) => Math.floor(rand() * n);
  const b = Buffer.from(src);
  if (endsOnly) {
    // Truncations and appended bytes: what an interrupted copy or download gives.
    if (rand() < 0.7) return b.subarray(0, int(b.length));
    return Buffer.concat([b, Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256)))]);
  }
  switch (int(5)) {
    case 0: // bit flips
      for (let k = 1 + int(8); k > 0; k--) {
        const at = int(b.length);
        b[at] = b[at]! ^ (1 << int(8));
      }
      return b;
    case 1: // truncation
      return b.subarray(0, int(b.length));
    case 2: // a random run of bytes overwritten
      for (let j = int(b.length), end = Math.min(b.length, j + 1 + int(64)); j < end; j++) b[j] = int(256);
      return b;
    case 3: // a 32-bit field set to a huge value (lengths, offsets, counts)
      b.writeUInt32LE([0xffffffff, 0x7fffffff, 0x80000000, 0x10000000][int(4)]!, int(b.length - 4));
      return b;
    default: {
      // cut from the middle, keeping both ends (the magic numbers stay right)
      const at = int(b.length);
      return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(256)))]);
    }
  }
}

async function main(): Promise<void> {
  const seeds = await seedFiles();
  const rand = rng(Number(seedArg));
  const counts = { ok: 0, error: 0 };
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < Number(casesArg); i++) {
    const s = seeds[i % seeds.length]!;
    const file = path.join(dir, `c${i}${path.extname(s.name)}`);
    fs.writeFileSync(file, mutate(rand, s.bytes, kind === 'parquet-ends'));
    const what = `seed ${seedArg} case ${i} (${path.basename(s.name)})`;
    process.stderr.write(`case: ${what}\n`);
    try {
      const t = await withTimeout(readTable(file), CASE_MS, what);
      // Touch every value, so lazily decoded data is decoded here too.
      for (const f of t.schema.fields) t.getChild(f.name)?.toArray();
      counts.ok++;
    } catch (e) {
      const err = e as Error;
      if (!(err instanceof InputError) || !err.message.includes(path.basename(file)) || err.message.length > 4100) {
        process.stdout.write(`${what}: unexpected ${err?.constructor?.name}: ${err?.message?.slice(0, 500)}\n${err?.stack?.split('\n').slice(0, 8).join('\n')}\n`);
        process.exit(1);
      }
      counts.error++;
    }
    fs.rmSync(file);
    const grown = process.memoryUsage().rss - rss0;
    if (grown > RSS_LIMIT) {
      process.stdout.write(`${what}: RSS grew by ${(grown / 2 ** 20).toFixed(0)} MB\n`);
      process.exit(1);
    }
  }
  process.stdout.write(JSON.stringify(counts) + '\n');
  process.exit(0);
}

void main();
