#!/usr/bin/env node
// `npm test`'s runner. Runs each node:test file (default test/*.test.ts) as its own
// `node --import tsx --test <file>`, TEST_CONCURRENCY files at a time, and makes a slow, stuck or
// stopped run say where it is:
// - every test's start and end is followed live (scripts/test-reporter.mjs). One `node --test` per
//   file, because node 20's runner holds back the events of all files but the first one in flight;
// - a test running for more than a minute is named once a minute while it runs;
// - a file still running after TEST_FILE_TIMEOUT_S is ended, and the failure names the tests that were
//   in flight; on SIGINT/SIGTERM, or after TEST_TIMEOUT_S for the whole run, every test in flight is
//   named and the run ends;
// - each file runs in a process group of its own, so ending it also ends what its tests started (CLI
//   exports, servers, browsers); a file exits when its tests are done (--test-force-exit), and
//   processes its tests left running are named and ended;
// - files start slowest first (by the previous run's test-output/test-times.json), so two at a time
//   finish together;
// - the last line is the summary, exactly `N passed, N failed` (`, N skipped` when some were).
// Per-test and per-file durations go to test-output/test-times.json; the slowest are printed at the end.
//
// Environment: TEST_CONCURRENCY (files at once, default 2), TEST_FILE_TIMEOUT_S (one file, default
// 480), TEST_TIMEOUT_S (the whole run, default 1500), TEST_VERBOSE=1 (print every test).
// Arguments: test files, and node --test options (e.g. --test-name-pattern=…) passed through.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PREFIX } from './test-reporter.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TIMES = path.join(ROOT, 'test-output', 'test-times.json');
const envNumber = (name, fallback) => {
  const v = Number(process.env[name]);
  return process.env[name] && Number.isFinite(v) && v > 0 ? v : fallback;
};
const CONCURRENCY = Math.floor(envNumber('TEST_CONCURRENCY', 2));
const FILE_TIMEOUT_S = envNumber('TEST_FILE_TIMEOUT_S', 480);
const RUN_TIMEOUT_S = envNumber('TEST_TIMEOUT_S', 1500);
const VERBOSE = process.env.TEST_VERBOSE === '1';

const args = process.argv.slice(2);
const passThrough = args.filter((a) => a.startsWith('--'));
let files = args.filter((a) => !a.startsWith('--')).map((f) => path.resolve(f));
if (files.length === 0) {
  files = fs
    .readdirSync(path.join(ROOT, 'test'))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join(ROOT, 'test', f));
}
const rel = (file) => path.relative(ROOT, file) || file;
// Slowest first, from the last run; files not seen before go first (they may be slow).
let previous = new Map();
try {
  previous = new Map(JSON.parse(fs.readFileSync(TIMES, 'utf8')).files.map((f) => [f.file, f.ms]));
} catch {
  // no earlier run
}
files.sort((a, b) => (previous.get(rel(b)) ?? Infinity) - (previous.get(rel(a)) ?? Infinity) || a.localeCompare(b));

const t0 = Date.now();
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
const indent = (s) =>
  String(s)
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
const results = []; // { file, name, ms, status }
const fileTimes = []; // { file, ms, status }
/** file → the run of that file (see runFile) */
const active = new Map();

function reportFailure(label, ms, text, extra = '') {
  const block = `\n✖ FAILED: ${label}${ms !== undefined ? ` (${secs(ms)})` : ''}\n${indent(text)}\n${extra ? indent(extra) + '\n' : ''}`;
  failures.push(block);
  process.stdout.write(block);
}

function chainOf(run) {
  return run.stack.filter(Boolean);
}

function inFlight(run, now = Date.now()) {
  const chain = chainOf(run);
  if (chain.length === 0) {
    const where = run.tests > 0 ? `${run.tests} tests done, then nothing` : 'loading, or in a hook';
    return `${rel(run.file)} (${where}; file running ${secs(now - run.start)})`;
  }
  return `${rel(run.file)} › ${chain.map((s) => s.name).join(' › ')} (running ${secs(now - chain[chain.length - 1].start)})`;
}

