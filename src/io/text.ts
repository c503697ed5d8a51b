// CSV/TSV via papaparse in streaming mode. Cells are kept per column as UTF-8 bytes (cells.ts; no
// object or string per row) and typed column by column once the file has been read (infer.ts).
import { Transform } from 'node:stream';
import Papa from 'papaparse';
import { Field, Schema, Struct, Table, makeData, type Data } from 'apache-arrow';
import { InputError, abortError, describeCause } from './errors.js';
import { openInputStream } from './files.js';
import { CellColumn } from './cells.js';
import { typeTextColumn } from './infer.js';
import { rememberLines } from './rows.js';
import { recordBatch } from './arrowData.js';
import { delimiterHint, fromDecimalComma, type Delimiter } from './dialect.js';
import { MAX_CELL_CHARS, MAX_COLUMNS, MAX_LINE_CHARS, mib } from './limits.js';

export interface TextReadOptions {
  delimiter: Delimiter;
  /** Numbers are written with a decimal comma (`1,5`); relationship columns are left as they are. */
  decimalComma?: boolean;
  signal?: AbortSignal;
  columns?: string[];
  /** Columns parsed strictly as relationship cells (a malformed cell is an error naming it). */
  relationships?: string[];
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
  /** Stop after this many data rows (previews). */
  maxRows?: number;
}

export interface TextColumns {
  header: string[];
  cells: CellColumn[];
  /** File line (1-based) where each data row starts. */
  lines: Uint32Array;
  rows: number;
  /** True when the whole file was read (false when maxRows stopped it early). */
  complete: boolean;
}

/** Reads the raw cells of a delimited text file, checking the shape of every row. */
export async function readTextCells(path: string, opts: TextReadOptions): Promise<TextColumns> {
  const { size: total, stream: file } = await openInputStream(path, 1 << 20);
  if (total === 0) {
    file.destroy();
    throw new InputError('the file is empty (expected a header row)', { file: path });
  }
  file.setEncoding('utf8');
  // papaparse strips a BOM only from string input; in a stream it would make a quoted first
  // header field unquoted, so drop it before parsing.
  let first = true;
  let lineSoFar = 0; // characters since the last line break, for the line length limit
  let linesSeen = 1;
  const stream = file.pipe(
    new Transform({
      decodeStrings: false,
      encoding: 'utf8',
      transform(chunk: string, _enc, done) {
        if (first) {
          first = false;
          if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
        }
        const tooLong = lineLimit(chunk);
        if (tooLong) return done(tooLong);
        done(null, chunk);
      },
    }),
  );
  file.on('error', (e) => stream.destroy(e));
  // Refuses a line longer than MAX_LINE_CHARS before papaparse sees it. Breaks within one chunk are
  // closer together than the chunk (1 MB) is long, so only the runs at its ends need counting.
  function lineLimit(chunk: string): InputError | null {
    const firstBreak = breakIndex(chunk, false);
    if (firstBreak < 0) lineSoFar += chunk.length;
    else {
      lineSoFar += firstBreak;
      if (lineSoFar <= MAX_LINE_CHARS) {
        for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) linesSeen++;
        lineSoFar = chunk.length - 1 - breakIndex(chunk, true);
      }
    }
    if (lineSoFar <= MAX_LINE_CHARS) return null;
    return new InputError(
      `a line longer than ${mib(MAX_LINE_CHARS)} without a line break (is this a delimited text file?)`,
      { file: path, line: linesSeen },
    );
  }

  let header: string[] | null = null;
  let keep: number[] = []; // indexes of requested columns
  let cells: CellColumn[] = [];
  let comma: boolean[] | null = null; // per kept column: read numbers with a decimal comma
  let lines = new Uint32Array(1024);
  let rows = 0;
  let line = 1; // line where the next record starts
  let failure: unknown = null;
  let stoppedEarly = false;
  const maxRows = opts.maxRows ?? Infinity;

  let onAbort = () => {};
  await new Promise<void>((resolve, reject) => {
    onAbort = () => {
      failure = abortError(opts.signal);
      file.destroy();
      stream.destroy();
      reject(failure);
    };
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('error', (e) => reject(e instanceof InputError ? e : new InputError(`cannot read the file (${describeCause(e)})`, { file: path })));

    Papa.parse<string[]>(stream as unknown as File, {
      delimiter: opts.delimiter,
      quoteChar: '"',
      escapeChar: '"',
      header: false,
      dynamicTyping: false,
      skipEmptyLines: false,
      chunk(results, parser) {
        if (failure) return;
        try {
          const quoteErrors = new Map<number, string>();
          for (const err of results.errors) {
            if (err.code === 'MissingQuotes') quoteErrors.set(err.row ?? 0, 'a quoted field is not closed');
            else if (err.code === 'InvalidQuotes') quoteErrors.set(err.row ?? 0, 'a stray quote in a quoted field');
          }
          for (let j = 0; j < results.data.length; j++) {
            const record = results.data[j];
            const startLine = line;
            line += 1 + countNewlines(record);
            const quoteError = quoteErrors.get(j);
            if (quoteError) {
              throw new InputError(quoteError, { file: path, row: header ? rows + 1 : undefined, line: startLine });
            }
            if (record.length === 1 && record[0] === '') continue; // blank line
            if (header === null) {
              if (record.length > MAX_COLUMNS) {
                throw new InputError(`the header has ${record.length} fields, more than the limit of ${MAX_COLUMNS} columns (is this a matrix rather than a table?)`, {
                  file: path,
                  line: startLine,
                });
              }
              header = normaliseHeader(record, path);
              keep = selectColumns(header, opts.columns, path);
              cells = keep.map(() => new CellColumn());
              const rel = new Set(opts.relationships ?? []);
              comma = opts.decimalComma ? keep.map((k) => !rel.has(header![k]!)) : null;
              continue;
            }
            if (record.length !== header.length) {
              throw new InputError(
                `row has ${record.length} field${record.length === 1 ? '' : 's'} but the header has ${header.length}${delimiterHint(header.length < record.length ? header : record, opts.delimiter)}`,
                { file: path, row: rows + 1, line: startLine },
              );
            }
            if (rows === lines.length) {
              const grown = new Uint32Array(lines.length * 2);
              grown.set(lines);
              lines = grown;
            }
            lines[rows] = startLine;
            for (let k = 0; k < keep.length; k++) {
              const cell = record[keep[k]];
              if (cell.length > MAX_CELL_CHARS) {
                throw new InputError(`a cell of ${cell.length} characters, more than the limit of ${mib(MAX_CELL_CHARS)}`, {
                  file: path,
                  column: header[keep[k]],
                  row: rows + 1,
                  line: startLine,
                });
              }
              cells[k].push(comma?.[k] ? fromDecimalComma(cell) : cell);
            }
            rows++;
            if (rows >= maxRows) {
              stoppedEarly = true;
              parser.abort();
              return;
            }
          }
          opts.onProgress?.(file.bytesRead, total);
        } catch (e) {
          failure = e;
          parser.abort();
          reject(e);
        }
      },
      complete() {
        file.destroy();
        stream.destroy();
        if (!failure) resolve();
      },
      error(e) {
        if (!failure) reject(new InputError(`cannot parse the file (${describeCause(e)})`, { file: path }));
      },
    });
  }).finally(() => opts.signal?.removeEventListener('abort', onAbort));

  if (header === null) throw new InputError('the file has no header row', { file: path });
  const h: string[] = header;
  if (!stoppedEarly) opts.onProgress?.(total, total);
  return { header: keep.map((k) => h[k]), cells, lines: lines.subarray(0, rows), rows, complete: !stoppedEarly };
}

