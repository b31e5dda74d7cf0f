// Marshalling for the row-block product kernel (assembly/matrix.ts): G = X·Yᵀ for two
// row-major f64 matrices, streamed in tiles through the kernel's fixed matrix area (no
// memory growth after start-up). Numerics live in src/engine/matrix.ts; this only moves blocks.
import type { Kernel } from "../wasm.js";

type DotRows = (a: number, aRows: number, b: number, bRows: number, dim: number, out: number, outStride: number, h: number, c: number, rel: number) => number;

/**
 * What the kernel makes of each dot product g: with `h` (two doubles per X row: hᵢ, dᵢ),
 * hᵢ − g, or NaN where c·|g| + dᵢ > rel·|hᵢ − g| (see assembly/matrix.ts); without, g.
 */
export interface Epilogue {
  h: Float64Array;
  c: number;
  rel: number;
}

/** Rows of B per kernel call: a sub-block that stays in L1 while a block of A rows passes it. */
const SUB = 64;

/**
 * Calls `tile(i0, j0, rowsX, rowsY, g, stride, marked)` for every tile of G = X·Yᵀ
 * (x: m × dim, y: n × dim), with g[(i − i0)·stride + (j − j0)] the kernel's value of
 * Σₖ x[i·dim + k]·y[j·dim + k] and `marked` the number of NaN it wrote; `done(i0, rowsX)`
 * follows the last tile of each block of X rows (and may use the kernel's other scratch).
 * The kernel's matrix area (fixed, apart from the streaming scratch) holds a block of X rows
 * with their (h, d), as many Y rows as fit (all of them where they fit: copied once per call)
 * and the tile: a block of X rows against those Y rows. False where a row does not fit
 * (the caller keeps its per-pair path).
 */
export function productTiles(
  kernel: Kernel, x: Float64Array, m: number, y: Float64Array, n: number, dim: number, epilogue: Epilogue | null,
  tile: (i0: number, j0: number, rowsX: number, rowsY: number, g: Float64Array, stride: number, marked: number) => void,
  done: (i0: number, rowsX: number) => void,
): boolean {
  const { exports, at, bytes } = kernel.area;
  const dot = exports.dotRowsF64 as DotRows | undefined;
  const doubles = bytes / 8;
  // a block of X rows (a multiple of 4, the kernel's register block), then the Y rows that fit
  // beside it and its tile: all n where they do, else as many as leave a square-ish tile
  let block = Math.min(64, Math.ceil(m / 4) * 4);
  while (block > 4 && block * (dim + 2) > doubles / 4) block -= 4;
  const whole = block * (dim + 2) + n * (dim + block) <= doubles;
  const rowsY = whole ? n : Math.floor((doubles - block * (dim + 2)) / (dim + block));
  if (dot === undefined || block * (dim + 2) > doubles / 4 || rowsY < 4) return false;
  const buffer = exports.memory.buffer;
  const xAt = at, hAt = xAt + block * dim * 8, yAt = hAt + block * 16, gAt = yAt + rowsY * dim * 8;
  const mem = new Float64Array(buffer);
  const g = new Float64Array(buffer, gAt, block * rowsY);
  if (whole) mem.set(y.subarray(0, n * dim), yAt / 8);
  for (let i0 = 0; i0 < m; i0 += block) {
    const rowsX = Math.min(block, m - i0);
    mem.set(x.subarray(i0 * dim, (i0 + rowsX) * dim), xAt / 8);
    if (epilogue !== null) mem.set(epilogue.h.subarray(2 * i0, 2 * (i0 + rowsX)), hAt / 8);
    for (let j0 = 0; j0 < n; j0 += rowsY) {
      const count = Math.min(rowsY, n - j0);
      if (!whole) mem.set(y.subarray(j0 * dim, (j0 + count) * dim), yAt / 8);
      let marked = 0;
      for (let s = 0; s < count; s += SUB) {
        const b = yAt + s * dim * 8, rows = Math.min(SUB, count - s);
        marked += epilogue === null
          ? dot(xAt, rowsX, b, rows, dim, gAt + s * 8, rowsY, 0, 0, 0)
          : dot(xAt, rowsX, b, rows, dim, gAt + s * 8, rowsY, hAt, epilogue.c, epilogue.rel);
      }
      tile(i0, j0, rowsX, count, g, rowsY, marked);
    }
    done(i0, rowsX);
  }
  return true;
}
