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
// f32: h holds per row of A its state (stateBytes(cap) bytes: hᵢ, dᵢ, the threshold, as f64,
// its count, i32, then up to cap kept pairs (g f32, column j i32), g descending); every
// product g ≥ the row's threshold is kept, and once k are kept the threshold rises to
// shortlistThreshold of the k-th (with c and tie) and the kept pairs under it are dropped:
// the kept pairs are the row's shortlist. A row with more than cap pairs at or above its
// threshold overflows: its count becomes cap + 1 and it keeps no more (its threshold +∞).

import { lnRatioF64x2, maddF64x2, MIN_NORMAL_F64, nearF64x2, storeTwo, twoAt } from "./math";

// c + x·y lane-wise: f64 through maddF64x2 (fused in the relaxed build), f32 unfused
// @ts-ignore: decorator
@inline function madd<T>(x: v128, y: v128, c: v128): v128 {
  if (sizeof<T>() == 8) return maddF64x2(x, y, c);
  return f32x4.add(c, f32x4.mul(x, y));
}

// f64: the sums of a's lanes and of b's, [Σa, Σb], with the scalar tail added: the elements
// after the last whole vector, row ar against rows b0 and b1
// @ts-ignore: decorator
@inline function pairSums(a: v128, b: v128, ar: usize, b0: usize, b1: usize, from: usize, to: usize): v128 {
  let g = f64x2.add(v128.shuffle<f64>(a, b, 0, 2), v128.shuffle<f64>(a, b, 1, 3));
  for (let k = from; k < to; k += 8) {
    const y = f64x2.replace_lane(f64x2.splat(load<f64>(b0 + k)), 1, load<f64>(b1 + k));
    g = f64x2.add(g, f64x2.mul(f64x2.splat(load<f64>(ar + k)), y));
  }
  return g;
}

let counted: i32 = 0;

// f64: the products g (pairSums' lanes) of row i against columns j and, where two, j + 1 (see
// above) become their values at o (NaN where the bound rules one out; hj, ej: the columns'
// (hⱼ, eⱼ) as vectors).
// @ts-ignore: decorator
@inline function put(g: v128, i: i32, two: bool, o: usize, hj: v128, ej: v128, h: usize, c: f64, rel: f64): void {
  const lanes = two ? 3 : 1;
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

// f32: the products of rows r and r + 1 against columns j and j + 1, lanes (r, j), (r, j + 1),
// (r + 1, j), (r + 1, j + 1): each accumulator's lanes summed as (a₀ + a₂) + (a₁ + a₃), then
// the tail products (rows ar, as against b0, b1) added.
// @ts-ignore: decorator
@inline function quadSums(r0: v128, r1: v128, s0: v128, s1: v128, ar: usize, as: usize, b0: usize, b1: usize, from: usize, to: usize): v128 {
  const t0 = f32x4.add(v128.shuffle<f64>(r0, r1, 0, 2), v128.shuffle<f64>(r0, r1, 1, 3));
  const t1 = f32x4.add(v128.shuffle<f64>(s0, s1, 0, 2), v128.shuffle<f64>(s0, s1, 1, 3));
  let g = f32x4.add(v128.shuffle<f32>(t0, t1, 0, 2, 4, 6), v128.shuffle<f32>(t0, t1, 1, 3, 5, 7));
  for (let k = from; k < to; k += 4) {
    const x = f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(load<f32>(ar + k)), 2, load<f32>(as + k)), 3, load<f32>(as + k));
    const y = f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(load<f32>(b0 + k)), 1, load<f32>(b1 + k)), 3, load<f32>(b1 + k));
    g = f32x4.add(g, f32x4.mul(x, y));
  }
  return g;
}

// f32: quadSums' pairs of rows r, r + 1 and columns j, j + 1, each of `valid` (a lane mask)
// kept where at or above its row's threshold (rounded to f32: for an f32 g, g ≥ it exactly
// where g ≥ the threshold, or a few more, which keep() drops as it would any pair under the
// threshold).
// @ts-ignore: decorator
@inline function keepQuad(g: v128, r: i32, j: i32, valid: i32, cap: i32, k: i32, h: usize, c: f64, tie: f64): void {
  const stateR = h + <usize>r * stateBytes(cap), stateS = stateR + stateBytes(cap);
  const limits = f32x4.demote_f64x2_zero(f64x2.replace_lane(f64x2.splat(load<f64>(stateR, 16)), 1, load<f64>(stateS, 16)));
  const at = i32x4.bitmask(f32x4.ge(g, v128.shuffle<f32>(limits, limits, 0, 0, 1, 1))) & valid;
  if (at == 0) return;
  if (at & 1) keep(f32x4.extract_lane(g, 0), j, stateR, k, cap, c, tie);
  if (at & 2) keep(f32x4.extract_lane(g, 1), j + 1, stateR, k, cap, c, tie);
  if (at & 4) keep(f32x4.extract_lane(g, 2), j, stateS, k, cap, c, tie);
  if (at & 8) keep(f32x4.extract_lane(g, 3), j + 1, stateS, k, cap, c, tie);
}

// Bytes of a row's shortlist state (src/wasm/matrix.ts lays it out).
// @ts-ignore: decorator
@inline function stateBytes(cap: i32): usize {
  return 32 + (<usize>cap << 3);
}