export async function readTextTable(path: string, opts: TextReadOptions): Promise<Table> {
  const t = await readTextCells(path, opts);
  const rel = new Set(opts.relationships ?? []);
  const data: Data[] = [];
  for (let k = 0; k < t.header.length; k++) {
    data.push(
      typeTextColumn(t.cells[k], {
        file: path,
        column: t.header[k],
        relationship: rel.has(t.header[k]),
        where: (i) => ({ row: i + 1, line: t.lines[i] }),
      }),
    );
    t.cells[k].release(); // free the raw text as soon as the column is typed
  }
  const fields = data.map((d, k) => new Field(t.header[k], d.type, true));
  const schema = new Schema(fields, new Map([['ng_annotations.source', 'text']]));
  const struct = makeData({ type: new Struct(fields), length: t.rows, nullCount: 0, children: data });
  const table = new Table(schema, [recordBatch(schema, struct)]);
  rememberLines(table, t.lines);
  return table;
}

/** Index of the first (or last) line break (LF or CR) in s, or -1. */
function breakIndex(s: string, last: boolean): number {
  const n = last ? s.lastIndexOf('\n') : s.indexOf('\n');
  const r = last ? s.lastIndexOf('\r') : s.indexOf('\r');
  if (n < 0) return r;
  if (r < 0) return n;
  return last ? Math.max(n, r) : Math.min(n, r);
}

function countNewlines(record: string[]): number {
  let n = 0;
  for (const cell of record) {
    if (cell.length > 0 && cell.includes('\n')) for (const ch of cell) if (ch === '\n') n++;
  }
  return n;
}

function normaliseHeader(record: string[], file: string): string[] {
  const names = record.map((s, i) => {
    let name = i === 0 ? s.replace(/^\uFEFF/, '') : s;
    name = name.trim();
    // pandas' to_csv writes the index with an empty name; read_csv calls it "Unnamed: 0".
    return name === '' ? `Unnamed: ${i}` : name;
  });
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    const prev = seen.get(name);
    if (prev !== undefined) {
      throw new InputError(`the header names column '${name}' twice (fields ${prev + 1} and ${i + 1})`, {
        file,
        line: 1,
      });
    }
    seen.set(name, i);
  });
  return names;
}

function selectColumns(header: string[], wanted: string[] | undefined, file: string): number[] {
  if (!wanted) return header.map((_, i) => i);
  return wanted.map((name) => {
    const i = header.indexOf(name);
    if (i < 0) throw new InputError('no such column', { file, column: name, expected: `one of ${header.join(', ')}` });
    return i;
  });
}
