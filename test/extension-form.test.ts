// The VS Code form's logic that needs no VS Code: guessing a mapping from columns, the host's check
// of (untrusted) mappings from the webview, and the message protocol. The form itself is tested in
// a real VS Code by `npm run test:vscode` (test/vscode/).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { guessFormState, guessGeometry } from '../src/shared/guess';
import { Endpoint, ReplyError, type Envelope } from '../src/shared/protocol';
import { checkMapping } from '../src/extension/validate';
import type { TablePreview } from '../src/shared/protocol';

const table = (header: string, types: string[], ...rows: string[]): TablePreview => ({
  columns: header.split(',').map((name, i) => ({ name, type: types[i] ?? 'Float64' })),
  rows: rows.map((r) => r.split(',')),
});

describe('guessing the mapping from column names', () => {
  test('x,y,z → point; other columns become properties, bad ids and empty columns are not', () => {
    const p = table('x,y,z,score,Kind,empty,kind', ['Float64', 'Float64', 'Float64', 'Uint8', 'Utf8', 'Null', 'Utf8'], '1,2,3,4,a,,b', '5,6,7,8,c,,d');
    const s = guessFormState(p, '/d/t.csv', '/d/t.precomputed');
    assert.equal(s.mapping.annotationType, 'point');
    assert.deepEqual(s.mapping.coords, ['x', 'y', 'z']);
    assert.deepEqual(s.mapping.properties, ['score', 'kind']);
    assert.deepEqual(s.propertyColumns, ['score', 'Kind', 'empty', 'kind']);
    assert.equal(s.mapping.input, '/d/t.csv');
    assert.equal(s.mapping.output, '/d/t.precomputed');
  });

  test('xa…/xb… → line, rx… → ellipsoid, upper-case axes kept as written, 2-D', () => {
    assert.deepEqual(guessGeometry(table('xa,ya,za,xb,yb,zb,w', [])), { type: 'line', coords: ['x', 'y', 'z'], polylineVertices: false });
    assert.deepEqual(guessGeometry(table('x,y,z,rx,ry,rz', [])), { type: 'ellipsoid', coords: ['x', 'y', 'z'], polylineVertices: false });
    assert.deepEqual(guessGeometry(table('X,Y,label', [])), { type: 'point', coords: ['X', 'Y'], polylineVertices: false });
  });

  test('annotation_id repeating with coordinates → polyline vertices; unique → point ids', () => {
    const verts = table('annotation_id,x,y,z', [], '1,0,0,0', '1,1,1,1', '2,5,5,5');
    const s = guessFormState(verts, '/d/v.csv', '/d/v.precomputed');
    assert.equal(s.mapping.annotationType, 'polyline');
    assert.equal(s.mapping.points, '/d/v.csv');
    assert.equal(s.mapping.input, undefined);
    const pts = guessFormState(table('annotation_id,x,y,z', [], '1,0,0,0', '2,1,1,1'), '/d/p.csv', '/d/p.precomputed');
    assert.equal(pts.mapping.annotationType, 'point');
    assert.equal(pts.mapping.idColumn, 'annotation_id');
  });

  test('list cells and 64-bit segment ids → relationships; colour channels → one rgb property', () => {
    const p = table(
      'x,y,z,partners,pre_pt_root_id,c_r,c_g,c_b,size',
      ['Float64', 'Float64', 'Float64', 'List<Uint64>', 'Uint64', 'Uint8', 'Uint8', 'Uint8', 'Int64'],
      '1,2,3,1;2,864691135012345678,255,0,0,3',
    );
    const s = guessFormState(p, '/d/s.csv', '/d/s.precomputed');
    assert.deepEqual(s.mapping.relationships, ['partners', 'pre_pt_root_id']);
    assert.deepEqual(s.mapping.properties, ['c', 'size']);
  });

  test('axis names inside longer column names: dimensions x, y, z fed by those columns', () => {
    const f = ['Float64', 'Float64', 'Float64', 'Utf8'];
    const pos = guessGeometry(table('pos_x,pos_y,pos_z,x_label', f));
    assert.deepEqual([pos.coords, pos.geometry], [['x', 'y', 'z'], { point: ['pos_x', 'pos_y', 'pos_z'] }]);
    const camel = guessGeometry(table('PositionX,PositionY,PositionZ,n', f));
    assert.deepEqual([camel.coords, camel.geometry], [['x', 'y', 'z'], { point: ['PositionX', 'PositionY', 'PositionZ'] }]);
    const nm = guessGeometry(table('x_nm,y_nm,z_nm', f));
    assert.deepEqual([nm.coords, nm.geometry], [['x', 'y', 'z'], { point: ['x_nm', 'y_nm', 'z_nm'] }]);
    const s = guessFormState(table('pre_x,pre_y,pre_z,size', ['Float64', 'Float64', 'Float64', 'Uint8'], '1,2,3,4'), '/d/s.csv', '/d/s.precomputed');
    assert.deepEqual([s.mapping.coords, s.mapping.geometry, s.mapping.properties], [['x', 'y', 'z'], { point: ['pre_x', 'pre_y', 'pre_z'] }, ['size']]);
  });

  test('a CAVE synapse table: a line from pre_pt to post_pt, dimensions x, y, z, ids from "id"', () => {
    const p = table(
      'id,pre_pt_position_x,pre_pt_position_y,pre_pt_position_z,post_pt_position_x,post_pt_position_y,post_pt_position_z,ctr_pt_position_x,ctr_pt_position_y,ctr_pt_position_z,pre_pt_root_id,post_pt_root_id,size',
      ['Int64', 'Int64', 'Int64', 'Int64', 'Int64', 'Int64', 'Int64', 'Int64', 'Int64', 'Int64', 'Uint64', 'Uint64', 'Int64'],
      '5,1,2,3,4,5,6,7,8,9,864691135012345678,864691135012345679,40',
    );
    const s = guessFormState(p, '/d/s.parquet', '/d/s.precomputed');
    assert.equal(s.mapping.annotationType, 'line');
    assert.deepEqual(s.mapping.coords, ['x', 'y', 'z']);
    assert.deepEqual(s.mapping.geometry, {
      a: ['pre_pt_position_x', 'pre_pt_position_y', 'pre_pt_position_z'],
      b: ['post_pt_position_x', 'post_pt_position_y', 'post_pt_position_z'],
    });
    assert.equal(s.mapping.idColumn, 'id');
    assert.deepEqual(s.mapping.relationships, ['pre_pt_root_id', 'post_pt_root_id']);
    assert.ok(s.mapping.properties?.includes('size'));
    assert.ok(!s.mapping.properties?.includes('id'), 'the id column is not offered as a property');
  });

  test('an "id" column that repeats or is not integral is not the id column', () => {
    const f = ['Int64', 'Float64', 'Float64', 'Float64'];
    assert.equal(guessFormState(table('id,x,y,z', f, '1,0,0,0', '1,1,1,1'), '/d/s.csv', '/d/o').mapping.idColumn, undefined);
    assert.equal(guessFormState(table('id,x,y,z', ['Utf8', 'Float64', 'Float64', 'Float64'], 'a,0,0,0'), '/d/s.csv', '/d/o').mapping.idColumn, undefined);
  });

  test('no conventional names: the first numeric columns', () => {
    assert.deepEqual(guessGeometry(table('a,b,c,d', ['Uint8', 'Uint8', 'Uint8', 'Utf8'])).coords, ['a', 'b', 'c']);
  });
});

