// The one grammar of a relationship cell written as text (a CSV/TSV cell, or a string column of a
// Parquet or Arrow file), as in api.md §2: an unsigned integer id (`100`), a bracketed list
// (`[10, 11]`, `[]` for none), a semicolon list (`10;11`), or an empty cell (none). Every id is a
// uint64. The readers use it to type text columns (io/infer.ts) and to parse a named relationship
// column strictly; the core uses it for string columns (core/relationships.ts). Here, not in io/,
// because the core may not import the readers.

/** What a relationship cell may be, for messages. */
export const RELATIONSHIP_CELL_HELP = 'an unsigned integer id, a list like [10, 11] or 10;11, or an empty cell';

const U64_MAX = (1n << 64n) - 1n;
const ID = /^\+?\d+$/;
const BRACKET_LIST = /^\[\s*(?:\d+\s*(?:,\s*\d+\s*)*)?\]$/;
const SEMICOLON_LIST = /^\d+(?:\s*;\s*\d+)+$/;
const SEPARATORS = /[\s,;[\]]+/;

/** Does a decimal id (digits, maybe a leading +) fit in a uint64? */
function fits(id: string): boolean {
  return id.length <= 19 || BigInt(id) <= U64_MAX;
}

/**
 * The form of a trimmed, non-empty cell: one id, a list of ids, or null when it is malformed or an
 * id does not fit in a uint64.
 */
export function relationshipCellForm(c: string): 'id' | 'list' | null {
  if (ID.test(c)) return fits(c) ? 'id' : null;
  if (BRACKET_LIST.test(c) || SEMICOLON_LIST.test(c)) return relationshipCellIds(c).every(fits) ? 'list' : null;
  return null;
}

/** The ids of a trimmed cell already known to be well formed, as written ('' for none). */
export function relationshipCellIds(c: string): string[] {
  return c === '' ? [] : c.split(SEPARATORS).filter((s) => s !== '');
}

/** One cell: null or empty → no ids; the ids; or null when the cell is malformed. */
export function parseRelationshipCell(cell: string | null): bigint[] | null {
  if (cell === null) return [];
  const c = cell.trim();
  if (c === '') return [];
  if (relationshipCellForm(c) === null) return null;
  return relationshipCellIds(c).map((s) => BigInt(s));
}
