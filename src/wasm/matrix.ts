// Marshalling for the row-block product kernels (assembly/matrix.ts): G = X·Yᵀ for two
// row-major matrices, f64 or (topK's shortlist) f32, streamed in tiles through the kernel's
// fixed matrix area (no memory growth after start-up). Numerics live in src/engine/matrix.ts
// and src/engine/matrix-topk.ts; this only moves blocks.
import { copyRows, type Kernel } from "../wasm.js";
import type { Vector } from "../engine/vector.js";

type DotRows = (a: number, aRows: number, b: number, bRows: number, dim: number, out: number, outStride: number, h: number, col: number, c: number, rel: number) => number;
type ShortlistRows = (a: number, aRows: number, b: number, bRows: number, dim: number, state: number, k: number, cap: number, column: number, c: number, tie: number) => void;

/**
 * What the kernel makes of each dot product g: with `h` (two doubles per X row: hᵢ, dᵢ) and
 * `col` (two per Y row: hⱼ, eⱼ), (hᵢ + hⱼ) − g, or NaN where c·|g| + dᵢ + eⱼ > rel·|value|
 * (see assembly/matrix.ts); without, g.
 */
export interface Epilogue {
  h: Float64Array;
  col: Float64Array;
  c: number;
  rel: number;
}

/**
 * topK's shortlist on the f32 kernel (dotRowsF32): per X row (hᵢ, dᵢ) in h; the kernel keeps
 * each row's products at or above its threshold, up to cap of them (assembly/matrix.ts).
 * Before `done`, `thresholds` receives each row's last threshold and `kept`, per row r of the
 * block from r·(cap + 1), the count of its kept columns (cap + 1: it overflowed), then the
 * columns.
 */
export interface Shortlist {
  h: Float64Array;
  k: number;
  cap: number;
  c: number;
  tie: number;
  thresholds: Float64Array;
  kept: Int32Array;
}

// Elements per lnRows call: the rows, their totals and the logarithms stay in L1/L2
const LN_ELEMENTS = 4096;

/**
 * ln(v/t) of every element of v's rows (`dim` each; row r's total totals[r], a positive normal
 * double) into out, on the kernel (assembly/matrix.ts lnRows, streamed through the matrix area):
 * 0 where an element is not a positive normal double. False where a row does not fit.
 */
