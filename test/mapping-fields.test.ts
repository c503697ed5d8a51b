// The mapping's fields are listed once (MAPPING_FIELDS, src/shared/mapping.ts): every flag it names is
// an option of `ng-annotations export`, and a mapping written as a command line reads back the same.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAPPING_FIELDS, mappingToCommandLine, mappingToWriteOptions, parseMapping, type Mapping } from '../src/shared/mapping';
import { EXPORT_SPEC, mappingFromArgs } from '../src/cli/export';

describe('the mapping field table', () => {
  test('every flag in the table is an export option of the matching kind', () => {
    for (const [key, f] of Object.entries(MAPPING_FIELDS) as Array<[string, { flag?: { name: string; kind: string } }]>) {
      if (!f.flag) continue;
      const o = EXPORT_SPEC.options.find((x) => x.name === f.flag!.name);
      assert.ok(o, `${key}: --${f.flag.name} is not an option of export`);
      assert.equal(o.type, f.flag.kind === 'on' || f.flag.kind === 'off' ? 'flag' : 'string', `${key}: --${f.flag.name}`);
    }
  });

  test('a mapping with every field → command line → the same mapping', () => {
    const m: Mapping = parseMapping({
      input: '/data/in.csv',
      annotationType: 'line',
      coords: ['x', 'y', 'z'],
      units: ['nm', 'nm', 'um'],
      scales: [4, 4, 40],
      geometry: { a: ['ax', 'ay', 'az'], b: ['bx', 'by', 'bz'] },
      idColumn: 'id',
      delimiter: ',',
      decimalComma: true,
      properties: ['score', { id: 'kind', type: 'uint8' }],
      relationships: ['pre', 'post'],
      output: '/data/out',
      sharded: false,
      byId: false,
      byRelationship: false,
      spatial: false,
      spatialLevels: 3,
      chunkLimit: 500,
      shuffle: false,
      seed: 42,
      threads: 2,
      gzipLevel: 'raw',
      dataEncoding: 'raw',
      memoryLimit: 4e9,
      description: 'synapses',
      overwrite: true,
    });
    const line = mappingToCommandLine(m);
    const argv = line.split(' ').slice(2);
    const back = mappingFromArgs(argv);
    assert.notEqual(back, 'help');
    assert.deepEqual((back as { mapping: Mapping }).mapping, m, line);
    assert.deepEqual(Object.keys(mappingToWriteOptions(m)).sort(), Object.values(MAPPING_FIELDS).flatMap((f) => ('option' in f && f.option && f.option !== 'polylinePoints' ? [f.option] : [])).sort(), 'every option but polylinePoints (a line mapping has no points)');
  });
});
