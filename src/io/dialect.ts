// CSV dialects: which of `, ; \t |` separates the fields (sniffed from the header and the first
// rows unless given), and numbers written with a decimal comma (`1,5`), the default of spreadsheet
// software in much of Europe (there with `;` between fields).
import { closeSync, openSync, readSync } from 'node:fs';
import { InputError } from './errors.js';
import { refineTextFormat } from './format.js';
import { openInput } from './files.js';

export type Delimiter = ',' | ';' | '\t' | '|';
export const DELIMITERS: readonly Delimiter[] = [',', ';', '\t', '|'];

/** `","`, `";"`, `tab`, `"|"`: how messages show a delimiter. */
export function showDelimiter(d: string): string {
  return d === '\t' ? 'tab' : JSON.stringify(d);
}

/** Occurrences of `d` outside double quotes in one line. */
function countOutsideQuotes(line: string, d: string): number {
  let n = 0;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"') quoted = !quoted;
    else if (ch === d && !quoted) n++;
  }
  return n;
}

/**
 * The delimiter of a text sample (the start of a file): the candidate that splits the header into
 * the most fields and every following line into as many; else the one that splits the header most;
 * else `fallback`. `complete` says the sample is the whole file (else its last line may be cut).
 */
export function sniffDelimiter(sample: string, fallback: Delimiter, complete = false): Delimiter {
  let lines = sample.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (!complete && lines.length > 1) lines.pop();
  lines = lines.filter((l) => l.trim() !== '').slice(0, 20);
  if (lines.length === 0) return fallback;
  let best: Delimiter | null = null;
  let bestCount = 0;
  let widest: Delimiter | null = null;
  let widestCount = 0;
  for (const d of DELIMITERS) {
    const head = countOutsideQuotes(lines[0]!, d);
    if (head === 0) continue;
    if (head > widestCount) {
      widest = d;
      widestCount = head;
    }
    if (lines.slice(1).every((l) => countOutsideQuotes(l, d) === head) && head > bestCount) {
      best = d;
      bestCount = head;
    }
  }
  return best ?? widest ?? fallback;
}

/** Sniffs the delimiter from the first 64 kB of a file. */
export function sniffFileDelimiter(path: string, fallback: Delimiter): Delimiter {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return fallback; // the reader reports the missing file
  }
  try {
    const buf = Buffer.alloc(64 * 1024);
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, 0);
    } catch {
      return fallback;
    }
    return sniffDelimiter(buf.subarray(0, n).toString('utf8'), fallback, n < buf.length);
  } finally {
    closeSync(fd);
  }
}

const DECIMAL_COMMA = /^\s*[-+]?\d*,\d+(?:[eE][-+]?\d+)?\s*$|^\s*[-+]?\d+,(?:[eE][-+]?\d+)?\s*$/;

/** `1,5` → `1.5` (a cell that is a number with a decimal comma); anything else unchanged. */
export function fromDecimalComma(cell: string): string {
  return cell.includes(',') && DECIMAL_COMMA.test(cell) ? cell.replace(',', '.') : cell;
}

/**
 * A hint when a row's single field holds another delimiter's separated values (`a;b;c` read as
 * one comma-separated field): `(the fields look ";"-separated: try --delimiter ";")`, else ''.
 */
export function delimiterHint(fields: readonly string[], used: string): string {
  if (fields.length > 2) return '';
  for (const d of DELIMITERS) {
    if (d === used) continue;
    if (fields.some((f) => countOutsideQuotes(f, d) >= 1)) {
      return ` (the file was read as ${showDelimiter(used)}-separated, but its fields look ${showDelimiter(d)}-separated: give the delimiter, e.g. --delimiter ${d === '\t' ? 'tab' : `'${d}'`})`;
    }
  }
  return '';
}

/** The delimiter a text file is read with: the given one, else tab for .tsv, else sniffed. */
export function textDelimiter(path: string, format: 'csv' | 'tsv', given?: string): Delimiter {
  if (given !== undefined) {
    if (!(DELIMITERS as readonly string[]).includes(given)) throw new InputError(`unsupported delimiter ${JSON.stringify(given)}`, { file: path, expected: 'one of , ; tab |' });
    return given as Delimiter;
  }
  if (refineTextFormat(path, format) === 'tsv') return '\t';
  return sniffFileDelimiter(path, ',');
}

/**
 * textDelimiter for any input, a URL too: a remote file's first 64 KiB are fetched (one ranged
 * request) and judged as a local file's are.
 */
export async function inputDelimiter(path: string, format: 'csv' | 'tsv', given?: string): Promise<Delimiter> {
  if (given !== undefined || format === 'tsv') return textDelimiter(path, format, given);
  const { size, handle } = await openInput(path);
  let sample: string;
  try {
    const buf = Buffer.alloc(Math.min(size, 64 * 1024));
    await handle.read(buf, 0, buf.length, 0);
    sample = buf.toString('utf8');
  } finally {
    await handle.close();
  }
  const nl = sample.search(/\r?\n/);
  const firstLine = nl < 0 ? sample : sample.slice(0, nl);
  if (firstLine.includes('\t') && !firstLine.includes(',')) return '\t';
  return sniffDelimiter(sample, ',', size < 64 * 1024);
}
