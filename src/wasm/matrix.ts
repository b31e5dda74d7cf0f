// Marshalling for the row-block product kernel (assembly/matrix.ts): G = X·Yᵀ for two
// row-major f64 matrices, streamed in tiles through the kernel's fixed scratch area (no
// memory growth). Numerics live in src/engine/matrix.ts; this only moves blocks.
import type { Kernel } from "../wasm.js";

type DotRows = (a: number, aRows: number, b: number, bRows: number, dim: number, out: number, outStride: number, h: number, c: number, rel: number) => number;

/** Three equal parts of the scratch area: a block of X rows (and their (h, d) pairs), a block of Y rows, the tile of results. */
const PARTS = 3;

/**
 * What the kernel makes of each dot product g: with `h` (two doubles per X row: hᵢ, dᵢ),
 * hᵢ − g, or NaN where c·|g| + dᵢ > rel·|hᵢ − g| (see assembly/matrix.ts); without, g.
 */
export interface Epilogue {
  h: Float64Array;
  c: number;
  rel: number;
}

/**
 * Calls `tile(i0, j0, rowsX, rowsY, g, stride, marked)` for every tile of G = X·Yᵀ
 * (x: m × dim, y: n × dim), with g[(i − i0)·stride + (j − j0)] the kernel's value of
 * Σₖ x[i·dim + k]·y[j·dim + k] and `marked` the number of NaN it wrote; `done(i0, rowsX)`
 * follows the last tile of each block of X rows (and may use the scratch area: X is copied
 * again for the next block). False where a row does not fit a part of the scratch area
 * (the caller keeps its per-pair path).
 */
export function productTiles(
  kernel: Kernel, x: Float64Array, m: number, y: Float64Array, n: number, dim: number, epilogue: Epilogue | null,
  tile: (i0: number, j0: number, rowsX: number, rowsY: number, g: Float64Array, stride: number, marked: number) => void,
  done: (i0: number, rowsX: number) => void,
): boolean {
  const { exports, at, bytes } = kernel.area;
  const dot = exports.dotRowsF64 as DotRows | undefined;
  const part = Math.floor(bytes / PARTS / 64) * 64;
  const partF64 = part / 8;
  // rows per block, a multiple of 4 (the kernel's register block): X rows and their (h, d)
  // fit a part, and so does the tile of results
  const block = Math.min(Math.floor(partF64 / (dim + 2)), Math.floor(Math.sqrt(partF64))) & ~3;
  if (dot === undefined || block < 4) return false;
  const buffer = exports.memory.buffer;
  const xAt = at, yAt = at + part, gAt = at + 2 * part;
  const mem = new Float64Array(buffer);
  const g = new Float64Array(buffer, gAt, block * block);
  for (let i0 = 0; i0 < m; i0 += block) {
    const rowsX = Math.min(block, m - i0);
    mem.set(x.subarray(i0 * dim, (i0 + rowsX) * dim), xAt / 8);
    const hAt = xAt + rowsX * dim * 8;
    if (epilogue !== null) mem.set(epilogue.h.subarray(2 * i0, 2 * (i0 + rowsX)), hAt / 8);
    for (let j0 = 0; j0 < n; j0 += block) {
      const rowsY = Math.min(block, n - j0);
      mem.set(y.subarray(j0 * dim, (j0 + rowsY) * dim), yAt / 8);
      const marked = epilogue === null
        ? dot(xAt, rowsX, yAt, rowsY, dim, gAt, block, 0, 0, 0)
        : dot(xAt, rowsX, yAt, rowsY, dim, gAt, block, hAt, epilogue.c, epilogue.rel);
      tile(i0, j0, rowsX, rowsY, g, block, marked);
    }
    done(i0, rowsX);
  }
  return true;
}
