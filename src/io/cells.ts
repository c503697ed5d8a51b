// Raw text cells of one column, stored the way Arrow stores Utf8 (one byte buffer + offsets)
// instead of one JS string per cell: for a 1M-row CSV this is several times smaller, and a
// column that stays text becomes an Arrow column without re-encoding.
import { Utf8, makeData, type Data } from 'apache-arrow';
import { validityBitmap } from './arrowData.js';

/** Read access to the cells of a column; `get` returns '' for an empty cell. */
export interface Cells {
  readonly length: number;
  get(i: number): string;
}

export function cellsOf(values: ArrayLike<string | null | undefined>): Cells {
  return { length: values.length, get: (i) => values[i] ?? '' };
}

export class CellColumn implements Cells {
  // Small to start (they double as cells arrive): a CSV with 100k columns would otherwise reserve
  // 80 kB per column, 8 GB before the first row.
  private bytes = Buffer.allocUnsafe(256);
  private offsets = new Int32Array(64);
  private used = 0;
  private ascii = true;
  length = 0;

  push(s: string): void {
    const need = this.used + s.length * 3; // worst case for UTF-16 → UTF-8
    if (need > this.bytes.length) this.growBytes(need);
    if (this.length + 2 > this.offsets.length) {
      const grown = new Int32Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    const start = this.used;
    let end = start;
    if (this.ascii) {
      // A plain loop beats Buffer#write for the short strings cells usually are.
      const bytes = this.bytes;
      for (let j = 0; j < s.length; j++) {
        const c = s.charCodeAt(j);
        if (c > 0x7f) {
          this.ascii = false; // earlier cells are ASCII, hence valid UTF-8 too
          break;
        }
        bytes[end++] = c;
      }
    }
    if (!this.ascii) end = start + this.bytes.write(s, start, 'utf8');
    this.used = end;
    this.offsets[++this.length] = this.used;
  }

  get(i: number): string {
    const start = this.offsets[i];
    const end = this.offsets[i + 1];
    if (start === end) return '';
    return this.bytes.toString(this.ascii ? 'latin1' : 'utf8', start, end);
  }

  /** The column as Arrow Utf8, empty cells as nulls. Releases this builder's buffers. */
  toUtf8(): Data<Utf8> {
    const n = this.length;
    const offsets = this.offsets.slice(0, n + 1);
    const data = new Uint8Array(this.bytes.buffer, this.bytes.byteOffset, this.used).slice();
    this.release();
    const { bitmap, nullCount } = validityBitmap(n, (i) => offsets[i + 1] !== offsets[i]);
    return makeData({ type: new Utf8(), length: n, nullCount, nullBitmap: bitmap, valueOffsets: offsets, data });
  }

  release(): void {
    this.bytes = Buffer.alloc(0);
    this.offsets = new Int32Array(1);
    this.used = 0;
  }

  private growBytes(need: number): void {
    let size = this.bytes.length * 2;
    while (size < need) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.bytes.copy(grown, 0, 0, this.used);
    this.bytes = grown;
  }
}