/** Handles one reporter event of one file's run. */
function onEvent(run, e) {
  if (e.t === 'test:stdout' || e.t === 'test:stderr') {
    (e.t === 'test:stdout' ? process.stdout : process.stderr).write(e.message ?? '');
    return;
  }
  // The file itself is a test at nesting 0 named by its path; so are its top-level tests, by name.
  if (e.nesting === 0 && e.name && path.resolve(ROOT, e.name) === run.file) {
    if (e.t === 'test:complete' && e.error) run.fileError = e.error.text;
    return;
  }
  if (e.t === 'test:dequeue') {
    run.stack.length = e.nesting;
    run.stack[e.nesting] = { name: e.name, start: Date.now(), noted: Date.now(), failsAtStart: run.fails };
    return;
  }
  if (e.t === 'test:complete') {
    const entry = run.stack[e.nesting];
    run.stack.length = e.nesting;
    run.lastDone = entry;
    return;
  }
  if (e.t !== 'test:pass' && e.t !== 'test:fail') return;
  const label = `${rel(run.file)} › ${e.name}`;
  if (e.type === 'suite') {
    // A failing suite none of whose tests failed failed by itself (a hook, or its body threw).
    const entry = run.suiteStarts.get(`${e.nesting}\u0000${e.name}`);
    if (e.t === 'test:fail' && (entry === undefined || entry === run.fails)) {
      failed++;
      run.fails++;
      reportFailure(label, e.ms, e.error?.text ?? '(no error reported)');
    }
    return;
  }
  run.tests++;
  let status = 'passed';
  if (e.skip !== undefined || e.todo !== undefined) {
    skipped++;
    status = 'skipped';
  } else if (e.t === 'test:pass') {
    passed++;
  } else {
    failed++;
    run.fails++;
    status = 'failed';
    reportFailure(label, e.ms, e.error?.text ?? '(no error reported)');
  }
  results.push({ file: rel(run.file), name: e.name, ms: Math.round(e.ms ?? 0), status });
  if (VERBOSE) process.stdout.write(`  ${status === 'passed' ? '✔' : status === 'failed' ? '✖' : '-'} ${label} (${secs(e.ms ?? 0)})\n`);
}

function runFile(file) {
  return new Promise((resolve) => {
    const nodeArgs = [
      '--import',
      'tsx',
      '--test',
      `--test-reporter=${path.join(ROOT, 'scripts', 'test-reporter.mjs')}`,
      '--test-reporter-destination=stdout',
      // A file whose tests are done exits even if a handle (a child's pipe, a server, a timer) is
      // still open; what it left running is named and ended below.
      '--test-force-exit',
      ...passThrough,
      file,
    ];
    // detached: a process group of its own, ended as a whole (see killGroup).
    const child = spawn(process.execPath, nodeArgs, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const run = { file, child, start: Date.now(), stack: [], tests: 0, fails: 0, suiteStarts: new Map(), fileError: '', stderr: '', timedOut: false };
    active.set(file, run);
    const track = (e) => {
      if (e.t === 'test:dequeue') run.suiteStarts.set(`${e.nesting}\u0000${e.name}`, run.fails);
      onEvent(run, e);
    };
    let buffer = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      buffer += chunk;
      for (let nl; (nl = buffer.indexOf('\n')) >= 0; ) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const at = text.indexOf(PREFIX);
        if (at < 0) {
          process.stdout.write(text + '\n');
          continue;
        }
        if (at > 0) process.stdout.write(text.slice(0, at) + '\n');
        try {
          track(JSON.parse(text.slice(at + PREFIX.length)));
        } catch (err) {
          process.stdout.write(`(unreadable reporter line from ${rel(file)}: ${err.message})\n`);
        }
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d) => {
      run.stderr += d;
      process.stderr.write(d);
    });
    const timer = setTimeout(() => {
      run.timedOut = true;
      run.timeoutNote = inFlight(run);
      killGroup(child, 'SIGTERM');
      setTimeout(() => killGroup(child, 'SIGKILL'), 5_000).unref();
    }, FILE_TIMEOUT_S * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const left = leftovers(child.pid);
      if (left.length) {
        process.stdout.write(`\n${rel(file)} left processes running (ended now):\n${left.map((l) => '  ' + l).join('\n')}\n`);
        killGroup(child, 'SIGKILL');
      }
      active.delete(file);
      const ms = Date.now() - run.start;
      if (run.timedOut) {
        failed++;
        run.fails++;
        reportFailure(`${rel(file)}`, ms, `no result after ${FILE_TIMEOUT_S} s (TEST_FILE_TIMEOUT_S): ended`, `in flight: ${run.timeoutNote}`);
      } else if (!stopping && (code !== 0 || signal) && run.fails === 0) {
        // The file failed by itself: it could not load, crashed, or exited early.
        failed++;
        run.fails++;
        const chain = chainOf(run);
        reportFailure(
          `${rel(file)} (the file itself)`,
          ms,
          run.fileError || `node --test exited ${signal ?? code}`,
          chain.length ? `in flight when it ended: ${inFlight(run)}` : '',
        );
      }
      if (!stopping) process.stdout.write(`${run.fails ? '✖' : '✔'} ${rel(file)}: ${run.tests} tests${run.fails ? `, ${run.fails} failed` : ''} (${secs(ms)})\n`);
      fileTimes.push({ file: rel(file), ms, status: run.fails ? 'failed' : 'passed' });
      resolve();
    });
  });
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone
  }
}

