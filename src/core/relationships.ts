// Relationships: per annotation, a list of related segment ids (uint64). Columns may hold one id per
// row (null = none), lists of ids, or text cells like `100`, `[10, 11]`, `10;11` or empty (the one
// grammar of shared/relationshipCell.ts, which the readers use too).
// Stored as CSR: offsets[i]..offsets[i+1] index into `ids`.
import type { Vector } from 'apache-arrow';
import { ExportError, describeRows } from './errors';
import { columnKind, getColumn, typeName, uint64Column, type TableLike } from './columns';
import { sharedF64, sharedU64 } from './alloc';
import { RELATIONSHIP_CELL_HELP, parseRelationshipCell } from '../shared/relationshipCell';

export { parseRelationshipCell };

export interface RelationshipColumn {
  name: string;
  /** n + 1 offsets into `ids`. */
  offsets: Float64Array;
  ids: BigUint64Array;
}

/** Relationship ids become directory names (`by_rel_<id>`), so they must be safe as names. */
export const RELATIONSHIP_ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function normalizeRelationshipRequests(relationships: string[] | string | undefined): string[] {
  if (relationships === undefined || relationships === null) return [];
  const list = typeof relationships === 'string' ? [relationships] : relationships;
  if (!Array.isArray(list)) throw new ExportError(`Invalid relationships: ${JSON.stringify(relationships)} (expected a list of column names)`);
  const seen = new Set<string>();
  for (const r of list) {
    if (typeof r !== 'string' || !RELATIONSHIP_ID_PATTERN.test(r) || r === '.' || r === '..') {
      throw new ExportError(
        `Invalid relationship name ${JSON.stringify(r)}: relationship names become folder names, so use letters, digits, _, - and . only`,
        { column: typeof r === 'string' ? r : undefined },
      );
    }
    if (seen.has(r)) throw new ExportError(`Relationship ${JSON.stringify(r)} is listed twice`, { column: r });
    seen.add(r);
  }
  return list;
}

const U64_MAX = (1n << 64n) - 1n;

function listColumn(v: Vector, name: string): RelationshipColumn {
  const n = v.length;
  const offsets = sharedF64(n + 1);
  const chunks: bigint[][] = [];
  let total = 0;
  const bad: number[] = [];
  let badCount = 0;
  let badValue: unknown;
  for (let i = 0; i < n; i++) {
    const cell = v.get(i) as Vector | null;
    const row: bigint[] = [];
    if (cell !== null) {
      for (let j = 0; j < cell.length; j++) {
        const x = cell.get(j) as number | bigint | null;
        let b: bigint | null = null;
        if (typeof x === 'bigint') b = x >= 0n && x <= U64_MAX ? x : null;
        else if (typeof x === 'number') b = Number.isSafeInteger(x) && x >= 0 ? BigInt(x) : null;
        if (b === null) {
          if (bad.length < 5) bad.push(i);
          if (badCount === 0) badValue = x;
          badCount++;
        } else row.push(b);
      }
    }
    chunks.push(row);
    total += row.length;
    offsets[i + 1] = total;
  }
  if (badCount) {
    throw new ExportError(
      `Relationship column ${JSON.stringify(name)} has ${badCount} id(s) that are not uint64 integers (${describeRows(bad, badCount)}; first: ${String(badValue)})`,
      { column: name, rows: bad, value: badValue, expected: 'uint64' },
    );
  }
  const ids = sharedU64(total);
  let k = 0;
  for (const row of chunks) for (const b of row) ids[k++] = b;
  return { name, offsets, ids };
}

function textColumn(v: Vector, name: string): RelationshipColumn {
  const n = v.length;
  const rows: bigint[][] = [];
  const bad: number[] = [];
  let badCount = 0;
  let badValue: unknown;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const cell = v.get(i) as string | null;
    const parsed = parseRelationshipCell(cell);
    if (parsed === null) {
      if (bad.length < 5) bad.push(i);
      if (badCount === 0) badValue = cell;
      badCount++;
      rows.push([]);
    } else {
      rows.push(parsed);
      total += parsed.length;
    }
  }
  if (badCount) {
    throw new ExportError(
      `Relationship column ${JSON.stringify(name)} has ${badCount} cell(s) that are not ${RELATIONSHIP_CELL_HELP} (${describeRows(bad, badCount)}; first: ${JSON.stringify(badValue)})`,
      { column: name, rows: bad, value: badValue, expected: 'uint64 ids' },
    );
  }
  const offsets = sharedF64(n + 1);
  const ids = sharedU64(total);
  let k = 0;
  rows.forEach((r, i) => {
    for (const b of r) ids[k++] = b;
    offsets[i + 1] = k;
  });
  return { name, offsets, ids };
}

export function readRelationship(table: TableLike, name: string): RelationshipColumn {
  const v = getColumn(table, name, 'relationship');
  const kind = columnKind(v.type);
  if (kind === 'list') return listColumn(v, name);
  if (kind === 'string') return textColumn(v, name);
  if (kind === 'int' || kind === 'int64' || kind === 'float') {
    const { values, valid } = uint64Column(v, name, `relationship ${name}`, true);
    const n = v.length;
    const offsets = sharedF64(n + 1);
    if (!valid) {
      for (let i = 0; i <= n; i++) offsets[i] = i;
      return { name, offsets, ids: values };
    }
    let k = 0;
    const ids = new BigUint64Array(n);
    for (let i = 0; i < n; i++) {
      if (valid[i]) ids[k++] = values[i];
      offsets[i + 1] = k;
    }
    return { name, offsets, ids: ids.slice(0, k) };
  }
  throw new ExportError(
    `Relationship column ${JSON.stringify(name)} has type ${typeName(v.type)}; expected integer segment ids, lists of them, or text like [10, 11]`,
    { column: name },
  );
}

/** Keeps only the rows in `keep` (in that order). */
export function selectRelationshipRows(rel: RelationshipColumn, keep: Uint32Array): RelationshipColumn {
  const offsets = sharedF64(keep.length + 1);
  let total = 0;
  for (let i = 0; i < keep.length; i++) {
    total += rel.offsets[keep[i] + 1] - rel.offsets[keep[i]];
    offsets[i + 1] = total;
  }
  const ids = sharedU64(total);
  for (let i = 0; i < keep.length; i++) ids.set(rel.ids.subarray(rel.offsets[keep[i]], rel.offsets[keep[i] + 1]), offsets[i]);
  return { name: rel.name, offsets, ids };
}