export function lnRows(kernel: Kernel, v: Vector, dim: number, totals: Float64Array, out: Float64Array): boolean {
  const { wasm, at, bytes } = kernel.area, mem = new Float64Array(wasm.memory.buffer, at, bytes / 8);
  const per = Math.floor(Math.max(LN_ELEMENTS, dim + 1) / (dim + 1));
  if ((dim + 1) * 8 > bytes) return false;
  for (let r = 0; r < totals.length; r += per) {
    const n = Math.min(per, totals.length - r);
    copyRows(mem, 0, v, r * dim, n * dim);
    mem.set(totals.subarray(r, r + n), n * dim);
    (wasm.lnRows as (x: number, rows: number, dim: number, totals: number) => void)(at, n, dim, at + n * dim * 8);
    out.set(mem.subarray(0, n * dim), r * dim);
  }
  return true;
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
 * and the tile: a block of X rows against those Y rows. With a Shortlist (x and y f32) there
 * are no tiles: the kernel keeps each row's shortlist, read out before `done`. False where a
 * row does not fit (the caller takes another path).
 */
export function productTiles(
  kernel: Kernel, x: Float64Array | Float32Array, m: number, y: Float64Array | Float32Array, n: number, dim: number, epilogue: Epilogue | Shortlist | null,
  tile: (i0: number, j0: number, rowsX: number, rowsY: number, g: Float64Array, stride: number, marked: number) => void,
  done: (i0: number, rowsX: number) => void,
): boolean {
  const { wasm, at, bytes } = kernel.area;
  const list = epilogue !== null && "k" in epilogue ? epilogue : null, values = list ? null : (epilogue as Epilogue | null), width = list ? 4 : 8;
  const dot = wasm.dotRowsF64 as DotRows | undefined, shortlist = wasm.dotRowsF32 as ShortlistRows | undefined;
  // bytes per X row: the row, then its (h, d) or its shortlist state (assembly/matrix.ts stateBytes);
  // per Y row: the row, then its (h, e) where there is an epilogue
  const xBytes = dim * width + (list ? 32 + 8 * list.cap : 16), perRow = xBytes - dim * width;
  const yBytes = dim * width + (values !== null ? 16 : 0);
  // a block of X rows (a multiple of 4, the kernel's register block), then the Y rows that fit
  // beside it and its tile (8 bytes per pair; none for a Shortlist): all n where they do, else
  // as many as leave a square-ish tile
  let block = Math.min(64, Math.ceil(m / 4) * 4);
  while (block > 4 && block * xBytes > bytes / 4) block -= 4;
  const perY = yBytes + (list ? 0 : 8 * block), whole = block * xBytes + n * perY <= bytes;
  const rowsY = whole ? n : Math.floor((bytes - block * xBytes) / perY);
  if ((list ? shortlist : dot) === undefined || block * xBytes > bytes / 4 || rowsY < 4) return false;
  const buffer = wasm.memory.buffer;
  const xAt = at, hAt = xAt + block * dim * width, yAt = hAt + block * perRow, colAt = yAt + rowsY * dim * width;
  const gAt = colAt + (yBytes - dim * width) * rowsY;
  const mem = list ? new Float32Array(buffer) : new Float64Array(buffer), mem64 = new Float64Array(buffer), words = new Int32Array(buffer);
  const g = list ? new Float64Array(0) : new Float64Array(buffer, gAt, block * rowsY);
  const rowsOfY = (j0: number, count: number): void => {
    mem.set(y.subarray(j0 * dim, (j0 + count) * dim), yAt / width);
    if (values !== null) mem64.set(values.col.subarray(2 * j0, 2 * (j0 + count)), colAt / 8);
  };
  if (whole) rowsOfY(0, n);
  for (let i0 = 0; i0 < m; i0 += block) {
    const rowsX = Math.min(block, m - i0);
    mem.set(x.subarray(i0 * dim, (i0 + rowsX) * dim), xAt / width);
    if (values !== null) mem64.set(values.h.subarray(2 * i0, 2 * (i0 + rowsX)), hAt / 8);
    for (let r = 0; list && r < rowsX; r++) {
      // hᵢ, dᵢ, no threshold yet, nothing kept
      const state = (hAt + r * perRow) / 8;
      mem64[state] = list.h[2 * (i0 + r)];
      mem64[state + 1] = list.h[2 * (i0 + r) + 1];
      mem64[state + 2] = -Infinity;
      mem64[state + 3] = 0;
    }
    for (let j0 = 0; j0 < n; j0 += rowsY) {
      const count = Math.min(rowsY, n - j0);
      if (!whole) rowsOfY(j0, count);
      let marked = 0;
      for (let s = 0; s < count; s += SUB) {
        const b = yAt + s * dim * width, rows = Math.min(SUB, count - s);
        if (list) shortlist!(xAt, rowsX, b, rows, dim, hAt, list.k, list.cap, j0 + s, list.c, list.tie);
        else marked += values === null
          ? dot!(xAt, rowsX, b, rows, dim, gAt + s * 8, rowsY, 0, 0, 0, 0)
          : dot!(xAt, rowsX, b, rows, dim, gAt + s * 8, rowsY, hAt, colAt + s * 16, values.c, values.rel);
      }
      if (!list) tile(i0, j0, rowsX, count, g, rowsY, marked);
    }
    for (let r = 0; list && r < rowsX; r++) {
      const state = (hAt + r * perRow) / 8, count = words[2 * state + 6], at = r * (list.cap + 1);
      list.thresholds[i0 + r] = mem64[state + 2];
      list.kept[at] = count;
      for (let t = 0; t < Math.min(count, list.cap); t++) list.kept[at + 1 + t] = words[2 * state + 9 + 2 * t];
    }
    done(i0, rowsX);
  }
  return true;
}
