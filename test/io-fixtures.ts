// Fixture makers for the reader tests. Parquet comes from DuckDB (an independent writer); Arrow
// IPC from apache-arrow's writer. Everything is written into a fresh temp dir per test file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

export function tempDir(prefix = 'ng-io-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs DuckDB statements in order (an in-memory database). */
export async function duckdb(...sql: string[]): Promise<void> {
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
  opts: { codec?: string; rowGroupSize?: number } = {},
): Promise<void> {
  const parts = ['FORMAT parquet', `COMPRESSION '${opts.codec ?? 'snappy'}'`];
  if (opts.rowGroupSize) parts.push(`ROW_GROUP_SIZE ${opts.rowGroupSize}`);
  await duckdb(`COPY (${select}) TO '${path.replace(/'/g, "''")}' (${parts.join(', ')})`);
}
