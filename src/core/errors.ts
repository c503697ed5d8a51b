// Errors that carry what a user needs to fix their input: which column, which rows, which value.

export class ExportError extends Error {
  constructor(
    message: string,
    readonly details: { column?: string; rows?: number[]; value?: unknown; expected?: string } = {},
  ) {
    super(message);
    this.name = 'ExportError';
  }
}

export class AbortError extends Error {
  constructor(message = 'The export was cancelled') {
    super(message);
    this.name = 'AbortError';
  }
}

/** "row 3" / "rows 3, 7, 9 and 12 more": rows are 0-based in code and 1-based for people. */
export function describeRows(rows: ArrayLike<number>, total?: number): string {
  const shown = Array.from(rows).slice(0, 5).map((r) => String(r + 1));
  const count = total ?? rows.length;
  const more = count > shown.length ? ` and ${count - shown.length} more` : '';
  return `${count === 1 ? 'row' : 'rows'} ${shown.join(', ')}${more}`;
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError();
}
