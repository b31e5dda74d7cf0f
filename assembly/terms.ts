// klTerms: the terms a·ln(a/b) of normalised rows, a = p/P, b = q/Q, one per element.

import { lnRatioF64x2, MIN_NORMAL_F64, nearF64x2, storeTwo, twoAt } from "./math";
import { INVALID, REDO } from "./index";
import { RESULTS } from "./math";
import { pairStatus, pairTotals } from "./pair";

// The terms a·ln(a/b) of n elements, a = p·ia, b = q·ib, into out: 0 where a = 0,
// +Infinity where b = 0 < a, and NaN where a and b agree to better than 1/1024 relative
// (there the rounding of p·ia and q·ib would show in the term) or are subnormal: those
// elements the wrapper redoes exactly, and the returned status says REDO when there is one.
export function klTermsRange(p: usize, q: usize, n: i32, ia: f64, ib: f64, out: usize): i32 {
  const va = f64x2.splat(ia), vb = f64x2.splat(ib), zero = f64x2.splat(0);
  let redo = zero;
  for (let i = 0; i < n; i += 2) {
    // the odd last element is paired with p = q = 0 (a zero term), not stored
    const rawP = twoAt(p, i, n, 0), rawQ = twoAt(q, i, n, 0);
    const a = f64x2.mul(rawP, va), b = f64x2.mul(rawQ, vb);
    const diff = f64x2.sub(a, b), total = f64x2.add(a, b);
    let t = f64x2.mul(a, lnRatioF64x2(a, b, nearF64x2(diff, total)));
    // too close to call here (1024·|a − b| < a + b), or subnormal a or b
    const minNormal = f64x2.splat(MIN_NORMAL_F64);
    const tooClose = f64x2.lt(f64x2.mul(f64x2.abs(diff), f64x2.splat(1024)), total);
    const inexact = v128.or(tooClose, v128.or(f64x2.lt(a, minNormal), f64x2.lt(b, minNormal)));
    // zeros by the inputs: a tiny input that flushed to 0 stays inexact
    const pZero = f64x2.eq(rawP, zero), qZero = f64x2.eq(rawQ, zero);
    redo = v128.or(redo, v128.andnot(inexact, v128.or(pZero, qZero)));
    t = v128.bitselect(f64x2.splat(NaN), t, inexact);
    t = v128.bitselect(zero, v128.bitselect(f64x2.splat(Infinity), t, qZero), pZero);
    storeTwo(out, i, n, t);
  }
  return v128.any_true(redo) ? REDO : 0;
}

// Per row: the totals, then the terms (see klTermsRange) into out + 8·r·dim; returns the OR
// of the status bits: INVALID stops; REDO marks NaN elements to redo (all of a row whose
// totals are out of range).
export function klTermsRows(p: usize, q: usize, rows: i32, dim: i32, pStep: i32, qStep: i32, out: usize): i32 {
  let all = 0;
  for (let r = 0; r < rows; r++) {
    const pr = p + ((<usize>r * <usize>pStep) << 3), qr = q + ((<usize>r * <usize>qStep) << 3);
    const o = out + ((<usize>r * <usize>dim) << 3);
    pairTotals(pr, qr, dim);
    const P = load<f64>(RESULTS), Q = load<f64>(RESULTS, 8);
    // subnormal probabilities are per element here (klTermsRange), not the row's concern
    const status = pairStatus(P, Q, load<f64>(RESULTS, 16), P, Q, -1);
    if (status & INVALID) return all | INVALID;
    if (status & REDO) {
      for (let i = 0; i < dim; i++) store<f64>(o + (<usize>i << 3), NaN);
      all |= REDO;
      continue;
    }
    all |= klTermsRange(pr, qr, dim, 1 / P, 1 / Q, o);
  }
  return all;
}
