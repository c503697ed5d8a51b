// CSV dialects: which of `, ; \t |` separates the fields (sniffed from the header and the first
// rows unless given), and numbers written with a decimal comma (`1,5`), the default of spreadsheet
// software in much of Europe (there with `;` between fields).
import { InputError } from './errors.js';
import { SAMPLE_BYTES, fileSample, looksTabSeparated } from './format.js';
import { openInput } from './files.js';
import { isRemote } from './remote.js';

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

/**
 * The delimiter of a CSV file from its first SAMPLE_BYTES (`complete`: that is the whole file): tab
 * when the first line has tabs and no commas (a mislabelled TSV), else sniffed, `,` by default.
 */
function sampleDelimiter(sample: string, complete: boolean): Delimiter {
  return looksTabSeparated(sample) ? '\t' : sniffDelimiter(sample, ',', complete);
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

/** The delimiter a local text file is read with: the given one, else tab for .tsv, else sniffed. */
export function textDelimiter(path: string, format: 'csv' | 'tsv', given?: string): Delimiter {
  if (given !== undefined) {
    if (!(DELIMITERS as readonly string[]).includes(given)) throw new InputError(`unsupported delimiter ${JSON.stringify(given)}`, { file: path, expected: 'one of , ; tab |' });
    return given as Delimiter;
  }
  if (format === 'tsv') return '\t';
  const sample = fileSample(path);
  return sample ? sampleDelimiter(sample.text, sample.complete) : ',';
}

/**
 * textDelimiter for any input, a URL too: a remote file's first SAMPLE_BYTES are fetched (one ranged
 * request) and judged as a local file's are.
 */
export async function inputDelimiter(path: string, format: 'csv' | 'tsv', given?: string): Promise<Delimiter> {
  if (given !== undefined || format === 'tsv' || !isRemote(path)) return textDelimiter(path, format, given);
  const { size, handle } = await openInput(path);
  try {
    const buf = Buffer.alloc(Math.min(size, SAMPLE_BYTES));
    await handle.read(buf, 0, buf.length, 0);
    return sampleDelimiter(buf.toString('utf8'), size < SAMPLE_BYTES);
  } finally {
    await handle.close();
  }
}
