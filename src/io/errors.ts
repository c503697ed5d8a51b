// The one error type every reader throws for bad input. The CLI prints `message` alone, so the
// message names everything a user needs to find the problem: file, column, row (and line), value.
import { basename } from 'node:path';

export interface InputErrorDetails {
  file: string;
  column?: string;
  /** 1-based data row (the header is not a row). */
  row?: number;
  /** 1-based line in a text file where that row starts (differs from row+1 after quoted newlines). */
  line?: number;
  value?: string;
  expected?: string;
}

export class InputError extends Error {
  readonly file: string;
  readonly column?: string;
  readonly row?: number;
  readonly line?: number;
  readonly value?: string;
  readonly expected?: string;

  constructor(problem: string, details: InputErrorDetails, options?: { cause?: unknown }) {
    super(formatMessage(problem, details), options);
    this.name = 'InputError';
    this.file = details.file;
    this.column = details.column;
    this.row = details.row;
    this.line = details.line;
    this.value = details.value;
    this.expected = details.expected;
  }
}

function formatMessage(problem: string, d: InputErrorDetails): string {
  const where: string[] = [basename(d.file) || d.file];
  if (d.column !== undefined) where.push(`column '${d.column}'`);
  if (d.row !== undefined) where.push(d.line !== undefined ? `row ${d.row} (line ${d.line})` : `row ${d.row}`);
  else if (d.line !== undefined) where.push(`line ${d.line}`);
  let msg = `${where.join(', ')}: ${problem}`;
  if (d.value !== undefined) msg += `: ${JSON.stringify(shorten(d.value))}`;
  if (d.expected !== undefined) msg += ` (expected ${d.expected})`;
  return msg;
}

function shorten(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Cause text for wrapping errors thrown by third-party decoders, without their stack. */
export function describeCause(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw signal.reason instanceof Error ? signal.reason : new DOMException('The read was aborted', 'AbortError');
  }
}
