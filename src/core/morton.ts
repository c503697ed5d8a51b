// Compressed Morton codes (neuroglancer's volume.md): the key of a spatial chunk. Bit i of every
// dimension d with 2^i < gridShape[d] is interleaved, lowest bits first, first dimension first.

/** Number of bits dimension d contributes: ceil(log2(gridShape[d])). */
export function mortonBits(gridShape: readonly number[]): number[] {
  return gridShape.map((g) => {
    let b = 0;
    while (2 ** b < g) b++;
    return b;
  });
}

/** Output bit positions each dimension's bits go to. */
function bitPositions(bits: readonly number[]): number[][] {
  const positions: number[][] = bits.map(() => []);
  const maxBits = Math.max(0, ...bits);
  let out = 0;
  for (let i = 0; i < maxBits; i++) {
    for (let d = 0; d < bits.length; d++) {
      if (i < bits[d]) positions[d].push(out++);
    }
  }
  return positions;
}

/** Exact code for any grid, as a BigInt. */
export function mortonCodeBig(gridShape: readonly number[], cell: readonly number[]): bigint {
  const positions = bitPositions(mortonBits(gridShape));
  let code = 0n;
  for (let d = 0; d < cell.length; d++) {
    const c = BigInt(cell[d]);
    positions[d].forEach((pos, i) => {
      if ((c >> BigInt(i)) & 1n) code |= 1n << BigInt(pos);
    });
  }
  return code;
}

/**
 * Fast encoder for one grid whose codes fit in 53 bits (every grid of a normal spatial index):
 * a per-dimension table of each coordinate's spread bits, summed.
 */
export class MortonEncoder {
  readonly totalBits: number;
  /** Per dimension: each coordinate's spread bits; a cell's code is the sum over dimensions. */
  readonly tables: Float64Array[];
  constructor(readonly gridShape: readonly number[]) {
    const bits = mortonBits(gridShape);
    this.totalBits = bits.reduce((a, b) => a + b, 0);
    if (this.totalBits > 53) throw new RangeError(`grid ${gridShape.join('x')} needs ${this.totalBits}-bit keys`);
    const positions = bitPositions(bits);
    this.tables = gridShape.map((g, d) => {
      const t = new Float64Array(g);
      for (let c = 0; c < g; c++) {
        let v = 0;
        for (let i = 0; i < positions[d].length; i++) if (Math.floor(c / 2 ** i) % 2 === 1) v += 2 ** positions[d][i];
        t[c] = v;
      }
      return t;
    });
  }
  static fits(gridShape: readonly number[]): boolean {
    const bits = mortonBits(gridShape).reduce((a, b) => a + b, 0);
    return bits <= 53 && gridShape.every((g) => g <= 1 << 24);
  }
  encode(cell: ArrayLike<number>): number {
    let v = 0;
    for (let d = 0; d < this.tables.length; d++) v += this.tables[d][cell[d]];
    return v;
  }
}

/** Inverse of the compressed Morton code: the cell coordinates of `code` in a grid. */
export function mortonDecode(gridShape: readonly number[], code: number): number[] {
  const bits = mortonBits(gridShape);
  const positions = bitPositions(bits);
  return gridShape.map((_, d) => {
    let c = 0;
    positions[d].forEach((pos, i) => {
      if (Math.floor(code / 2 ** pos) % 2 === 1) c += 2 ** i;
    });
    return c;
  });
}