describe('the host checks every mapping from the webview', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ng-form-'));
  const input = path.join(dir, 'syn.csv');
  writeFileSync(input, 'x,y,z,score\n1,2,3,4\n');
  const cols = ['x', 'y', 'z', 'score'].map((name) => ({ name, type: 'Float64' }));
  const base = { version: 1, annotationType: 'point', coords: ['x', 'y', 'z'], input: '/etc/passwd', output: path.join(dir, 'syn.precomputed') };

  test('a good mapping passes, and the input is always the form’s own file', () => {
    const c = checkMapping(base, input, cols);
    assert.deepEqual(c.problems, []);
    assert.equal(c.mapping?.input, input);
  });

  test('problems are keyed by field', () => {
    const fields = (m: object) => [...new Set(checkMapping({ ...base, ...m }, input, cols).problems.map((p) => p.field))];
    assert.deepEqual(fields({ coords: ['x', 'y', 'q'] }), ['coords']);
    assert.deepEqual(fields({ annotationType: 'line' }), ['coords']);
    assert.deepEqual(fields({ properties: ['score', 'nope', 'Bad'] }), ['properties[1]', 'properties[2]']);
    assert.deepEqual(fields({ relationships: ['../up'] }), ['relationships[0]']);
    assert.deepEqual(fields({ idColumn: 'annotation_id' }), ['idColumn']);
    assert.deepEqual(fields({ units: ['nm'] }), ['units']);
    assert.deepEqual(fields({ chunkLimit: 'lots' }), ['chunkLimit']);
    assert.deepEqual(fields({ annotationType: 'polyline', points: path.join(dir, 'missing.csv') }), ['points']);
    assert.deepEqual(fields({ sneaky: true }), ['sneaky']);
  });

  test('the output folder never swallows the input or someone else’s folder', () => {
    const out = (output: string, extra: object = {}) => checkMapping({ ...base, output, ...extra }, input, cols).problems.map((p) => p.message);
    assert.match(out(dir).join(), /must not contain the input/);
    const other = path.join(dir, 'photos');
    mkdirSync(other);
    writeFileSync(path.join(other, 'a.jpg'), 'x');
    assert.match(out(other, { overwrite: true }).join(), /not an annotation dataset/);
    const ds = path.join(dir, 'old.precomputed');
    mkdirSync(ds);
    writeFileSync(path.join(ds, 'info'), '{}');
    assert.match(out(ds).join(), /Replace existing output/);
    assert.deepEqual(out(ds, { overwrite: true }), []);
    assert.match(out(path.join(dir, 'no/such/parent/x')).join(), /parent folder does not exist/);
  });
});

