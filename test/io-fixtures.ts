// Fixture makers for the reader tests. Parquet comes from DuckDB (an independent writer); Arrow
// IPC from apache-arrow's writer. Everything is written into a fresh temp dir per test file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Table, Utf8, makeVector, vectorFromArray } from 'apache-arrow';

export function tempDir(prefix = 'ng-io-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs DuckDB statements in order (an in-memory database). */
export async function duckdb(...sql: string[]): Promise<void> {
  // Loaded on first use: the native module is large and most reader tests do not need it.
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    for (const s of sql) await conn.run(s);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Writes the result of `select` to a Parquet file with DuckDB. */
export async function writeParquet(
  path: string,
  select: string,
  opts: { codec?: string; rowGroupSize?: number; kvMetadata?: Record<string, string>; version?: 'V1' | 'V2' } = {},
): Promise<void> {
  const parts = ['FORMAT parquet', `COMPRESSION '${opts.codec ?? 'snappy'}'`];
  if (opts.rowGroupSize) parts.push(`ROW_GROUP_SIZE ${opts.rowGroupSize}`);
  if (opts.version) parts.push(`PARQUET_VERSION ${opts.version}`);
  if (opts.kvMetadata) {
    const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
    parts.push(`KV_METADATA {${Object.entries(opts.kvMetadata).map(([k, v]) => `${k}: ${q(v)}`).join(', ')}}`);
  }
  await duckdb(`COPY (${select}) TO '${path.replace(/'/g, "''")}' (${parts.join(', ')})`);
}

/** The table stored in test/fixtures/{lz4,zstd}.feather and zstd.arrows (see make-compressed-ipc.mts). */
export function compressedIpcTable(): Table {
  const n = 1000;
  const ids = new BigUint64Array(n);
  const signed = new BigInt64Array(n);
  const x = new Float64Array(n);
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    ids[i] = BigInt(i) * 3n;
    signed[i] = BigInt(i) - 500n;
    x[i] = i / 4;
    names.push(['soma', 'axon', 'dendrite'][i % 3]);
  }
  // uint64 extremes and int64 extremes in the first rows
  ids.set([0n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]);
  signed.set([-(2n ** 63n), -1n, 2n ** 63n - 1n]);
  return new Table({
    id: makeVector(ids),
    s: makeVector(signed),
    x: makeVector(x),
    kind: vectorFromArray(names, new Utf8()),
  });
}

/**
 * Deterministic inputs of the LZ4 frame fixtures: 100 kB of text that repeats a 2 kB passage with
 * small changes (long matches, also across 64 kB blocks), and 5 kB of noise (stored blocks).
 */
export function lz4FixtureData(): { text: Uint8Array; noise: Uint8Array } {
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const words = ['soma', 'axon', 'dendrite', '123456', 'synapse', '\n', ',', '0.25'];
  let passage = '';
  while (passage.length < 2000) passage += words[Math.floor(rnd() * words.length)];
  let s = '';
  for (let k = 0; s.length < 100_000; k++) s += passage + k;
  const noise = new Uint8Array(5000);
  for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(rnd() * 256);
  return { text: new TextEncoder().encode(s.slice(0, 100_000)), noise };
}
