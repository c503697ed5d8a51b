// Where a table row came from, for error messages written by the core: 1-based data row, and for
// text files the file line it starts on (it differs from row + 1 after blank lines or quoted
// newlines). Lines are kept only for tables whose lines do not follow from the row numbers.
import { DataType, type Table } from 'apache-arrow';

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

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?(?:nan|inf|infinity)$/i;

/**
 * For a text column the core expected to be numeric (e.g. a coordinate read as Utf8 because one
 * cell is not a number): the first such cell, with its row and (for text files) line, so the
 * error can point at it. Null when the column is missing, not text, or every cell is a number.
 */
export function firstNonNumericCell(
  table: Table,
  column: string,
): { row: number; line?: number; value: string } | null {
  const v = table.getChild(column);
  if (!v || !DataType.isUtf8(v.type)) return null;
  for (let i = 0; i < v.length; i++) {
    const s = v.get(i) as string | null;
    if (s === null) continue;
    if (!NUMBER.test(s.trim())) return { ...sourceRow(table, i), value: s };
  }
  return null;
}
