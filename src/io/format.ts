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

function sniffTextDelimiter(path: string): 'csv' | 'tsv' {
  const sample = fileSample(path);
  return sample && looksTabSeparated(sample.text) ? 'tsv' : 'csv';
}

/** How much of the start of a text file its delimiter is judged from. */
export const SAMPLE_BYTES = 64 * 1024;

/** The first SAMPLE_BYTES of a local file, or null when it cannot be read (the reader reports that). */
export function fileSample(path: string): { text: string; complete: boolean } | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const buf = Buffer.alloc(SAMPLE_BYTES);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return { text: buf.subarray(0, n).toString('utf8'), complete: n < buf.length };
  } catch {
    return null; // e.g. a folder
  } finally {
    closeSync(fd);
  }
}

/** A text sample (the start of a file) whose first line has tabs and no commas. */
export function looksTabSeparated(sample: string): boolean {
  const nl = sample.search(/\r?\n/);
  const firstLine = nl < 0 ? sample : sample.slice(0, nl);
  return firstLine.includes('\t') && !firstLine.includes(',');
}