describe('message protocol', () => {
  type A = { requests: { add: { req: { a: number; b: number }; res: number } }; events: { ping: { n: number } } };
  type B = { requests: { fail: { req: Record<string, never>; res: never } }; events: Record<string, never> };
  function pair() {
    const pings: number[] = [];
    // eslint-disable-next-line prefer-const
    let a: Endpoint<A, B>, b: Endpoint<B, A>;
    a = new Endpoint<A, B>((m) => void b.receive(structuredClone(m)), { requests: { fail: () => { throw new ReplyError('no', [{ field: 'coords', message: 'bad' }]); } }, events: {} });
    b = new Endpoint<B, A>((m) => void a.receive(structuredClone(m)), { requests: { add: ({ a: x, b: y }) => x + y }, events: { ping: ({ n }) => pings.push(n) } });
    return { a, b, pings };
  }

  test('requests get their reply; events arrive; errors carry their problems', async () => {
    const { a, b, pings } = pair();
    assert.equal(await a.request('add', { a: 2, b: 3 }), 5);
    a.emit('ping', { n: 7 });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(pings, [7]);
    await assert.rejects(b.request('fail', {}), (e: ReplyError) => e.message === 'no' && e.problems?.[0]?.field === 'coords');
  });

  test('unknown requests are refused, junk and prototype names are ignored', async () => {
    const posted: Envelope[] = [];
    const e = new Endpoint<B, A>((m) => posted.push(m), { requests: { add: () => 1 }, events: { ping: () => assert.fail('no') } });
    for (const junk of [null, 1, 'x', [], { kind: 'event' }, { kind: 'event', type: 'toString' }, { kind: 'request', id: 'x', type: 'add' }, { kind: 'reply', id: 99, ok: true }]) {
      await e.receive(junk);
    }
    await e.receive({ kind: 'request', id: 1, type: '__proto__', body: {} });
    await e.receive({ kind: 'request', id: 2, type: 'constructor', body: {} });
    assert.deepEqual(posted.map((p) => p.kind === 'reply' && !p.ok && p.error.message.startsWith('unknown request')), [true, true]);
  });

  test('dispose fails pending requests', async () => {
    const e = new Endpoint<A, B>(() => {}, { requests: { fail: () => 0 as never }, events: {} });
    const p = e.request('add', { a: 1, b: 1 });
    e.dispose('gone');
    await assert.rejects(p, /gone/);
  });
});

describe('the webview bundle', () => {
  test('has no eval or new Function (it runs under a CSP without unsafe-eval)', async () => {
    const { readFile } = await import('node:fs/promises');
    let js: string;
    try {
      js = await readFile(path.resolve(__dirname, '../dist/webview.js'), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // not built (npm test builds first)
      throw e;
    }
    assert.ok(js.length > 100_000, 'the bundle includes the UI elements');
    assert.doesNotMatch(js, /\beval\s*\(|new\s+Function\s*\(/);
  });
});
