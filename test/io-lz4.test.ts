// Our LZ4 frame decoder (Arrow IPC LZ4_FRAME bodies) against frames made by the lz4 CLI with every
// frame option, plus corrupt and truncated input.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decompressLz4Frames } from '../src/io/lz4';
import { lz4FixtureData } from './io-fixtures';

const dir = join(__dirname, 'fixtures', 'lz4');
const frame = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
const { text, noise } = lz4FixtureData();

describe('LZ4 frame decoder', () => {
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.lz4'))) {
    it(`decodes ${name}`, () => {
      const expected = name === 'stored-block.lz4' ? noise : text;
      assert.deepEqual(decompressLz4Frames(frame(name)), expected);
    });
  }

  it('decodes concatenated frames and skips skippable frames', () => {
    const skippable = new Uint8Array([0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const a = frame('default.lz4');
    const b = frame('content-size.lz4');
    const joined = new Uint8Array([...a, ...skippable, ...b]);
    const out = decompressLz4Frames(joined);
    assert.equal(out.length, text.length * 2);
    assert.deepEqual(out.subarray(0, text.length), text);
    assert.deepEqual(out.subarray(text.length), text);
  });

  it('throws on truncated or corrupt frames instead of returning wrong bytes', () => {
    const f = frame('dependent-blocks.lz4');
    for (const cut of [3, 6, 20, f.length >> 1, f.length - 1]) {
      assert.throws(() => decompressLz4Frames(f.subarray(0, cut)), /corrupt LZ4 data/, `cut at ${cut}`);
    }
    const badMagic = f.slice();
    badMagic[0] ^= 0xff;
    assert.throws(() => decompressLz4Frames(badMagic), /bad frame magic/);
    const badSize = frame('content-size.lz4');
    badSize[6] ^= 0x01; // content size in the header no longer matches
    assert.throws(() => decompressLz4Frames(badSize), /corrupt LZ4 data/);
  });
});
