// Bounded waits for tests that wait on something outside their own code: a child process, a socket, a
// server, a worker, a browser. Each gives up after a limit and fails naming what it waited for, and
// kills the child process it was waiting on, so a stuck dependency is a clear failure, never a hang.
//
// The limits are generous (many times the idle time) so that a loaded machine is slow but passes;
// TEST_TIME_SCALE (default 1) multiplies them all on a machine slower still.
import { spawnSync, type ChildProcess, type SpawnSyncOptions, type SpawnSyncReturns } from 'node:child_process';

const SCALE = (() => {
  const v = Number(process.env.TEST_TIME_SCALE);
  return Number.isFinite(v) && v > 0 ? v : 1;
})();

/** `ms` scaled by TEST_TIME_SCALE. */
export const limit = (ms: number): number => Math.round(ms * SCALE);

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** Resolves as `p` does, or rejects after `ms` (scaled) with "timed out after N s waiting for <what>". */
export async function within<T>(ms: number, what: string, p: Promise<T>, onTimeout?: () => void): Promise<T> {
  const max = limit(ms);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          try {
            onTimeout?.();
          } finally {
            reject(new Error(`timed out after ${seconds(max)} waiting for ${what}`));
          }
        }, max);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `pred` every `every` ms until it holds; after `ms` (scaled) fails naming `what`. */
export async function waitUntil(pred: () => boolean, ms: number, what: string, every = 20): Promise<void> {
  const end = Date.now() + limit(ms);
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${seconds(limit(ms))} waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** The exit code (or null when killed by a signal) of `child`, killing it (SIGKILL) after `ms`. */
export function exitOf(child: ChildProcess, ms: number, what: string): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
  return within(ms, `${what} to exit`, exited, () => child.kill('SIGKILL'));
}

/** fetch() that fails after `ms` (scaled) naming the URL, instead of waiting for an answer forever. */
export async function fetchWithin(url: string | URL, init: RequestInit = {}, ms = 15_000): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(limit(ms)) });
  } catch (e) {
    if ((e as Error).name === 'TimeoutError') throw new Error(`timed out after ${seconds(limit(ms))} waiting for an answer from ${url}`);
    throw e;
  }
}

/**
 * spawnSync with a time limit: on timeout the child is killed (SIGKILL) and this throws naming the
 * command, instead of a test blocked forever on a process that does not end.
 */
export function runSyncWithin(cmd: string, args: readonly string[], ms: number, options: SpawnSyncOptions = {}): SpawnSyncReturns<string> {
  const max = limit(ms);
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...options, timeout: max, killSignal: 'SIGKILL' }) as SpawnSyncReturns<string>;
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    const shown = [cmd, ...args].map((a) => (a.length > 80 ? a.slice(0, 77) + '...' : a)).join(' ');
    throw new Error(`timed out after ${seconds(max)} waiting for \`${shown}\` to exit (killed); stderr so far: ${String(r.stderr ?? '').slice(-500)}`);
  }
  return r;
}
