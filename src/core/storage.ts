// Where the dataset goes. The writer sees a tiny interface; the local implementation writes into a
// hidden temporary sibling folder and renames it into place only when everything (info last) is
// written, so a failed or cancelled export never leaves a dataset that looks complete.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { ExportError } from './errors';

export interface Storage {
  /**
   * Writes a file at a '/'-separated path relative to the dataset root (folders are created). The
   * data may come as parts to write back to back (a shard file: views into its encoded values).
   */
  write(relPath: string, data: FileData): Promise<void>;
  /** Makes the dataset visible at its final place. */
  commit(): Promise<void>;
  /** Removes everything written so far. Safe to call more than once. */
  abort(): Promise<void>;
  bytesWritten: number;
  filesWritten: number;
}

/** A file's contents: text, bytes, or bytes in parts. */
export type FileData = Uint8Array | string | readonly Uint8Array[];

/** The number of bytes `data` makes. */
export function byteLengthOf(data: FileData): number {
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (data instanceof Uint8Array) return data.byteLength;
  let n = 0;
  for (const p of data) n += p.byteLength;
  return n;
}

/** Writes parts back to back into a new file (writev, no copy into one buffer). */
async function writeParts(file: string, parts: readonly Uint8Array[]): Promise<void> {
  const handle = await fsp.open(file, 'w');
  try {
    // At most 1024 buffers a call (IOV_MAX); a short write resumes where it stopped.
    const rest = parts.slice();
    let i = 0;
    while (i < rest.length) {
      let { bytesWritten } = await handle.writev(rest.slice(i, i + 1024));
      while (i < rest.length && bytesWritten >= rest[i].byteLength) bytesWritten -= rest[i++].byteLength;
      if (bytesWritten > 0) rest[i] = rest[i].subarray(bytesWritten);
    }
  } finally {
    await handle.close();
  }
}

const TMP_MARK = '.ng-annotations-tmp-';
const OLD_MARK = '.ng-annotations-old-';

/** Is `dir` an annotation dataset we may replace (its info says neuroglancer_annotations_v1)? */
function looksLikeDataset(dir: string): boolean {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'info'), 'utf8'));
    return info?.['@type'] === 'neuroglancer_annotations_v1';
  } catch {
    return false;
  }
}

/** Does process `pid` exist (also when it is another user's)? */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * When process `pid` started, in clock ticks since boot (field 22 of /proc/<pid>/stat), or
 * undefined where there is no /proc (not Linux) or it cannot be read. A pid is reused by a later
 * process; pid plus start time is not, so names carry both.
 */
function processStart(pid: number | 'self'): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so count from the last ')'.
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return start && /^\d+$/.test(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

const OWN_START = processStart('self');
/** This process in sibling names: `<pid>-s<start time>`, or `<pid>` where the start time is unknown. */
const OWNER = OWN_START === undefined ? `${process.pid}` : `${process.pid}-s${OWN_START}`;

/**
 * Is the process that named a sibling `<pid>[-s<start>]-…` gone? A live pid counts as the same
 * process unless both start times are known and differ (the pid was reused after a kill).
 */
function ownerGone(rest: string): boolean {
  const [pidText, second] = rest.split('-');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const start = second?.startsWith('s') && /^s\d+$/.test(second) ? second.slice(1) : undefined;
  if (pid === process.pid) return start !== undefined && OWN_START !== undefined && start !== OWN_START;
  if (!isProcessAlive(pid)) return true;
  if (start === undefined) return false;
  const now = processStart(pid);
  return now !== undefined && now !== start;
}

/**
 * A run killed between moving the previous dataset aside and renaming the new one into place leaves
 * no target and an `-old-` folder of a dead process: put that dataset back before anything else, so
 * the stale sweep below never deletes the user's only copy.
 */
async function restoreInterruptedReplacement(target: string): Promise<void> {
  if (fs.existsSync(target)) return;
  const parent = path.dirname(target);
  for (const name of await deadProcessSiblings(parent, `.${path.basename(target)}${OLD_MARK}`)) {
    if (!looksLikeDataset(path.join(parent, name))) continue;
    await fsp.rename(path.join(parent, name), target).catch(() => undefined);
    return;
  }
}

/** Names in `parent` starting with `prefix` + the pid (and start time) of a process that is gone. */
async function deadProcessSiblings(parent: string, prefix: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(parent);
  } catch {
    return [];
  }
  return names.filter((name) => name.startsWith(prefix) && ownerGone(name.slice(prefix.length)));
}

