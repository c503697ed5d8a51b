// What every error a user sees has in common, for the webview, the host and the CLI alike (no Node).

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
