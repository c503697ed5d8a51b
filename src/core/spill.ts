// Temporary files for exports larger than memory: entries are appended to numbered buckets through
// one fixed-size buffer per bucket (or whole runs at once), and read back one bucket at a time, here
// or by a worker thread given the bucket's file. Plain synchronous file calls: the writes land in the
// page cache, and the buffers keep the calls few.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExportError } from './errors';

const BUFFER_BYTES = 1 << 18;

/** A bucket's file, and the bytes written to it. */
export interface SpillFile {
  file: string;
  bytes: number;
}

/** The whole content of a bucket's file (after its buckets' `finish`), into `alloc(bytes)` if given. */
export function readSpillFile(f: SpillFile, alloc: (n: number) => Uint8Array = (n) => new Uint8Array(n)): Uint8Array {
  if (f.bytes === 0) return new Uint8Array(0);
  const out = alloc(f.bytes);
  const fd = fs.openSync(f.file, 'r');
  try {
    let done = 0;
    while (done < out.length) {
      const got = fs.readSync(fd, out, done, out.length - done, done);
      if (got === 0) throw new ExportError(`Temporary file ${f.file} is shorter than written (was it removed?)`);
      done += got;
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

export class SpillBuckets {
  private readonly fds: number[];
  private readonly buffers: Array<Uint8Array | null>;
  private readonly views: Array<Uint32Array | null>;
  private readonly fill: Uint32Array;
  /** Bytes appended to each bucket. */
  readonly sizes: Float64Array;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly name: string,
    readonly count: number,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    this.fds = new Array<number>(count).fill(-1);
    this.buffers = new Array<Uint8Array | null>(count).fill(null);
    this.views = new Array<Uint32Array | null>(count).fill(null);
    this.fill = new Uint32Array(count);
    this.sizes = new Float64Array(count);
  }

  private file(b: number): string {
    return path.join(this.dir, `${this.name}.${b}`);
  }

  /**
   * Room for `bytes` more bytes (a multiple of 4) in bucket `b`'s buffer: returns the byte offset to
   * write at, in `words(b)`. The caller fills those bytes before the next call.
   */
  reserve(b: number, bytes: number): number {
    let buf = this.buffers[b];
    if (buf === null || this.fill[b] + bytes > buf.length) {
      if (buf !== null) this.flush(b);
      if (buf === null || bytes > buf.length) {
        buf = new Uint8Array(Math.max(BUFFER_BYTES, bytes + 3) & ~3);
        this.buffers[b] = buf;
        this.views[b] = new Uint32Array(buf.buffer);
      }
    }
    const at = this.fill[b];
    this.fill[b] = at + bytes;
    this.sizes[b] += bytes;
    return at;
  }

  words(b: number): Uint32Array {
    return this.views[b]!;
  }

  /** Appends `data` to bucket `b` at once, after what its buffer holds. */
  append(b: number, data: Uint8Array): void {
    if (data.length === 0) return;
    this.flush(b);
    this.writeOut(b, data, data.length);
    this.sizes[b] += data.length;
  }

  private flush(b: number): void {
    const buf = this.buffers[b];
    const n = this.fill[b];
    if (buf === null || n === 0) return;
    this.writeOut(b, buf, n);
    this.fill[b] = 0;
  }

  private writeOut(b: number, data: Uint8Array, n: number): void {
    try {
      if (this.fds[b] < 0) this.fds[b] = fs.openSync(this.file(b), 'a');
      let done = 0;
      while (done < n) done += fs.writeSync(this.fds[b], data, done, n - done);
    } catch (e) {
      throw new ExportError(`Cannot write temporary data in ${this.dir}: ${(e as Error).message} (exports larger than memory need free disk space about twice the size of the output)`);
    }
  }

  /** Writes out every buffer and closes the files; the buckets can then be read. */
  finish(): void {
    if (this.closed) return;
    for (let b = 0; b < this.count; b++) this.flush(b);
    this.buffers.fill(null);
    this.views.fill(null);
    this.closeFiles();
    this.closed = true;
  }

  private closeFiles(): void {
    for (let b = 0; b < this.count; b++) {
      if (this.fds[b] >= 0) fs.closeSync(this.fds[b]);
      this.fds[b] = -1;
    }
  }

  /** Bucket `b`'s file (to read after `finish`). */
  spillFile(b: number): SpillFile {
    return { file: this.file(b), bytes: this.sizes[b] };
  }

  /** Deletes bucket `b`'s file. */
  remove(b: number): void {
    if (this.sizes[b] > 0) fs.rmSync(this.file(b), { force: true });
  }

  /** Closes and deletes every file (also after a failure). */
  dispose(): void {
    this.closeFiles();
    this.buffers.fill(null);
    this.views.fill(null);
    for (let b = 0; b < this.count; b++) this.remove(b);
    this.closed = true;
  }
}