/** Removes temporary folders left by earlier runs for the same target whose process is gone. */
async function removeStaleTemporaries(parent: string, base: string): Promise<void> {
  for (const mark of [TMP_MARK, OLD_MARK]) {
    for (const name of await deadProcessSiblings(parent, `.${base}${mark}`)) {
      await fsp.rm(path.join(parent, name), { recursive: true, force: true });
    }
  }
}

/**
 * Removes the temporary folders for `outputDir` that one worker thread of this process left behind
 * (the thread was terminated mid-export, so it could not clean up and its pid is still alive).
 */
export async function removeThreadTemporaries(outputDir: string, thread: number): Promise<void> {
  const abs = path.resolve(outputDir);
  const prefix = `.${path.basename(abs)}${TMP_MARK}${OWNER}-t${thread}-`;
  let names: string[];
  try {
    names = await fsp.readdir(path.dirname(abs));
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith(prefix)) await fsp.rm(path.join(path.dirname(abs), name), { recursive: true, force: true });
  }
}

/** A write failure as one clear line: which file, in which folder, and why (disk full, read-only, gone). */
function writeError(what: string, folder: string, e: unknown): ExportError {
  const err = e as NodeJS.ErrnoException;
  const why =
    err.code === 'ENOSPC' ? 'the disk is full' :
    err.code === 'EDQUOT' ? 'the disk quota is exceeded' :
    err.code === 'EROFS' ? 'the file system is read-only' :
    err.code === 'ENOENT' ? 'the temporary output folder was removed while writing' :
    err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied' :
    err.message;
  return new ExportError(`Cannot write ${what} in ${folder}: ${why} (${err.code ?? err.message}); nothing was written to the output folder`);
}

/** Checks the target before any work: refuses non-empty folders (unless overwrite and a dataset), files. */
export function checkOutputDir(outputDir: string, overwrite: boolean): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(outputDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ExportError(`Cannot use output folder ${outputDir}: ${(e as Error).message}`);
  }
  if (!st.isDirectory()) throw new ExportError(`Output path ${outputDir} exists and is not a folder`);
  const entries = fs.readdirSync(outputDir);
  if (entries.length === 0) return;
  if (!overwrite) {
    throw new ExportError(`Output folder ${outputDir} already exists and is not empty; choose another folder or pass overwrite (--overwrite) to replace it`);
  }
  if (!looksLikeDataset(outputDir)) {
    throw new ExportError(
      `Output folder ${outputDir} is not empty and is not an annotation dataset (no neuroglancer_annotations_v1 info file); refusing to replace it even with overwrite`,
    );
  }
}

export interface LocalStorageOptions {
  overwrite: boolean;
  /** Bounded number of file writes in flight. */
  concurrency?: number;
}

export class LocalDirectoryStorage implements Storage {
  bytesWritten = 0;
  filesWritten = 0;
  readonly tempDir: string;
  private readonly madeDirs = new Set<string>();
  private done = false;

  private constructor(
    readonly outputDir: string,
    private readonly options: LocalStorageOptions,
  ) {
    const parent = path.dirname(outputDir);
    const base = path.basename(outputDir);
    // The process first (pid and start time, for the stale check), then the thread: a terminated
    // worker's leftovers are found by its host.
    this.tempDir = path.join(parent, `.${base}${TMP_MARK}${OWNER}-t${threadId}-${randomBytes(4).toString('hex')}`);
  }

