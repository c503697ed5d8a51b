// Explicit limits of the readers, so a wrong or hostile file (a matrix export, a log, a binary
// renamed .csv, a forged Parquet footer) is refused in seconds with one line naming the file, what
// was too large and the limit, instead of running for minutes or taking the process down. Each is
// far above what annotation tables need; docs/limits.md says why each value was chosen.

/** Columns in one table (CSV/TSV header fields, Parquet leaf columns, Arrow fields). */
export const MAX_COLUMNS = 100_000;

/**
 * Characters of a CSV/TSV file without a line break. papaparse re-parses an unfinished line with
 * every 1 MB chunk that arrives, so the work for one line grows with the square of its length.
 */
export const MAX_LINE_CHARS = 16 * 2 ** 20;

/** Characters in one CSV/TSV cell (also one quoted over several lines). */
export const MAX_CELL_CHARS = 16 * 2 ** 20;

/** Bytes one Parquet page may declare once decompressed (pages are ~1 MB in practice). */
export const MAX_PAGE_BYTES = 64 * 2 ** 20;

/** Rows one Parquet row group may declare. */
export const MAX_GROUP_ROWS = 2 ** 31 - 1;

export function mib(n: number): string {
  return n % 2 ** 20 === 0 ? `${n / 2 ** 20} MiB` : `${n} bytes`;
}
