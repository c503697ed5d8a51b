// Where a table row came from, for error messages written by the core: 1-based data row, and for
// text files the file line it starts on (it differs from row + 1 after blank lines or quoted
// newlines). Lines are kept only for tables whose lines do not follow from the row numbers.
import type { Table } from 'apache-arrow';

const lineTables = new WeakMap<Table, Uint32Array>();
const textTables = new WeakSet<Table>();

export function rememberLines(table: Table, lines: Uint32Array): void {
  textTables.add(table);
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== i + 2) {
      lineTables.set(table, lines);
      return;
    }
  }
}

/** Row (1-based) and, for a table read from a text file by readTable, the file line of row `index` (0-based). */
export function sourceRow(table: Table, index: number): { row: number; line?: number } {
  const row = index + 1;
  if (!textTables.has(table)) return { row };
  const lines = lineTables.get(table);
  return { row, line: lines ? lines[index] : index + 2 };
}