  static async create(outputDir: string, options: LocalStorageOptions): Promise<LocalDirectoryStorage> {
    const abs = path.resolve(outputDir);
    await restoreInterruptedReplacement(abs);
    checkOutputDir(abs, options.overwrite);
    const parent = path.dirname(abs);
    try {
      await fsp.mkdir(parent, { recursive: true });
    } catch (e) {
      throw new ExportError(`Cannot create the folder ${parent}: ${(e as Error).message}`);
    }
    await removeStaleTemporaries(parent, path.basename(abs));
    const s = new LocalDirectoryStorage(abs, options);
    try {
      await fsp.mkdir(s.tempDir);
    } catch (e) {
      throw new ExportError(`Cannot write in ${parent}: ${(e as Error).message}`);
    }
    s.madeDirs.add(s.tempDir);
    return s;
  }

  async write(relPath: string, data: FileData): Promise<void> {
    if (this.done) throw new Error('storage already committed or aborted');
    const parts = relPath.split('/');
    const full = path.join(this.tempDir, ...parts);
    try {
      // Folders one level at a time below the temporary folder, never `recursive`: if someone removed
      // the temporary folder, recreating it would let a partial dataset be renamed into place.
      let dir = this.tempDir;
      for (const part of parts.slice(0, -1)) {
        dir = path.join(dir, part);
        if (this.madeDirs.has(dir)) continue;
        await fsp.mkdir(dir).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'EEXIST') throw e;
        });
        this.madeDirs.add(dir);
      }
      if (typeof data === 'string' || data instanceof Uint8Array) await fsp.writeFile(full, data);
      else await writeParts(full, data);
    } catch (e) {
      throw writeError(relPath, this.tempDir, e);
    }
    this.bytesWritten += byteLengthOf(data);
    this.filesWritten++;
  }

  async commit(): Promise<void> {
    const target = this.outputDir;
    // Re-check: the folder may have appeared while we were writing.
    checkOutputDir(target, this.options.overwrite);
    let old: string | null = null;
    if (fs.existsSync(target)) {
      if (fs.readdirSync(target).length === 0) {
        await fsp.rmdir(target);
      } else {
        old = path.join(path.dirname(target), `.${path.basename(target)}${OLD_MARK}${OWNER}-${randomBytes(4).toString('hex')}`);
        await fsp.rename(target, old);
      }
    }
    try {
      await fsp.rename(this.tempDir, target);
    } catch (e) {
      if (old) await fsp.rename(old, target).catch(() => undefined);
      throw writeError('the finished dataset', target, e);
    }
    this.done = true;
    if (old) await fsp.rm(old, { recursive: true, force: true });
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await fsp.rm(this.tempDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * Jobs started one after another, at most `limit` unfinished: `add` waits for the oldest when full.
 * Each job is observed at once, so one failing while an earlier one is awaited is not an unhandled
 * rejection. `finish` waits for all; after a failure it still lets the others settle before
 * rethrowing, so nothing is written into a folder the caller is about to remove.
 */
export class JobsInFlight {
  private readonly jobs: Array<Promise<void>> = [];
  constructor(private readonly limit: number) {}

  async add(job: Promise<void>): Promise<void> {
    job.catch(() => undefined);
    this.jobs.push(job);
    if (this.jobs.length >= this.limit) await this.jobs.shift();
  }

  async finish(): Promise<void> {
    try {
      for (const job of this.jobs) await job;
    } finally {
      await Promise.allSettled(this.jobs);
    }
  }
}

/**
 * The results of `start(0)` … `start(count - 1)`, in that order, with up to `ahead` started and not yet
 * taken, so the next ones run while the caller works on this one. Each is observed as soon as it
 * starts: a failure surfaces when its turn comes, and those still running when the caller stops are
 * left to settle.
 */
export async function* inOrderAhead<T>(count: number, ahead: number, start: (i: number) => Promise<T>): AsyncGenerator<T> {
  const started: Array<Promise<T>> = [];
  let next = 0;
  while (next < count || started.length > 0) {
    while (next < count && started.length < ahead) {
      const p = start(next++);
      p.catch(() => undefined);
      started.push(p);
    }
    yield await started.shift()!;
  }
}

/** Runs `tasks` with at most `limit` in flight, stopping at the first failure. */
export async function runLimited(limit: number, count: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown = null;
  const worker = async () => {
    while (failed === null && next < count) {
      const i = next++;
      try {
        await task(i);
      } catch (e) {
        if (failed === null) failed = e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  if (failed !== null) throw failed;
}
