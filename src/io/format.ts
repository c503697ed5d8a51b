// Input format from the file name. `.txt` is sniffed (tab in the first line → TSV) because
// both conventions are common for that extension.
import { closeSync, openSync, readSync } from 'node:fs';
import { extname } from 'node:path';
import { InputError } from './errors.js';

export type InputFormat = 'csv' | 'tsv' | 'parquet' | 'arrow';

const BY_EXTENSION: Record<string, InputFormat> = {
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.tab': 'tsv',
  '.parquet': 'parquet',
  '.pq': 'parquet',
  '.parq': 'parquet',
  '.arrow': 'arrow',
  '.feather': 'arrow',
  '.ipc': 'arrow',
  '.arrows': 'arrow',
};

export const SUPPORTED_EXTENSIONS: readonly string[] = [...Object.keys(BY_EXTENSION), '.txt'];

export function detectFormat(path: string): InputFormat {
  const ext = extname(path).toLowerCase();
  const known = BY_EXTENSION[ext];
  if (known) return known;
  if (ext === '.txt') return sniffTextDelimiter(path);
  throw new InputError(`unknown input format '${ext || '(no extension)'}'`, {
    file: path,
    expected: `one of ${SUPPORTED_EXTENSIONS.join(' ')}; rename the file to match its format`,
  });
}

/**
 * For `.csv` files: a first line with tabs and no commas is tab-separated (a common mislabelling).
 * Anything else keeps the extension's answer.
 */
export function refineTextFormat(path: string, format: 'csv' | 'tsv'): 'csv' | 'tsv' {
  if (format !== 'csv') return format;
  return sniffTextDelimiter(path);
}

function sniffTextDelimiter(path: string): 'csv' | 'tsv' {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return 'csv'; // the reader reports the missing file
  }
  try {
    const buf = Buffer.alloc(64 * 1024);
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, 0);
    } catch {
      return 'csv'; // e.g. a folder: the reader names the problem
    }
    const text = buf.subarray(0, n).toString('utf8');
    const nl = text.search(/\r?\n/);
    const firstLine = nl < 0 ? text : text.slice(0, nl);
    return firstLine.includes('\t') && !firstLine.includes(',') ? 'tsv' : 'csv';
  } finally {
    closeSync(fd);
  }
}
