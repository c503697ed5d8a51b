// Compressed Morton code (volume.md) → grid cell, independent of the writer's encoder.

/** Bits per dimension: ceil(log2(G[d])), 0 when G[d] = 1. */
function bitsFor(gridShape: number[]): number[] {
  return gridShape.map((g) => (g <= 1 ? 0 : Math.ceil(Math.log2(g))));
}

/**
 * The cell whose compressed Morton code is `code` in a grid of `gridShape` (dimension 0 gives the
 * lowest bit), or undefined if the code has bits no cell uses or names a cell outside the grid.
 */
export function mortonDecode(code: bigint, gridShape: number[]): number[] | undefined {
  const bits = bitsFor(gridShape);
  const cell = new Array<number>(gridShape.length).fill(0);
  const maxBits = Math.max(0, ...bits);
  let j = 0n;
  for (let i = 0; i < maxBits; i++) {
    for (let d = 0; d < gridShape.length; d++) {
      if (i < bits[d]) {
        if ((code >> j) & 1n) cell[d] += 2 ** i;
        j++;
      }
    }
  }
  if (code >> j !== 0n) return undefined;
  return cell.every((c, d) => c < gridShape[d]) ? cell : undefined;
}
