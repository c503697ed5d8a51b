// stringCodes: a text column as codes into its distinct values, told apart by their bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Utf8, makeData, makeVector, vectorFromArray } from 'apache-arrow';
import { stringCodes, stringValues } from '../src/core/columns';

test('stringCodes: distinct values in first-seen order, null as -1, across chunks and slices', () => {
  const a = vectorFromArray(['b', 'a', null, 'b', 'ü', '', 'a'], new Utf8());
  const b = vectorFromArray(['', 'ü', 'c', null], new Utf8());
  const v = a.concat(b.slice(1));
  const { codes, labels } = stringCodes(v);
  assert.deepEqual(labels, ['b', 'a', 'ü', '', 'c']);
  assert.deepEqual(Array.from(codes), [0, 1, -1, 0, 2, 3, 1, 2, 4, -1]);
  assert.deepEqual(stringValues(v), ['b', 'a', null, 'b', 'ü', '', 'a', 'ü', 'c', null]);
});

test('stringCodes: different invalid UTF-8 bytes that decode to the same text are one value', () => {
  const bytes = Uint8Array.from([0xff, 0xfe, 0xff, 0x41]);
  const data = makeData({ type: new Utf8(), length: 3, valueOffsets: Int32Array.from([0, 1, 2, 3]), data: bytes.subarray(0, 3) });
  const { codes, labels } = stringCodes(makeVector(data));
  assert.deepEqual(labels, ['\ufffd']);
  assert.deepEqual(Array.from(codes), [0, 0, 0]);
});

test('stringCodes: many distinct values keep their own codes', () => {
  const values = Array.from({ length: 50_000 }, (_, i) => `v${i % 20_000}`);
  const { codes, labels } = stringCodes(vectorFromArray(values, new Utf8()));
  assert.equal(labels.length, 20_000);
  for (let i = 0; i < values.length; i += 997) assert.equal(labels[codes[i]], values[i]);
});

test('stringCodes: values whose hashes collide stay apart', () => {
  // 'label1122789' and 'label1339192' have the same 32-bit FNV-1a hash, the table's key.
  const fnv = (s: string) => Buffer.from(s).reduce((h, b) => Math.imul(h ^ b, 0x01000193), 0x811c9dc5);
  assert.equal(fnv('label1122789'), fnv('label1339192'));
  const values = ['label1122789', 'label1339192', 'x', 'label1339192', 'label1122789', null];
  const { codes, labels } = stringCodes(vectorFromArray(values, new Utf8()));
  assert.deepEqual(labels, ['label1122789', 'label1339192', 'x']);
  assert.deepEqual(Array.from(codes), [0, 1, 2, 1, 0, -1]);
});
