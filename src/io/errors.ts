// The one error type every reader throws for bad input. The CLI prints `message` alone, so the
// message names everything a user needs to find the problem: file, column, row (and line), value.
import { basename } from 'node:path';
import { UserError, abortError, shortenValue, throwIfAborted } from '../shared/errors';

export { abortError, throwIfAborted };

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

export class InputError extends UserError {
  declare file: string;
  declare value?: string;
  readonly line?: number;

  constructor(problem: string, details: InputErrorDetails, options?: { cause?: unknown }) {
    super(formatMessage(problem, details), details, options);
    this.name = 'InputError';
    this.line = details.line;
  }
}

function formatMessage(problem: string, d: InputErrorDetails): string {
  const where: string[] = [basename(d.file) || d.file];
  if (d.column !== undefined) where.push(`column '${d.column}'`);
  if (d.row !== undefined) where.push(d.line !== undefined ? `row ${d.row} (line ${d.line})` : `row ${d.row}`);
  else if (d.line !== undefined) where.push(`line ${d.line}`);
  let msg = `${where.join(', ')}: ${problem}`;
  if (d.value !== undefined) msg += `: ${JSON.stringify(shortenValue(d.value))}`;
  if (d.expected !== undefined) msg += ` (expected ${d.expected})`;
  return msg;
}

/** Cause text for wrapping errors thrown by third-party decoders, without their stack. */
export function describeCause(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}
