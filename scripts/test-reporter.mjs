// node:test reporter used by scripts/run-tests.mjs: turns the runner's events into one JSON object per
// line (prefixed, so the wrapper can tell them from anything else on stdout). It runs inside the
// `node --test` process; the wrapper does the printing, the counting and the bookkeeping of which
// tests are in flight (so it can name them when it is stopped or a file times out).
import { inspect } from 'node:util';

export const PREFIX = '\u0001ngtest ';

export default async function* reporter(source) {
  for await (const event of source) {
    const d = event.data ?? {};
    const base = { t: event.type, file: d.file, name: d.name, nesting: d.nesting };
    switch (event.type) {
      case 'test:dequeue':
        yield line(base);
        break;
      case 'test:complete':
      case 'test:pass':
      case 'test:fail': {
        const details = d.details ?? {};
        const out = { ...base, type: details.type, ms: details.duration_ms, skip: d.skip, todo: d.todo };
        if (details.error) out.error = describeError(details.error);
        yield line(out);
        break;
      }
      case 'test:stdout':
      case 'test:stderr':
        yield line({ ...base, message: d.message });
        break;
      default:
        break; // plan, enqueue, start, diagnostics (the wrapper prints its own summary)
    }
  }
}

function line(obj) {
  return PREFIX + JSON.stringify(obj) + '\n';
}

/** The failure as node's spec reporter would show it: the assertion or error with its cause chain. */
function describeError(error) {
  // The runner wraps a test's own error as `cause` of an ERR_TEST_FAILURE; show the test's error.
  const inner = error?.code === 'ERR_TEST_FAILURE' && error.cause !== undefined ? error.cause : error;
  const text = inner instanceof Error ? inspect(inner, { depth: 4 }) : `${typeof inner === 'string' ? inner : inspect(inner)}`;
  return { failureType: error?.failureType, text };
}
