// KL between diagonal Gaussians.

import {
  atanhTailF64x2, hsum, INVALID, lnRatioFromF64x2, MIN_NORMAL_F64, nearF64x2, putRow, ratioArgF64x2, REDO, twoAt, v64,
  V_ONE,
} from "./math";

// KL between diagonal Gaussians, per row Σ ½[(μ₁ − μ₂)²/σ₂² + (r − 1) − ln r], r = σ₁²/σ₂².
// With d = σ₁² − σ₂² and t = d/(σ₁² + σ₂²): (r − 1) − ln r = d²/((σ₁² + σ₂²)·σ₂²) −
// 2·(atanh t − t) near r = 1 (|t| ≤ 1/3: no cancellation), and (r − 1) − (k·ln2 + 2·atanh x)
// elsewhere (ln r from math.ts). Rows of means and variances at
// m1, v1, m2, v2 with their own row steps (0: one row broadcast); per row at out:
// [Σ, status] (index.ts) with INVALID for a variance ≤ 0 or a value not finite (the kernel
// goes on: the wrapper names the value) and REDO for subnormal variances.
export function gaussianRows(m1: usize, v1: usize, m2: usize, v2: usize, rows: i32, dim: i32,
  s1: i32, s2: i32, s3: i32, s4: i32, out: usize): void {
  const half = f64x2.splat(0.5), zero = f64x2.splat(0), inf = f64x2.splat(Infinity);
  for (let r = 0; r < rows; r++) {
    const a = m1 + ((<usize>r * <usize>s1) << 3), va = v1 + ((<usize>r * <usize>s2) << 3);
    const b = m2 + ((<usize>r * <usize>s3) << 3), vb = v2 + ((<usize>r * <usize>s4) << 3);
    let sum = f64x2.splat(0), lowest = inf, check = f64x2.splat(0);
    for (let i = 0; i < dim; i += 2) {
      // the odd last element is paired with σ² = 1, μ = 0 on both sides (a zero term)
      const x1 = twoAt(va, i, dim, 1), x2 = twoAt(vb, i, dim, 1), y1 = twoAt(a, i, dim, 0), y2 = twoAt(b, i, dim, 0);
      lowest = f64x2.pmin(lowest, f64x2.pmin(x1, x2));
      const dm = f64x2.sub(y1, y2);
      const d = f64x2.sub(x1, x2), s = f64x2.add(x1, x2);
      const inv2 = f64x2.div(v64(V_ONE), x2);
      const u = f64x2.mul(d, inv2); // r − 1
      const near = nearF64x2(d, s);
      const x = ratioArgF64x2(x1, x2, near); // t on near lanes
      const tail = atanhTailF64x2(x, f64x2.mul(x, x));
      const logR = lnRatioFromF64x2(x1, x2, near, f64x2.add(x, tail));
      const bracketNear = f64x2.sub(f64x2.div(f64x2.mul(d, u), s), f64x2.add(tail, tail));
      const bracket = v128.bitselect(bracketNear, f64x2.sub(u, logR), near);
      // dm·(dm·½/σ₂²): dm² itself overflows from |dm| ≈ 1.3e154 on, dm²/σ₂² where only its half fits
      const t = f64x2.add(f64x2.mul(dm, f64x2.mul(f64x2.mul(inv2, half), dm)), f64x2.mul(bracket, half));
      sum = f64x2.add(sum, t);
      // every input finite: their sum is (NaN or ±∞ otherwise)
      check = f64x2.add(check, f64x2.add(f64x2.add(x1, x2), f64x2.add(y1, y2)));
    }
    const low = Math.min(f64x2.extract_lane(lowest, 0), f64x2.extract_lane(lowest, 1));
    const c = hsum(check);
    let status = 0;
    if (!(low > 0) || c - c != 0) status = INVALID;
    else if (low < MIN_NORMAL_F64) status = REDO;
    putRow(out, r, hsum(sum), status);
  }
}
