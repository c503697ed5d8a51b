// Shared pieces of the reliability tests (test/reliability-*.test.ts): seeded inputs written to real
// files, tree snapshots, temporary-sibling listings, and tmpfs mounts for disk-full / read-only runs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Field, List, Table, Uint64, makeVector, tableToIPC, vectorFromArray } from 'apache-arrow';
export { rng, readTree } from './common';
import { rng, readTree } from './common';



/** Same file names and byte-identical contents. */
export function assertSameTree(a: Map<string, Buffer>, b: Map<string, Buffer>, what: string): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), `${what}: file lists`);
  for (const [name, bytes] of a) assert.ok(bytes.equals(b.get(name)!), `${what}: ${name} differs`);
}

export const ROOT = path.resolve(__dirname, '..', '..');
export const DIST = path.join(ROOT, 'dist');

/** How many cases a fuzz test runs: its default times FUZZ_ITERATIONS / 100 (FUZZ_ITERATIONS=100000 for long runs). */
export function fuzzCases(defaultCases: number): number {
  const env = Number(process.env.FUZZ_ITERATIONS);
  return Number.isFinite(env) && env > 0 ? Math.max(1, Math.round((defaultCases * env) / 100)) : defaultCases;
}

/** Seed of a fuzz run: FUZZ_SEED, or a fixed one so `npm test` is repeatable. */
export function fuzzSeed(fixed: number): number {
  const env = Number(process.env.FUZZ_SEED);
  return Number.isInteger(env) ? env : fixed;
}

export function tempRoot(prefix: string): { root: string; dir(name: string): string; cleanup(): void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `ng-rel-${prefix}-`));
  let k = 0;
  return {
    root,
    dir: (name: string) => path.join(root, `${name}-${k++}`),
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/** Hidden siblings the writer leaves or uses next to `target` (temporary and old folders). */
export function siblings(target: string): string[] {
  const base = path.basename(target);
  try {
    return fs.readdirSync(path.dirname(target)).filter((n) => n.startsWith(`.${base}.ng-annotations-`));
  } catch {
    return [];
  }
}

/** Points with ids, two float properties and a uint64 list relationship, as an Arrow table. */
export function pointTable(n: number, seed: number, opts: { relationship?: boolean } = {}): Table {
  const rand = rng(seed);
  const ids = new BigUint64Array(n);
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const z = new Float64Array(n);
  const a = new Float32Array(n);
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    ids[i] = BigInt(i) * 7919n + 1n;
    x[i] = rand() * 1000;
    y[i] = rand() * 1000;
    z[i] = rand() * 100;
    a[i] = rand();
    b[i] = rand() * 10;
  }
  const cols: Record<string, ReturnType<typeof makeVector>> = {
    annotation_id: makeVector(ids),
    x: makeVector(x),
    y: makeVector(y),
    z: makeVector(z),
    a: makeVector(a),
    b: makeVector(b),
  };
  if (opts.relationship) {
    const lists = Array.from({ length: n }, () => (rand() < 0.3 ? [] : [BigInt(Math.floor(rand() * 500)), BigInt(Math.floor(rand() * 500))]));
    cols.seg = vectorFromArray(lists, new List(new Field('item', new Uint64(), true))) as never;
  }
  return new Table(cols);
}

/** The same points as CSV text (ids exact, coordinates with 3 decimals). */
export function pointCsv(n: number, seed: number): string {
  const rand = rng(seed);
  const parts: string[] = ['annotation_id,x,y,z,a,b\n'];
  for (let i = 0; i < n; i++) {
    parts.push(`${i * 7919 + 1},${(rand() * 1000).toFixed(3)},${(rand() * 1000).toFixed(3)},${(rand() * 100).toFixed(3)},${rand().toFixed(4)},${(rand() * 10).toFixed(3)}\n`);
  }
  return parts.join('');
}

export function writeArrowFile(file: string, table: Table): void {
  fs.writeFileSync(file, tableToIPC(table, 'file'));
}

/** Why tmpfs mounts are unavailable here, or null when they work (root and mount(8) allowed). */
let mountProblem: string | null | undefined;
export function tmpfsUnavailable(): string | null {
  if (mountProblem !== undefined) return mountProblem;
  if (process.platform !== 'linux') return (mountProblem = 'tmpfs mounts need Linux');
  if (process.getuid?.() !== 0) return (mountProblem = 'mounting a small tmpfs needs root');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ng-rel-mountprobe-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status === 0) spawnSync('umount', [dir]);
  fs.rmdirSync(dir);
  return (mountProblem = r.status === 0 ? null : `mount -t tmpfs failed: ${(r.stderr || r.error?.message || '').trim()}`);
}

/** Mounts a tmpfs of `size` (e.g. '2m') at a fresh folder; `remountReadOnly` and `unmount` undo or restrict it. */
export function mountTmpfs(parentDir: string, size: string): { dir: string; remountReadOnly(): void; unmount(): void } {
  const dir = fs.mkdtempSync(path.join(parentDir, 'tmpfs-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `mount failed: ${r.stderr}`);
  return {
    dir,
    remountReadOnly() {
      const ro = spawnSync('mount', ['-o', 'remount,ro', dir], { encoding: 'utf8' });
      assert.equal(ro.status, 0, `remount ro failed: ${ro.stderr}`);
    },
    unmount() {
      spawnSync('umount', ['-l', dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Rejects when `p` takes longer than `ms` (a hang), naming `what`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`HANG: ${what} took more than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