// A product g of column j at or above its row's threshold: into the row's kept pairs (after
// any equal g), then the threshold and the kept pairs under it (see above).
function keep(g: f32, j: i32, state: usize, k: i32, cap: i32, c: f64, tie: f64): void {
  let count = load<i32>(state, 24);
  const kept = state + 32;
  if (count >= cap) {
    // full (or full already: a pair of the same vector as the one that filled it)
    store<i32>(state, cap + 1, 24);
    store<f64>(state, Infinity, 16);
    return;
  }
  let at = kept + (<usize>count << 3);
  for (; at > kept && load<f32>(at - 8) < g; at -= 8) store<i64>(at, load<i64>(at - 8));
  store<f32>(at, g);
  store<i32>(at, j, 4);
  count++;
  if (count >= k) {
    const threshold = shortlistThreshold(load<f64>(state), c, load<f64>(state, 8), load<f32>(kept + (<usize>(k - 1) << 3)), tie);
    store<f64>(state, threshold, 16);
    while (count > k && <f64>load<f32>(kept + (<usize>(count - 1) << 3)) < threshold) count--;
  }
  store<i32>(state, count, 24);
}

// The least product g whose lower bound h − g − c·|g| − d can be under the cap, the k-th
// smallest upper bound h − gₖ + c·|gₖ| + d widened by tie (a pair's value h − g and its
// bounds all fall as g grows, so the k-th largest g gives the k-th smallest upper bound):
// no candidate with a smaller g can be among the k best; a little less than that least g,
// which is cheaper (no division), then lowered by a few ulps for the rounding of this arithmetic.
function shortlistThreshold(h: f64, c: f64, d: f64, gk: f64, tie: f64): f64 {
  const upper = h - gk + c * Math.abs(gk) + d, cap = upper + tie * Math.abs(upper);
  // lower(g) = cap, lower falling with slope −(1 + c) for g ≥ 0 and −(1 − c) below: g = t/(1 + c)
  // or t/(1 − c), both at least t − 2c·|t| (c < ½)
  const t = h - d - cap, g = t - 2 * c * Math.abs(t);
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
      if (sizeof<T>() == 4) {
        // rows i, i + 1, then i + 2, i + 3: four pairs per vector (a row past the block, or column j + 1 past bRows, masked off)
        // both row pairs' sums first: no accumulator is live across keep()'s calls
        const column = <i32>col + j, g01 = quadSums(c00, c01, c10, c11, a0, a1, b0, b1, vectorBytes, rowBytes);
        const g23 = quadSums(c20, c21, c30, c31, a2, a3, b0, b1, vectorBytes, rowBytes);
        keepQuad(g01, i, column, (two ? 3 : 1) * (i + 1 < aRows ? 5 : 1), <i32>out, outStride, h, c, rel);
        if (i + 2 < aRows) keepQuad(g23, i + 2, column, (two ? 3 : 1) * (i + 3 < aRows ? 5 : 1), <i32>out, outStride, h, c, rel);
        continue;
      }
      put(pairSums(c00, c01, a0, b0, b1, vectorBytes, rowBytes), i, two, o, hj, ej, h, c, rel);
      if (i + 1 < aRows) put(pairSums(c10, c11, a1, b0, b1, vectorBytes, rowBytes), i + 1, two, o + stride, hj, ej, h, c, rel);
      if (i + 2 < aRows) put(pairSums(c20, c21, a2, b0, b1, vectorBytes, rowBytes), i + 2, two, o + 2 * stride, hj, ej, h, c, rel);
      if (i + 3 < aRows) put(pairSums(c30, c31, a3, b0, b1, vectorBytes, rowBytes), i + 3, two, o + 3 * stride, hj, ej, h, c, rel);
    }
  }
  return counted;
}

export function dotRowsF64(a: usize, aRows: i32, b: usize, bRows: i32, dim: i32, out: usize, outStride: i32, h: usize, col: usize, c: f64, rel: f64): i32 {
  return dotRows<f64>(a, aRows, b, bRows, dim, out, outStride, h, col, c, rel);
}

// (the f32 body reads `out` as cap and `col` as the index of b's first row)
export function dotRowsF32(a: usize, aRows: i32, b: usize, bRows: i32, dim: i32, state: usize, k: i32, cap: i32, column: i32, c: f64, tie: f64): void {
  dotRows<f32>(a, aRows, b, bRows, dim, cap, k, state, column, c, tie);
}

// The row preparation's logarithms: ln(x/t) of each element of `rows` rows of `dim` doubles at
// x, in place, t the row's total (a positive normal double at totals + 8·r), through
// lnRatioF64x2 (x/t never formed, so neither rounded nor subnormal): within 8ε·|ln(x/t)|
// (src/engine/matrix.ts's bound). An element that is not a positive normal double becomes 0
// (the caller decides those: zeros, subnormals).
export function lnRows(x: usize, rows: i32, dim: i32, totals: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = x + ((<usize>r * <usize>dim) << 3), total = load<f64>(totals + (<usize>r << 3)), t = f64x2.splat(total);
    for (let j = 0; j < dim; j += 2) {
      const q = twoAt(row, j, dim, total);
      const ln = lnRatioF64x2(q, t, nearF64x2(f64x2.sub(q, t), f64x2.add(q, t)));
      storeTwo(row, j, dim, v128.and(ln, f64x2.ge(q, f64x2.splat(MIN_NORMAL_F64))));
    }
  }
}
