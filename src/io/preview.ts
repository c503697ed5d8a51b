// First rows of a file as display strings for the VS Code form, reading as little as possible:
// text files stop after `rows` rows, Parquet reads only the first row group's pages it needs,
// Arrow reads only the first record batches.
import type { Table, Vector } from 'apache-arrow';
import { Schema, Table as ArrowTable } from 'apache-arrow';
import { isRemote } from './remote.js';
import { detectFormat, type InputFormat } from './format.js';
import { typeTextColumn } from './infer.js';
import { readIpcBatches, readIpcTable } from './ipc.js';
import { openParquet, readRowGroup } from './parquet.js';
import { readTextCells } from './text.js';
import { textDelimiter } from './dialect.js';

export interface TablePreview {
  columns: { name: string; type: string }[];
  rows: string[][];
  /** Known without reading the whole file (Parquet footer); undefined otherwise. */
  totalRows?: number;
}

/**
 * `decode`: for Parquet, the columns whose cells to decode (the others' cells stay empty); all of
 * them by default, and for a URL only a column named `id` (what the command line's id guess looks
 * at), rather than fetch the first row group of every column.
 */
export async function previewTable(
  path: string,
  rows: number,
  format?: InputFormat,
  text: { delimiter?: string; decimalComma?: boolean } = {},
  decode?: (names: string[]) => string[],
): Promise<TablePreview> {
  const fmt = format ?? detectFormat(path);
  const limit = Math.max(0, Math.floor(rows));
  if (fmt === 'csv' || fmt === 'tsv') {
    const delimiter = textDelimiter(path, fmt, text.delimiter);
    const t = await readTextCells(path, { delimiter, decimalComma: text.decimalComma, maxRows: Math.max(limit, 1) });
    const n = Math.min(limit, t.rows);
    const out: string[][] = [];
    for (let i = 0; i < n; i++) out.push(t.cells.map((c) => c.get(i)));
    // Typed after the rows are copied out: typing a text column hands its buffer to Arrow.
    // Typed from the preview rows only: the full read may widen a type. A malformed relationship
    // cell is left for the full read to report; the preview shows the column as text.
    const columns = t.header.map((name, k) => {
      let type = 'Utf8';
      try {
        type = typeTextColumn(t.cells[k], { file: path, column: name, where: (i) => ({ row: i + 1, line: t.lines[i] }) }).type.toString();
      } catch {
        // keep 'Utf8'
      }
      return { name, type };
    });
    return { columns, rows: out, totalRows: t.complete ? t.rows : undefined };
  }
  if (fmt === 'parquet') {
    const pq = await openParquet(path);
    try {
      const total = Number(pq.metadata.num_rows);
      const pick = decode ?? (isRemote(path) ? (all: string[]) => all.filter((n) => n.toLowerCase() === 'id') : undefined);
      if (pick) {
        const names = pick(pq.names);
        const view = { ...pq, names, schema: new Schema(pq.schema.fields.filter((f) => names.includes(f.name)), pq.schema.metadata) };
        const got = describe(new ArrowTable([await readRowGroup(view, 0, Math.min(limit, total), path)]), limit);
        const rows = got.rows.map((r) => pq.names.map((n) => (names.includes(n) ? r[names.indexOf(n)] : '')));
        return { columns: columnsOf(pq.schema.fields), rows, totalRows: total };
      }
      const batch = await readRowGroup(pq, 0, Math.min(limit, total), path);
      return { ...describe(new ArrowTable([batch]), limit), columns: columnsOf(pq.schema.fields), totalRows: total };
    } finally {
      await pq.handle.close();
    }
  }
  const batches = [];
  let got = 0;
  let exhausted = true;
  for await (const b of readIpcBatches(path)) {
    if (got >= limit) {
      exhausted = false;
      break;
    }
    batches.push(b);
    got += b.numRows;
  }
  if (batches.length === 0) {
    const empty = await readIpcTable(path); // keeps the schema of a file without batches
    return { columns: columnsOf(empty.schema.fields), rows: [], totalRows: 0 };
  }
  const table = new ArrowTable(batches);
  return { ...describe(table, limit), totalRows: exhausted ? table.numRows : undefined };
}

function columnsOf(fields: { name: string; type: { toString(): string } }[]) {
  return fields.map((f) => ({ name: f.name, type: f.type.toString() }));
}

function describe(table: Table, limit: number): TablePreview {
  const n = Math.min(limit, table.numRows);
  const cols: Vector[] = table.schema.fields.map((_, k) => table.getChildAt(k)!);
  const rows: string[][] = [];
  for (let i = 0; i < n; i++) rows.push(cols.map((c) => displayCell(c.get(i))));
  return { columns: columnsOf(table.schema.fields), rows };
}

export function displayCell(v: unknown): string {
  if (v == null) return '';
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && Symbol.iterator in v) {
    return `[${Array.from(v as Iterable<unknown>, displayCell).join(', ')}]`;
  }
  return String(v);
}
