// What every error a user sees has in common, for the webview, the host and the CLI alike (no Node):
// the UserError base (what to fix: file, column, row, value, expected), cancellation, and shortening
// values and messages so one huge cell cannot make a huge message.

/** Where a problem is and what was expected. Rows are 1-based data rows, as people count them. */
export interface UserErrorContext {
  file?: string;
  column?: string;
  /** 1-based row of the table the problem is in (the first, when there are several). */
  row?: number;
  value?: unknown;
  expected?: string;
}

/**
 * The base of every error whose message is meant for the user (the CLI prints the message alone,
 * exit status 1): bad input, a bad mapping or option, an unreadable dataset. Anything else is a bug.
 */
export interface UserError extends UserErrorContext {}
export class UserError extends Error {
  constructor(message: string, context: UserErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UserError';
    const { file, column, row, value, expected } = context;
    Object.assign(this, { file, column, row, value, expected });
  }
}

/** The export (or a read) was cancelled through its AbortSignal; `cause` is the signal's reason. */
export class AbortError extends Error {
  constructor(message = 'The export was cancelled', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

/** What a cancelled reader or writer throws, whatever the signal's reason. */
export function abortError(signal: AbortSignal | undefined): AbortError {
  return new AbortError(undefined, { cause: signal?.reason });
}

/** The one cancellation check: readers and writers alike throw an AbortError. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** A value quoted in a message: at most 80 characters. */
export function shortenValue(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}


/**
 * Shortens any run of 200+ characters without a space, tab or newline (a quoted cell or value), and the whole message to
 * about 4000 characters, so one bad multi-megabyte cell cannot make a multi-megabyte message; the
 * full value stays in the error's details.
 */
export function shortenLongRuns(message: string): string {
  // A loop, not a regex: a 10 MB run overflows the regex engine's stack.
  let out = '';
  let start = 0;
  for (let i = 0; i <= message.length; i++) {
    if (i < message.length && message.charCodeAt(i) > 0x20) continue; // runs end at spaces, tabs, newlines
    const run = i - start;
    if (run >= 200) out += `${message.slice(start, start + 80)}…[${run} characters]`;
    else out += message.slice(start, i);
    if (i < message.length) out += message[i];
    start = i + 1;
    if (out.length > 4000) break;
  }
  if (out.length > 4000 || start < message.length) out = `${out.slice(0, 3900)}… [message shortened from ${message.length} characters]`;
  return out;
}
