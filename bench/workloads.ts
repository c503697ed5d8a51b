// Deterministic benchmark inputs, written as Parquet by DuckDB (an independent writer, like pandas
// users' files): synapse-like points with a float32 score, a string enum and one scalar uint64
// relationship; lines; polylines with ~10 vertices each.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

export interface Workload {
  name: string;
  rows: number;
  /** Run only when asked for (`--large`, or by name with `--only`): minutes long and gigabytes big. */
  large?: boolean;
  /** Input files to generate: name → SELECT over range(rows) t(i). */
  files: Record<string, (rows: number) => string>;
  args: (inputs: Record<string, string>) => string[];
  /** Flags for node itself (e.g. a small JS heap for the run through temporary files). */
  node?: string[];
  /** Export to a loopback S3-compatible server (s3rver), beside the same export to a local folder. */
  s3?: boolean;
}

// hash(i, salt) is DuckDB's deterministic 64-bit hash; fractions in [0, 1) from its low 32 bits.
const u = (salt: number) => `((hash(i + ${salt}) % 4294967296)::DOUBLE / 4294967296.0)`;
const common = (rows: number) =>
  `(${u(7)})::FLOAT AS score, ['excitatory','inhibitory','modulatory','unknown'][1 + (hash(i + 11) % 4)::INTEGER] AS kind, ` +
  `(hash(i + 13) % ${Math.max(1, Math.floor(rows / 10))})::UBIGINT AS body`;

const points = (rows: number) =>
  `SELECT i::UBIGINT AS annotation_id, ${u(1)} * 100000 AS x, ${u(2)} * 100000 AS y, ${u(3)} * 40000 AS z, ${common(rows)} FROM range(${rows}) t(i)`;
const pointArgs = (inputs: Record<string, string>) => [inputs.table, '--type', 'point', '--properties', 'score,kind', '--relationships', 'body'];

export const WORKLOADS: Workload[] = [
  { name: 'points-1e5', rows: 1e5, files: { table: points }, args: pointArgs },
  { name: 'points-1e6', rows: 1e6, files: { table: points }, args: pointArgs },
  // Every index's chunks gzipped (the default before `auto`): the floor the issue-15 goals were set against.
  { name: 'points-1e6-gzip', rows: 1e6, files: { table: points }, args: (i) => [...pointArgs(i), '--data-encoding', 'gzip'] },
  { name: 'points-unsharded-1e5', rows: 1e5, files: { table: points }, args: (i) => [...pointArgs(i), '--unsharded'] },
  {
    name: 'lines-1e6',
    rows: 1e6,
    files: {
      table: (rows) =>
        `SELECT i::UBIGINT AS annotation_id, ${u(1)} * 100000 AS xa, ${u(2)} * 100000 AS ya, ${u(3)} * 40000 AS za, ` +
        `${u(1)} * 100000 + (${u(4)} - 0.5) * 2000 AS xb, ${u(2)} * 100000 + (${u(5)} - 0.5) * 2000 AS yb, ${u(3)} * 40000 + (${u(6)} - 0.5) * 800 AS zb, ` +
        `${common(rows)} FROM range(${rows}) t(i)`,
    },
    args: (i) => [i.table, '--type', 'line', '--properties', 'score,kind', '--relationships', 'body'],
  },
  {
    name: 'polylines-1e5',
    rows: 1e5,
    files: {
      table: (rows) => `SELECT i::UBIGINT AS annotation_id, ${common(rows)} FROM range(${rows}) t(i)`,
      // 10 vertices per polyline: a short random walk from a random start.
      points: (rows) =>
        `SELECT (i // 10)::UBIGINT AS annotation_id, ` +
        `((hash(i // 10 + 1) % 4294967296)::DOUBLE / 4294967296.0) * 100000 + (i % 10) * 50 AS x, ` +
        `((hash(i // 10 + 2) % 4294967296)::DOUBLE / 4294967296.0) * 100000 + ${u(5)} * 100 AS y, ` +
        `((hash(i // 10 + 3) % 4294967296)::DOUBLE / 4294967296.0) * 40000 + ${u(6)} * 40 AS z ` +
        `FROM range(${rows * 10}) t(i) ORDER BY i`,
    },
    args: (i) => [i.table, '--type', 'polyline', '--points', i.points, '--properties', 'score,kind', '--relationships', 'body'],
  },
  // The same export uploaded to s3rver on 127.0.0.1 (its own process), timed beside a local one.
  { name: 'points-1e6-s3', rows: 1e6, files: { table: points }, args: pointArgs, s3: true },
  { name: 'points-1e7', rows: 1e7, files: { table: points }, args: pointArgs },
  { name: 'points-1e8', rows: 1e8, large: true, files: { table: points }, args: pointArgs },
  // Through temporary files (as for an input larger than memory), with a 512 MB JS heap.
  { name: 'points-1e7-streamed', rows: 1e7, files: { table: points }, args: (i) => [...pointArgs(i), '--memory-limit', '0'], node: ['--max-old-space-size=512'] },
  { name: 'points-1e8-streamed', rows: 1e8, large: true, files: { table: points }, args: (i) => [...pointArgs(i), '--memory-limit', '0'], node: ['--max-old-space-size=512'] },
];

/** Writes a workload's Parquet files once (cached by name and row count). */
export async function generateInputs(w: Workload, dir: string): Promise<Record<string, string>> {
  fs.mkdirSync(dir, { recursive: true });
  const out: Record<string, string> = {};
  for (const [key, select] of Object.entries(w.files)) {
    const base = w.name.replace('-unsharded', '').replace('-streamed', '').replace('-s3', '').replace('-gzip', '');
    const file = path.join(dir, `${base}-${key}.parquet`);
    out[key] = file;
    if (fs.existsSync(file)) continue;
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      await conn.run(`COPY (${select(w.rows)}) TO '${file}.tmp' (FORMAT parquet, COMPRESSION 'snappy', ROW_GROUP_SIZE 122880)`);
    } finally {
      conn.closeSync();
      db.closeSync();
    }
    fs.renameSync(`${file}.tmp`, file);
  }
  return out;
}
