// Row-block dot products for pairwise and top-k through a matrix product (issue 10):
//     out[i·outStride + j] = Σₖ a[i·dim + k]·b[j·dim + k]
// for a block of rows of A (e.g. normalised p) against a block of rows of B (e.g. ln q), both
// row-major. Register-blocked 4 rows of A × 2 rows of B, f64x2 along k: 8 accumulators and
// 6 loads per step, which fits the 16 vector registers of x64 without spills.
// Error: each lane sums ⌈dim/2⌉ products in order, then the two lanes and the odd tail are
// added, so |computed − exact| ≤ γ(dim/2 + 3)·Σ|aₖ·bₖ| (src/engine/matrix.ts uses this bound;
// it holds whether maddF64x2 fuses a step's product and sum or not).
// Rows past the end of a block are read as a copy of the block's first row, never stored.
//
// With h ≠ 0 the kernel also finishes each pair of a decomposed divergence (src/engine/matrix.ts):
// h holds (hᵢ, dᵢ) per row of A, the value is hᵢ − g and its error bound c·|g| + dᵢ (every
// product term has one sign, so Σ|aₖ·bₖ| = |g|); where the bound exceeds rel·|value| the
// pair is written as NaN, "redo exactly", and counted in the return value.

import { maddF64x2 } from "./math";

@inline function lanes(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

// One pair's value from its dot product g (see above); NaN where the bound rules it out.
@inline function pairValue(g: f64, h: usize, c: f64, rel: f64): f64 {
  if (h == 0) return g;
  const value = load<f64>(h) - g;
  if (c * Math.abs(g) + load<f64>(h, 8) <= rel * Math.abs(value)) return value;
  redone++;
  return NaN;
}

let redone: i32 = 0;

export function dotRowsF64(a: usize, aRows: i32, b: usize, bRows: i32, dim: i32, out: usize, outStride: i32, h: usize, c: f64, rel: f64): i32 {
  redone = 0;
  const rowBytes = <usize>dim << 3;
  const pairBytes = <usize>(dim & ~1) << 3;
  const odd = (dim & 1) != 0;
  const stride = <usize>outStride << 3;
  for (let i = 0; i < aRows; i += 4) {
    const a0 = a + <usize>i * rowBytes;
    const a1 = i + 1 < aRows ? a0 + rowBytes : a0;
    const a2 = i + 2 < aRows ? a0 + 2 * rowBytes : a0;
    const a3 = i + 3 < aRows ? a0 + 3 * rowBytes : a0;
    for (let j = 0; j < bRows; j += 2) {
      const b0 = b + <usize>j * rowBytes;
      const b1 = j + 1 < bRows ? b0 + rowBytes : b0;
      let c00 = f64x2.splat(0), c01 = f64x2.splat(0), c10 = f64x2.splat(0), c11 = f64x2.splat(0);
      let c20 = f64x2.splat(0), c21 = f64x2.splat(0), c30 = f64x2.splat(0), c31 = f64x2.splat(0);
      for (let k: usize = 0; k < pairBytes; k += 16) {
        const y0 = v128.load(b0 + k), y1 = v128.load(b1 + k);
        const x0 = v128.load(a0 + k), x1 = v128.load(a1 + k);
        c00 = maddF64x2(x0, y0, c00);
        c01 = maddF64x2(x0, y1, c01);
        c10 = maddF64x2(x1, y0, c10);
        c11 = maddF64x2(x1, y1, c11);
        const x2 = v128.load(a2 + k), x3 = v128.load(a3 + k);
        c20 = maddF64x2(x2, y0, c20);
        c21 = maddF64x2(x2, y1, c21);
        c30 = maddF64x2(x3, y0, c30);
        c31 = maddF64x2(x3, y1, c31);
      }
      const h0 = h == 0 ? 0 : h + (<usize>i << 4), h1 = h == 0 ? 0 : h0 + 16, h2 = h == 0 ? 0 : h0 + 32, h3 = h == 0 ? 0 : h0 + 48;
      let s00 = lanes(c00), s01 = lanes(c01), s10 = lanes(c10), s11 = lanes(c11);
      let s20 = lanes(c20), s21 = lanes(c21), s30 = lanes(c30), s31 = lanes(c31);
      if (odd) {
        // the scalar tail: the last element of each row
        const y0 = load<f64>(b0 + pairBytes), y1 = load<f64>(b1 + pairBytes);
        const x0 = load<f64>(a0 + pairBytes), x1 = load<f64>(a1 + pairBytes);
        const x2 = load<f64>(a2 + pairBytes), x3 = load<f64>(a3 + pairBytes);
        s00 += x0 * y0; s01 += x0 * y1; s10 += x1 * y0; s11 += x1 * y1;
        s20 += x2 * y0; s21 += x2 * y1; s30 += x3 * y0; s31 += x3 * y1;
      }
      const o = out + <usize>i * stride + (<usize>j << 3);
      const two = j + 1 < bRows;
      store<f64>(o, pairValue(s00, h0, c, rel));
      if (two) store<f64>(o, pairValue(s01, h0, c, rel), 8);
      if (i + 1 < aRows) {
        store<f64>(o + stride, pairValue(s10, h1, c, rel));
        if (two) store<f64>(o + stride, pairValue(s11, h1, c, rel), 8);
      }
      if (i + 2 < aRows) {
        store<f64>(o + 2 * stride, pairValue(s20, h2, c, rel));
        if (two) store<f64>(o + 2 * stride, pairValue(s21, h2, c, rel), 8);
      }
      if (i + 3 < aRows) {
        store<f64>(o + 3 * stride, pairValue(s30, h3, c, rel));
        if (two) store<f64>(o + 3 * stride, pairValue(s31, h3, c, rel), 8);
      }
    }
  }
  return redone;
}
