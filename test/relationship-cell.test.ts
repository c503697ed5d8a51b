// One relationship-cell grammar (src/shared/relationshipCell.ts): the readers' strict parse of a named
// column and the core's parse of a string column accept and refuse the same cells, with the same ids.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRelationshipCell } from '../src/core/relationships';
import { InputError, parseRelationshipCells } from '../src/io/index';

const ACCEPTED: Array<[string, bigint[]]> = [
  ['100', [100n]],
  ['+7', [7n]],
  [' 7 ', [7n]],
  ['[10, 11]', [10n, 11n]],
  ['[10,11]', [10n, 11n]],
  ['[]', []],
  ['[ ]', []],
  ['10;11', [10n, 11n]],
  ['10 ; 11;12', [10n, 11n, 12n]],
  ['', []],
  ['18446744073709551615', [(1n << 64n) - 1n]],
  ['[18446744073709551615, 0]', [(1n << 64n) - 1n, 0n]],
];
const REFUSED = ['10,11', '10 11', '[10;11]', '[+10]', '-4', 'abc', '[1, 2', '1;', '18446744073709551616', '[18446744073709551616]', '1.5'];

function readerIds(cell: string): bigint[] | null {
  try {
    const data = parseRelationshipCells([cell, '1;2'], { file: 'cells.csv', column: 'seg', where: (k) => ({ row: k + 1 }) });
    const child = data.children[0].values as BigUint64Array;
    return [...child.subarray(data.valueOffsets[0], data.valueOffsets[1])];
  } catch (e) {
    if (e instanceof InputError) return null;
    throw e;
  }
}

describe('relationship cells: one grammar', () => {
  test('accepted alike, with the same ids', () => {
    for (const [cell, ids] of ACCEPTED) {
      assert.deepEqual(parseRelationshipCell(cell), ids, `core: ${JSON.stringify(cell)}`);
      assert.deepEqual(readerIds(cell), ids, `reader: ${JSON.stringify(cell)}`);
    }
  });
  test('refused alike', () => {
    for (const cell of REFUSED) {
      assert.equal(parseRelationshipCell(cell), null, `core: ${JSON.stringify(cell)}`);
      assert.equal(readerIds(cell), null, `reader: ${JSON.stringify(cell)}`);
    }
  });
});
