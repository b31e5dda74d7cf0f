// Smoothing of probability rows, in place, ahead of the probability kernels (softmaxRows,
// the same for logits, is in logits.ts).

import { MIN_NORMAL_F64, REDO, storeTwo, twoAt } from "./math";

// Smoothing, in place on rows of `dim` contiguous probabilities (after softmaxRows for
// logits), before the probability kernels: a = x/Σx (when `normalize`, else x), then
// mode 0 clip to [ε, 1], 1 zeros → ε, 2 a + ε. Renormalising is left to the kernels, which
// divide by the totals anyway. Status per row at flags + 8·r (f64): REDO for a row with a
// negative, NaN or infinite value or, normalising, a total whose reciprocal overflows (0 or
// subnormal; zero-filled, so that the probability kernels go on: the exact path reports or
// computes it), 0 otherwise.
export function smoothRows(x: usize, rows: i32, dim: i32, mode: i32, eps: f64, normalize: bool, flags: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = x + ((<usize>r * <usize>dim) << 3);
    let total: f64 = 0, lowest: f64 = Infinity;
    for (let i = 0; i < dim; i++) {
      const v = load<f64>(row + (<usize>i << 3));
      total += v;
      lowest = Math.min(lowest, v);
    }
    // a total whose reciprocal overflows (0, or subnormal): the exact path normalises it
    if (!(lowest >= 0) || total - total != 0 || (normalize && !(1 / total < Infinity))) {
      memory.fill(row, 0, <usize>dim << 3);
      store<f64>(flags + (<usize>r << 3), REDO);
      continue;
    }
    const scale = f64x2.splat(normalize ? 1 / total : 1), e = f64x2.splat(eps), zero = f64x2.splat(0);
    let lost = zero;
    for (let i = 0; i < dim; i += 2) {
      const x = twoAt(row, i, dim, 0), a = f64x2.mul(x, scale);
      let s: v128;
      if (mode == 0) s = f64x2.min(f64x2.max(a, e), f64x2.splat(1));
      else if (mode == 1) {
        // zeros of the input only; a positive value whose probability is subnormal or flushes
        // to 0 stays itself, which the kernels cannot take: the row goes to the exact path
        s = v128.bitselect(e, a, f64x2.eq(x, zero));
        lost = v128.or(lost, v128.and(f64x2.gt(x, zero), f64x2.lt(a, f64x2.splat(MIN_NORMAL_F64))));
      } else s = f64x2.add(a, e);
      storeTwo(row, i, dim, s);
    }
    store<f64>(flags + (<usize>r << 3), v128.any_true(lost) ? REDO : 0);
  }
}

