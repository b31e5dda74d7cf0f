// Row-block dot products for pairwise and top-k through a matrix product (issue 10):
//     g[i][j] = Σₖ a[i·dim + k]·b[j·dim + k]
// for a block of rows of A (e.g. normalised p) against a block of rows of B (e.g. ln q), both
// row-major. Register-blocked 4 rows of A × 2 rows of B, one vector along k: 8 accumulators
// and 6 loads per step, which fits the 16 vector registers of x64 without spills. One body
// (dotRows<T>) for both widths:
//   f64 (dotRowsF64, f64x2): each lane sums ⌈dim/2⌉ products in order, then the two lanes
//       and the odd tail are added: |computed − exact| ≤ γ(dim/2 + 3)·Σ|aₖ·bₖ|
//       (src/engine/matrix.ts uses this bound; it holds whether maddF64x2 fuses a step's
//       product and sum or not);
//   f32 (dotRowsF32, f32x4, topK's shortlist, src/engine/matrix-topk.ts): each lane sums
//       ⌈dim/4⌉ products in order, the lanes are added in pairs, then the up to 3 tail
//       products: ≤ γ(dim/4 + 6)·Σ|aₖ·bₖ| in f32 arithmetic (u = 2⁻²⁴), plus 2⁻¹⁵⁰ per
//       product where it underflows.
// Rows past the end of a block are read as a copy of the block's first row, never stored.
//
// f64: out[i·outStride + j] = g; with h ≠ 0 the kernel also finishes each pair of a decomposed
// divergence (src/engine/matrix.ts): h holds (hᵢ, dᵢ) per row of A, the value is hᵢ − g and
// its error bound c·|g| + dᵢ (every product term has one sign, so Σ|aₖ·bₖ| = |g|); where the
// bound exceeds rel·|value| the pair is written as NaN, "redo exactly", and counted in the
// return value.
// f32: h holds per row of A its state (stateBytes(k) bytes: hᵢ, dᵢ, the threshold, as f64,
// then its k largest products so far, f32, descending); only the products g ≥ the row's
// threshold are written, as f32 pairs (i·bRows + j, g) from `out` on, and counted in the
// return value; each raises the row's k largest and, once there are k, its threshold
// (shortlistThreshold, with c and tie).

import { maddF64x2 } from "./math";

// c + x·y lane-wise: f64 through maddF64x2 (fused in the relaxed build), f32 unfused
// @ts-ignore: decorator
@inline function madd<T>(x: v128, y: v128, c: v128): v128 {
  if (sizeof<T>() == 8) return maddF64x2(x, y, c);
  return f32x4.add(c, f32x4.mul(x, y));
}

