// Small builders shared by the core writer tests (test/core-*.test.ts): Arrow columns of an exact
// type, tables, hex dumps, temporary folders, and the writer's error checks.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Bool,
  Dictionary,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  List,
  Table,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  vectorFromArray,
  type DataType,
  type Vector,
} from 'apache-arrow';
import { ExportError } from '../../src/core/errors';

type Num = number | null;
type Big = bigint | null;

/** Columns of one exact Arrow type each (nulls allowed). */
export const col = {
  f64: (xs: Num[]) => vectorFromArray(xs, new Float64()),
  f32: (xs: Num[]) => vectorFromArray(xs, new Float32()),
  i8: (xs: Num[]) => vectorFromArray(xs, new Int8()),
  u8: (xs: Num[]) => vectorFromArray(xs, new Uint8()),
  i16: (xs: Num[]) => vectorFromArray(xs, new Int16()),
  u16: (xs: Num[]) => vectorFromArray(xs, new Uint16()),
  i32: (xs: Num[]) => vectorFromArray(xs, new Int32()),
  u32: (xs: Num[]) => vectorFromArray(xs, new Uint32()),
  i64: (xs: Big[]) => vectorFromArray(xs, new Int64()),
  u64: (xs: Big[]) => vectorFromArray(xs, new Uint64()),
  bool: (xs: Array<boolean | null>) => vectorFromArray(xs, new Bool()),
  str: (xs: Array<string | null>) => vectorFromArray(xs, new Utf8()),
  /** Dictionary (categorical) column; the dictionary is in order of first appearance. */
  dict: (xs: Array<string | null>) => vectorFromArray(xs, new Dictionary(new Utf8(), new Int32())),
  /** List column of int64 ids. */
  listI64: (xs: Array<Array<bigint> | null>) => vectorFromArray(xs, new List(new Field('item', new Int64(), true))),
  /** List column of uint64 ids. */
  listU64: (xs: Array<Array<bigint> | null>) => vectorFromArray(xs, new List(new Field('item', new Uint64(), true))),
  of: <T extends DataType>(xs: unknown[], type: T) => vectorFromArray(xs as never, type),
};

export function table(columns: Record<string, Vector>): Table {
  return new Table(columns);
}

/** Lower-case hex without separators. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Hex written with spaces for readability → the same without spaces. */
export function compact(spaced: string): string {
  return spaced.replace(/\s+/g, '');
}

export function tempDir(prefix = 'ng-core-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Asserts `fn` throws an ExportError whose message matches and whose details include `details`. */
export function throwsExport(fn: () => unknown, message: RegExp, details: Partial<ExportError['details']> = {}): ExportError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ExportError, `expected an ExportError, got ${caught instanceof Error ? caught.stack : String(caught)}`);
  assert.match(caught.message, message);
  for (const [k, v] of Object.entries(details)) {
    assert.deepEqual((caught.details as Record<string, unknown>)[k], v, `details.${k} of "${caught.message}"`);
  }
  return caught;
}

/** A small deterministic generator for test data (not the writer's Rng, so tests stay independent). */
export function testRandom(seed: number): { u32(): number; below(n: number): number; u64(): bigint } {
  let s = seed >>> 0 || 1;
  const u32 = () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return {
    u32,
    below: (n: number) => u32() % n,
    u64: () => (BigInt(u32()) << 32n) | BigInt(u32()),
  };
}
