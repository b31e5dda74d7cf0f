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
// divergence (src/engine/matrix.ts): h holds (hᵢ, dᵢ) per row of A and col (hⱼ, eⱼ) per row of
// B, the value is (hᵢ + hⱼ) − g and its error bound c·|g| + dᵢ + eⱼ (every product term has
// one sign, so Σ|aₖ·bₖ| = |g|); where the bound exceeds rel·|value| the pair is written as
// NaN, "redo exactly", and counted in the return value.
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

// The sums of a's lanes and of b's: f64, [Σa, Σb]; f32, (a₀ + a₂) + (a₁ + a₃) in lane 0 and
// b's in lane 2
// @ts-ignore: decorator
@inline function pairSums<T>(a: v128, b: v128): v128 {
  if (sizeof<T>() == 8) return f64x2.add(v128.shuffle<f64>(a, b, 0, 2), v128.shuffle<f64>(a, b, 1, 3));
  const t = f32x4.add(v128.shuffle<f64>(a, b, 0, 2), v128.shuffle<f64>(a, b, 1, 3));
  return f32x4.add(t, v128.shuffle<f32>(t, t, 1, 0, 3, 2));
}

// Row ar's two pair sums (pairSums of its accumulators) with the scalar tail added: the
// elements after the last whole vector, against rows b0 and b1 (in the lanes of pairSums).
// @ts-ignore: decorator
@inline function withTail<T>(g: v128, ar: usize, b0: usize, b1: usize, from: usize, to: usize): v128 {
  for (let k = from; k < to; k += sizeof<T>()) {
    if (sizeof<T>() == 8) {
      const y = f64x2.replace_lane(f64x2.splat(load<f64>(b0 + k)), 1, load<f64>(b1 + k));
      g = f64x2.add(g, f64x2.mul(f64x2.splat(load<f64>(ar + k)), y));
    } else {
      const y = f32x4.replace_lane(f32x4.splat(load<f32>(b0 + k)), 2, load<f32>(b1 + k));
      g = f32x4.add(g, f32x4.mul(f32x4.splat(load<f32>(ar + k)), y));
    }
  }
  return g;
}

let counted: i32 = 0;

// What becomes of the products g (pairSums' lanes) of row i against columns j and, where two,
// j + 1 (see above): f64, their values at o (NaN where the bound rules one out; hj, ej: the
// columns' (hⱼ, eⱼ) as vectors); f32 (outStride is k, rel is tie), listed where at or above
// the row's threshold.
// @ts-ignore: decorator
@inline function put<T>(g: v128, i: i32, j: i32, two: bool, o: usize, hj: v128, ej: v128, bRows: i32, out: usize, outStride: i32, h: usize, c: f64, rel: f64): void {
  const lanes = two ? 3 : 1;
  if (sizeof<T>() == 4) {
    const state = h + <usize>i * stateBytes(outStride);
    const wide = f64x2.promote_low_f32x4(v128.shuffle<f32>(g, g, 0, 2, 0, 2));
    const at = i64x2.bitmask(f64x2.ge(wide, f64x2.splat(load<f64>(state, 16)))) & lanes;
    if (at & 1) listPair(f32x4.extract_lane(g, 0), i * bRows + j, state, outStride, c, rel, out);
    if (at & 2) listPair(f32x4.extract_lane(g, 2), i * bRows + j + 1, state, outStride, c, rel, out);
    return;
  }
  let value = g;
  if (h != 0) {
    const hi = h + (<usize>i << 4);
    value = f64x2.sub(f64x2.add(f64x2.splat(load<f64>(hi)), hj), g);
    const bound = f64x2.add(f64x2.add(f64x2.mul(f64x2.splat(c), f64x2.abs(g)), f64x2.splat(load<f64>(hi, 8))), ej);
    const ok = f64x2.le(bound, f64x2.mul(f64x2.splat(rel), f64x2.abs(value)));
    counted += popcnt(~i64x2.bitmask(ok) & lanes);
    value = v128.bitselect(value, f64x2.splat(NaN), ok);
  }
  v128.store_lane<f64>(o, value, 0);
  if (two) v128.store_lane<f64>(o, value, 1, 8);
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
@inline function dotRows<T>(a: usize, aRows: i32, b: usize, bRows: i32, dim: i32, out: usize, outStride: i32, h: usize, col: usize, c: f64, rel: f64): i32 {
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
      // f64: row i, column j of out; the columns' (hⱼ, eⱼ) as [hⱼ, hⱼ₊₁], [eⱼ, eⱼ₊₁]
      const stride = <usize>outStride << 3, o = out + <usize>i * stride + (<usize>j << 3), two = j + 1 < bRows;
      let hj = f64x2.splat(0), ej = hj;
      if (sizeof<T>() == 8 && h != 0) {
        const colJ = v128.load(col + (<usize>j << 4)), colNext = two ? v128.load(col + (<usize>j << 4), 16) : colJ;
        hj = v128.shuffle<f64>(colJ, colNext, 0, 2);
        ej = v128.shuffle<f64>(colJ, colNext, 1, 3);
      }
      put<T>(withTail<T>(pairSums<T>(c00, c01), a0, b0, b1, vectorBytes, rowBytes), i, j, two, o, hj, ej, bRows, out, outStride, h, c, rel);
      if (i + 1 < aRows) put<T>(withTail<T>(pairSums<T>(c10, c11), a1, b0, b1, vectorBytes, rowBytes), i + 1, j, two, o + stride, hj, ej, bRows, out, outStride, h, c, rel);
      if (i + 2 < aRows) put<T>(withTail<T>(pairSums<T>(c20, c21), a2, b0, b1, vectorBytes, rowBytes), i + 2, j, two, o + 2 * stride, hj, ej, bRows, out, outStride, h, c, rel);
      if (i + 3 < aRows) put<T>(withTail<T>(pairSums<T>(c30, c31), a3, b0, b1, vectorBytes, rowBytes), i + 3, j, two, o + 3 * stride, hj, ej, bRows, out, outStride, h, c, rel);
    }
  }
  return counted;
}

export function dotRowsF64(a: usize, aRows: i32, b: usize, bRows: i32, dim: i32, out: usize, outStride: i32, h: usize, col: usize, c: f64, rel: f64): i32 {
  return dotRows<f64>(a, aRows, b, bRows, dim, out, outStride, h, col, c, rel);
}

export function dotRowsF32(a: usize, aRows: i32, b: usize, bRows: i32, dim: i32, state: usize, k: i32, c: f64, tie: f64, list: usize): i32 {
  return dotRows<f32>(a, aRows, b, bRows, dim, list, k, state, 0, c, tie);
}
