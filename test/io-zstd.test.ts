// Our ZSTD wrapper (src/io/zstd.ts, the reference decoder in wasm) on frames the zstd CLI wrote (the
// bodies of test/fixtures/zstd.feather: no content size, with checksum), frames built by hand (content
// size recorded or not), and damaged, truncated and mis-sized input: an Error, never a hang.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { decompressZstd, decompressZstdFrames, initZstd } from '../src/io/zstd';

const MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** The ZSTD bodies of zstd.feather; apache-arrow's writer put each one's compressed length in the int64 before it. */
function featherBodies(): Uint8Array[] {
  const file = readFileSync(join(__dirname, 'fixtures', 'zstd.feather'));
  const out: Uint8Array[] = [];
  for (let i = 8; i + 4 <= file.length; i++) {
    if (MAGIC.every((b, k) => file[i + k] === b)) out.push(new Uint8Array(file.subarray(i, i + Number(file.readBigInt64LE(i - 8)))));
  }
  return out;
}

// Single segment, 1-byte content size 5, one last raw block of 5 bytes.
const WITH_SIZE = new Uint8Array([...MAGIC, 0x20, 5, 1 | (0 << 1) | (5 << 3), 0, 0, ...Buffer.from('hello')]);
// No content size, window descriptor byte, one last RLE block: 1000 × 'a'.
const RLE = 1 | (1 << 1) | (1000 << 3);
const NO_SIZE = new Uint8Array([...MAGIC, 0x00, 0x00, RLE & 0xff, (RLE >> 8) & 0xff, RLE >> 16, 0x61]);

describe('ZSTD decoder', () => {
  before(() => initZstd());
  const bodies = featherBodies();

  it('decodes the zstd CLI bodies of zstd.feather from their frames alone, and to a known size', () => {
    assert.equal(bodies.length, 5);
    const first = decompressZstdFrames(bodies[0]!);
    assert.equal(first.length, 8000);
    assert.deepEqual(decompressZstd(bodies[0]!, 8000), first);
    assert.throws(() => decompressZstd(bodies[0]!, 7999), /^Error: corrupt ZSTD data: the decoder refused it, 7999 expected$/);
  });

  it('decodes hand-built frames with and without a recorded content size', () => {
    assert.equal(Buffer.from(decompressZstd(WITH_SIZE, 5)).toString(), 'hello');
    assert.equal(Buffer.from(decompressZstdFrames(WITH_SIZE)).toString(), 'hello');
    assert.deepEqual(decompressZstdFrames(NO_SIZE), new Uint8Array(1000).fill(0x61));
    assert.deepEqual(decompressZstd(NO_SIZE, 1000), new Uint8Array(1000).fill(0x61));
    // two frames back to back
    assert.equal(Buffer.from(decompressZstdFrames(new Uint8Array([...WITH_SIZE, ...WITH_SIZE]))).toString(), 'hellohello');
  });

  it('refuses a size the frame headers contradict before decoding', () => {
    assert.throws(() => decompressZstd(WITH_SIZE, 6), /^Error: corrupt ZSTD data: the frames hold 5 bytes, 6 expected$/);
    assert.throws(() => decompressZstd(NO_SIZE, 2 ** 31 - 1), /^Error: corrupt ZSTD data: the blocks hold at most 1000 bytes, 2147483647 expected$/);
    assert.throws(() => decompressZstd(bodies[0]!, 10 ** 9), /^Error: corrupt ZSTD data: the blocks hold at most \d+ bytes, 1000000000 expected$/);
  });

  it('refuses damaged and truncated frames with an Error', () => {
    for (const body of bodies) {
      const flipped = new Uint8Array(body);
      flipped[body.length >> 1] ^= 0x10;
      assert.throws(() => decompressZstdFrames(flipped), /^Error: corrupt ZSTD data/);
      assert.throws(() => decompressZstdFrames(body.subarray(0, body.length - 7)), /^Error: corrupt ZSTD data/);
    }
    assert.throws(() => decompressZstdFrames(new Uint8Array([...MAGIC, 0x00, 0x00, 0x07, 0, 0])), /^Error: corrupt ZSTD data: reserved block type at byte 6$/);
    assert.throws(() => decompressZstdFrames(new Uint8Array([1, 2, 3, 4, 5])), /^Error: corrupt ZSTD data: no frame magic at byte 0$/);
  });
});
