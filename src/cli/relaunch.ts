// Large exports run in a child process whose large allocations use transparent huge pages.
//
// Linux maps fresh memory 4 KB at a time, and each first touch is a page fault: at points 1e7 about
// a million of them, a quarter to a third of the export's CPU in a virtual machine. Most Linux
// systems give huge pages (2 MB) only to memory that asks for them (`madvise` in
// /sys/kernel/mm/transparent_hugepage/enabled), and Node's allocator asks only when glibc is told to
// at start-up (GLIBC_TUNABLES=glibc.malloc.hugetlb=1), which a running process cannot change. So
// `ng-annotations export` of a large local file starts itself again with that setting (and a fixed
// mmap threshold, which keeps memory as low as without huge pages): the same command, arguments and
// terminal, in a child this process waits for. Signals sent to this process are passed on (the
// child has its own process group, so a Ctrl+C in the terminal reaches it once), the child's exit is
// this process's exit, and a child whose parent is killed stops at once. Setting
// glibc.malloc.hugetlb yourself (0 turns it off) skips this.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';

/**
 * Inputs smaller than this (about 1.7M points in Parquet) are not worth a second process: at points
 * 1e6 (37 MB) the second Node start-up (0.1 s) and the fixed threshold's extra faults cost about what
 * huge pages saved (2.72-3.15 s against 2.52-2.93 s in one process, 3 pairs).
 */
const MIN_BYTES = 64 << 20;
const MARK = 'NG_ANNOTATIONS_RELAUNCHED';
const MMAP_THRESHOLD = 4 << 20;
const THP = '/sys/kernel/mm/transparent_hugepage/enabled';
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGWINCH'];

export interface RelaunchFacts {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  /** The content of /sys/kernel/mm/transparent_hugepage/enabled, or null (read only for a command that might relaunch). */
  thp: () => string | null;
  /** A local file's size in bytes, or null (missing, remote, unreadable). */
  sizeOf: (file: string) => number | null;
}

/** The child's environment when `argv` (after the program name) should run in a child with huge pages; null to run here. */
export function relaunchEnv(argv: string[], f: RelaunchFacts): NodeJS.ProcessEnv | null {
  if (f.platform !== 'linux' || f.env[MARK] !== undefined) return null;
  const tunables = f.env.GLIBC_TUNABLES ?? '';
  if (/(^|:)glibc\.malloc\.hugetlb=/.test(tunables)) return null;
  const [cmd, input, ...rest] = argv;
  if (cmd !== 'export' || input === undefined || input.startsWith('-') || argv.includes('--help') || argv.includes('-h')) return null;
  // "always": every large mapping gets huge pages already; "never": none can.
  if (!f.thp()?.includes('[madvise]')) return null;
  const files = [input];
  rest.forEach((a, i) => {
    if (a === '--points' && rest[i + 1] !== undefined) files.push(rest[i + 1]);
    else if (a.startsWith('--points=')) files.push(a.slice('--points='.length));
  });
  const bytes = files.reduce((sum, file) => sum + (f.sizeOf(file) ?? 0), 0);
  const min = f.env.NG_ANNOTATIONS_RELAUNCH_BYTES !== undefined ? Number(f.env.NG_ANNOTATIONS_RELAUNCH_BYTES) : MIN_BYTES;
  if (!(bytes >= min)) return null;
  const added = ['glibc.malloc.hugetlb=1'];
  // Allocations of 4 MB and more mapped on their own, so each is returned when freed. Left to glibc,
  // the threshold grows to the largest block freed, and blocks up to that size then come from its
  // arenas, which keep what they once held: with huge pages that raised the peak of points 1e8
  // through temporary files from 1.40 GB to 1.5-1.9 GB, for 5-10% of its time.
  if (!/(^|:)glibc\.malloc\.mmap_threshold=/.test(tunables)) added.push(`glibc.malloc.mmap_threshold=${MMAP_THRESHOLD}`);
  return { ...f.env, [MARK]: '1', GLIBC_TUNABLES: [tunables, ...added].filter(Boolean).join(':') };
}

function localSize(file: string): number | null {
  try {
    const st = fs.statSync(file);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

function readThp(): string | null {
  try {
    return fs.readFileSync(THP, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Runs this command again in a child with huge pages when it is worth it: resolves to the child's
 * exit status (after it ends), or null to run the command in this process.
 */
export function relaunched(argv: string[]): Promise<number> | null {
  const env = relaunchEnv(argv, { platform: process.platform, env: process.env, thp: readThp, sizeOf: localSize });
  if (env === null) return null;
  // `detached`: its own process group, so the terminal's signals reach this process only, which passes each on once.
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1], ...argv], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env, detached: true });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const handlers = FORWARDED.map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  return new Promise((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      for (const [s, h] of handlers) process.off(s, h);
      // Killed by a signal: end the same way, so the caller sees what happened.
      if (signal) process.kill(process.pid, signal);
      resolve(code ?? 1);
    };
    child.once('exit', done);
    child.once('error', (e) => {
      process.stderr.write(`error: could not start the export process: ${e.message}\n`);
      done(1, null);
    });
  });
}

/** In the child: stop at once if the parent goes (killed), as the parent's own process would have. */
export function watchParent(): void {
  if (process.env[MARK] === undefined || !process.send) return;
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  // The channel is only watched: it must not keep the command running.
  process.channel?.unref();
}