// @ts-ignore: decorator
@inline function lanes(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

// f32: the lane sums of a and b, (a₀ + a₂) + (a₁ + a₃) in lane 0 and b's in lane 2
// @ts-ignore: decorator
@inline function lanePairs(a: v128, b: v128): v128 {
  const t = f32x4.add(v128.shuffle<f64>(a, b, 0, 2), v128.shuffle<f64>(a, b, 1, 3));
  return f32x4.add(t, v128.shuffle<f32>(t, t, 1, 0, 3, 2));
}

let counted: i32 = 0;

// What becomes of the product g of the pair (i, j) (see above): f64, its value at o (NaN
// where the bound rules it out); f32 (outStride is k, rel is tie), listed where at or above
// the row's threshold.
// @ts-ignore: decorator
@inline function put<T>(g: T, i: i32, j: i32, o: usize, hi: usize, bRows: i32, out: usize, outStride: i32, h: usize, c: f64, rel: f64): void {
  if (sizeof<T>() == 4) {
    const state = h + <usize>i * stateBytes(outStride);
    if (<f64>g >= load<f64>(state, 16)) listPair(<f32>g, i * bRows + j, state, outStride, c, rel, out);
    return;
  }
  store<f64>(o, pairValue(<f64>g, hi, c, rel));
}

// One pair's value from its dot product g (f64, hi: the row's (hᵢ, dᵢ) or 0); NaN where the bound rules it out.
// @ts-ignore: decorator
@inline function pairValue(g: f64, hi: usize, c: f64, rel: f64): f64 {
  if (hi == 0) return g;
  const value = load<f64>(hi) - g;
  if (c * Math.abs(g) + load<f64>(hi, 8) <= rel * Math.abs(value)) return value;
  counted++;
  return NaN;
}

// Bytes of a row's shortlist state: hᵢ, dᵢ, threshold (f64), then k f32, 8-byte aligned
// (src/wasm/matrix.ts lays it out).
// @ts-ignore: decorator
@inline function stateBytes(k: i32): usize {
  return (24 + (<usize>k << 2) + 7) & ~7;
}

// A product at or above its row's threshold: listed, and into the row's k largest.
function listPair(g: f32, pair: i32, state: usize, k: i32, c: f64, tie: f64, list: usize): void {
  const at = list + (<usize>counted << 3);
  store<f32>(at, <f32>pair);
  store<f32>(at, g, 4);
  counted++;
  const best = state + 24;
  let t = <usize>(k - 1) << 2;
  if (!(g > load<f32>(best + t))) return;
  for (; t > 0 && load<f32>(best + t - 4) < g; t -= 4) store<f32>(best + t, load<f32>(best + t - 4));
  store<f32>(best + t, g);
  const gk = load<f32>(best + (<usize>(k - 1) << 2));
  if (gk != -Infinity) store<f64>(state, shortlistThreshold(load<f64>(state), c, load<f64>(state, 8), gk, tie), 16);
}

// The least product g whose lower bound h − g − c·|g| − d can be under the cap, the k-th
// smallest upper bound h − gₖ + c·|gₖ| + d widened by tie (a pair's value h − g and its
// bounds all fall as g grows, so the k-th largest g gives the k-th smallest upper bound):
// no candidate with a smaller g can be among the k best. Lowered by a few ulps for the
// rounding of this arithmetic.
function shortlistThreshold(h: f64, c: f64, d: f64, gk: f64, tie: f64): f64 {
  const upper = h - gk + c * Math.abs(gk) + d, cap = upper + tie * Math.abs(upper);
  // lower(g) = cap, lower falling with slope −(1 + c) for g ≥ 0 and −(1 − c) below
  const t = h - d - cap, g = t >= 0 ? t / (1 + c) : t / (1 - c);
  return g - 1e-15 * (Math.abs(g) + Math.abs(h) + Math.abs(cap)) - 1e-300;
}

// @ts-ignore: decorator
@inline function dotRows<T>(a: usize, aRows: i32, b: usize, bRows: i32, dim: i32, out: usize, outStride: i32, h: usize, c: f64, rel: f64): i32 {
  counted = 0;
  const width = <usize>sizeof<T>();
  const rowBytes = <usize>dim * width;
  const vectorBytes = rowBytes & ~15;
  for (let i = 0; i < aRows; i += 4) {
    const a0 = a + <usize>i * rowBytes;
    const a1 = i + 1 < aRows ? a0 + rowBytes : a0;
    const a2 = i + 2 < aRows ? a0 + 2 * rowBytes : a0;
    const a3 = i + 3 < aRows ? a0 + 3 * rowBytes : a0;
    for (let j = 0; j < bRows; j += 2) {
      const b0 = b + <usize>j * rowBytes;
      const b1 = j + 1 < bRows ? b0 + rowBytes : b0;
      let c00 = v128.splat<T>(0), c01 = v128.splat<T>(0), c10 = v128.splat<T>(0), c11 = v128.splat<T>(0);
      let c20 = v128.splat<T>(0), c21 = v128.splat<T>(0), c30 = v128.splat<T>(0), c31 = v128.splat<T>(0);
      for (let k: usize = 0; k < vectorBytes; k += 16) {
        const y0 = v128.load(b0 + k), y1 = v128.load(b1 + k);
        const x0 = v128.load(a0 + k), x1 = v128.load(a1 + k);
        c00 = madd<T>(x0, y0, c00);
        c01 = madd<T>(x0, y1, c01);
        c10 = madd<T>(x1, y0, c10);
        c11 = madd<T>(x1, y1, c11);
        const x2 = v128.load(a2 + k), x3 = v128.load(a3 + k);
        c20 = madd<T>(x2, y0, c20);
        c21 = madd<T>(x2, y1, c21);
        c30 = madd<T>(x3, y0, c30);
        c31 = madd<T>(x3, y1, c31);
      }
      let s00: T, s01: T, s10: T, s11: T, s20: T, s21: T, s30: T, s31: T;
      if (sizeof<T>() == 4) {
        const r0 = lanePairs(c00, c01), r1 = lanePairs(c10, c11), r2 = lanePairs(c20, c21), r3 = lanePairs(c30, c31);
        s00 = <T>f32x4.extract_lane(r0, 0); s01 = <T>f32x4.extract_lane(r0, 2);
        s10 = <T>f32x4.extract_lane(r1, 0); s11 = <T>f32x4.extract_lane(r1, 2);
        s20 = <T>f32x4.extract_lane(r2, 0); s21 = <T>f32x4.extract_lane(r2, 2);
        s30 = <T>f32x4.extract_lane(r3, 0); s31 = <T>f32x4.extract_lane(r3, 2);
      } else {
        s00 = <T>lanes(c00); s01 = <T>lanes(c01); s10 = <T>lanes(c10); s11 = <T>lanes(c11);
        s20 = <T>lanes(c20); s21 = <T>lanes(c21); s30 = <T>lanes(c30); s31 = <T>lanes(c31);
      }
      for (let k = vectorBytes; k < rowBytes; k += width) {
        // the scalar tail: the elements after the last whole vector of each row
        const y0 = load<T>(b0 + k), y1 = load<T>(b1 + k);
        const x0 = load<T>(a0 + k), x1 = load<T>(a1 + k), x2 = load<T>(a2 + k), x3 = load<T>(a3 + k);
        s00 += x0 * y0; s01 += x0 * y1; s10 += x1 * y0; s11 += x1 * y1;
        s20 += x2 * y0; s21 += x2 * y1; s30 += x3 * y0; s31 += x3 * y1;
      }
      // f64: the block's row i, column j in out, and the rows' (hᵢ, dᵢ)
      const stride = <usize>outStride << 3, o = out + <usize>i * stride + (<usize>j << 3);
      const h0 = h == 0 ? 0 : h + (<usize>i << 4), h1 = h == 0 ? 0 : h0 + 16, h2 = h == 0 ? 0 : h0 + 32, h3 = h == 0 ? 0 : h0 + 48;
      const two = j + 1 < bRows;
      put<T>(s00, i, j, o, h0, bRows, out, outStride, h, c, rel);
      if (two) put<T>(s01, i, j + 1, o + 8, h0, bRows, out, outStride, h, c, rel);
      if (i + 1 < aRows) {
        put<T>(s10, i + 1, j, o + stride, h1, bRows, out, outStride, h, c, rel);
        if (two) put<T>(s11, i + 1, j + 1, o + stride + 8, h1, bRows, out, outStride, h, c, rel);
      }
      if (i + 2 < aRows) {
        put<T>(s20, i + 2, j, o + 2 * stride, h2, bRows, out, outStride, h, c, rel);
        if (two) put<T>(s21, i + 2, j + 1, o + 2 * stride + 8, h2, bRows, out, outStride, h, c, rel);
      }
      if (i + 3 < aRows) {
        put<T>(s30, i + 3, j, o + 3 * stride, h3, bRows, out, outStride, h, c, rel);
        if (two) put<T>(s31, i + 3, j + 1, o + 3 * stride + 8, h3, bRows, out, outStride, h, c, rel);
      }
    }
  }
  return counted;
}

export function dotRowsF64(a: usize, aRows: i32, b: usize, bRows: i32, dim: i32, out: usize, outStride: i32, h: usize, c: f64, rel: f64): i32 {
  return dotRows<f64>(a, aRows, b, bRows, dim, out, outStride, h, c, rel);
}

export function dotRowsF32(a: usize, aRows: i32, b: usize, bRows: i32, dim: i32, state: usize, k: i32, c: f64, tie: f64, list: usize): i32 {
  return dotRows<f32>(a, aRows, b, bRows, dim, list, k, state, c, tie);
}