/** Processes still in a file's process group (left running by a test), as "pid command". */
function leftovers(pgid) {
  const out = [];
  let pids = [];
  try {
    pids = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return out; // no /proc: not Linux
  }
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid || fields[0] === 'Z') continue;
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      out.push(`${pid} ${cmd.slice(0, 200)}`);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

// Once a minute, name the tests that have been running for more than a minute.
const heartbeat = setInterval(() => {
  const now = Date.now();
  for (const run of active.values()) {
    const chain = chainOf(run);
    const last = chain[chain.length - 1];
    if (last && now - last.start > 60_000 && now - last.noted >= 60_000) {
      last.noted = now;
      process.stdout.write(`… still running: ${inFlight(run, now)}\n`);
    }
  }
}, 5_000);

let stopping = '';
function stop(reason) {
  if (stopping) return;
  stopping = reason;
  const lines = [...active.values()].map((r) => '  ' + inFlight(r));
  process.stdout.write(`\n${reason} after ${secs(Date.now() - t0)}; ${lines.length ? `in flight:\n${lines.join('\n')}` : 'no test in flight'}\n`);
  failed += Math.max(1, lines.length); // what was in flight did not pass
  queue.length = 0;
  for (const r of active.values()) {
    killGroup(r.child, 'SIGTERM');
    setTimeout(() => killGroup(r.child, 'SIGKILL'), 5_000).unref();
  }
}
process.on('SIGINT', () => stop('Interrupted (SIGINT)'));
process.on('SIGTERM', () => stop('Stopped (SIGTERM)'));
process.on('SIGHUP', () => stop('Stopped (SIGHUP)'));
const runTimer = setTimeout(() => stop(`Time limit of ${RUN_TIMEOUT_S} s for the whole run (TEST_TIMEOUT_S) reached`), RUN_TIMEOUT_S * 1000);

process.stdout.write(`Running ${files.length} test files, ${CONCURRENCY} at a time (limits: ${FILE_TIMEOUT_S} s a file, ${RUN_TIMEOUT_S} s in all)\n`);
const queue = [...files];
await Promise.all(
  Array.from({ length: Math.max(1, CONCURRENCY) }, async () => {
    while (queue.length > 0) await runFile(queue.shift());
  }),
);
clearInterval(heartbeat);
clearTimeout(runTimer);

const totalMs = Date.now() - t0;
if (!stopping) {
  // Merged with the previous record, so a run of some files keeps the others' times for the ordering.
  const ran = new Set(fileTimes.map((f) => f.file));
  let before = { files: [], tests: [] };
  try {
    before = JSON.parse(fs.readFileSync(TIMES, 'utf8'));
  } catch {
    // none yet
  }
  const byMs = (a, b) => b.ms - a.ms;
  const record = {
    lastRunMs: totalMs,
    concurrency: CONCURRENCY,
    files: [...before.files.filter((f) => !ran.has(f.file)), ...fileTimes].sort(byMs),
    tests: [...before.tests.filter((t) => !ran.has(t.file)), ...results].sort(byMs),
  };
  fs.mkdirSync(path.dirname(TIMES), { recursive: true });
  fs.writeFileSync(TIMES, JSON.stringify(record, null, 1) + '\n');
}
const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 10);
if (slowest.length > 1) process.stdout.write(`\nSlowest tests:\n${slowest.map((r) => `  ${secs(r.ms).padStart(8)}  ${r.file} › ${r.name}`).join('\n')}\n`);
if (failures.length) process.stdout.write(`\n${failures.length} failure(s), again:${failures.join('')}`);
if (passed + failed === 0) {
  failed++;
  process.stdout.write('\nNo test ran.\n');
}
process.stdout.write(`\n${files.length} files in ${secs(totalMs)}${stopping ? ` (${stopping})` : ''}\n`);
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exitCode = failed === 0 ? 0 : 1;
