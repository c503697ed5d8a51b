// Errors that carry what a user needs to fix their input: which column, which rows, which value.
// ExportError is the core's UserError; its `details.rows` are 0-based (as in code), its `row` 1-based.
import { AbortError, UserError, shortenLongRuns, throwIfAborted } from '../shared/errors';

export { AbortError, UserError, shortenLongRuns, throwIfAborted };

export class ExportError extends UserError {
  constructor(
    message: string,
    readonly details: { column?: string; rows?: number[]; value?: unknown; expected?: string } = {},
  ) {
    const row = details.rows?.[0];
    super(shortenLongRuns(message), { column: details.column, row: row === undefined ? undefined : row + rowBase + 1, value: details.value, expected: details.expected });
    this.name = 'ExportError';
  }
}

/** Added to the rows errors name, while a part of a larger table is checked (see `withRowBase`). */
let rowBase = 0;

/**
 * Runs `fn` on a slice of a table that starts at row `base`: errors it throws name rows of the whole
 * table, in their message and in `details.rows`.
 */
export function withRowBase<T>(base: number, fn: () => T): T {
  const outer = rowBase;
  rowBase = outer + base;
  try {
    return fn();
  } catch (e) {
    if (e instanceof ExportError && e.details.rows) e.details.rows = e.details.rows.map((r) => r + base);
    throw e;
  } finally {
    rowBase = outer;
  }
}

/** "row 3" / "rows 3, 7, 9 and 12 more": rows are 0-based in code and 1-based for people. */
export function describeRows(rows: ArrayLike<number>, total?: number): string {
  const shown = Array.from(rows).slice(0, 5).map((r) => String(r + rowBase + 1));
  const count = total ?? rows.length;
  const more = count > shown.length ? ` and ${count - shown.length} more` : '';
  return `${count === 1 ? 'row' : 'rows'} ${shown.join(', ')}${more}`;
}
