// The KL sums' scalar path (kl.ts): exact semantics for every input, one element at a time, with
// compensated sums; the SIMD path must agree with it. It takes the blocks the SIMD path cannot
// trust (zeros, subnormals, invalid values: reported through the return value), an f64 call's
// last n % 4 elements, and plainF64's Σ p·ln(p/q).

import { additionError, atanhTail, hsum, INVALID, logRatio, LOSSY, MIN_NORMAL_F64, Q_ZERO, RESULTS } from "./math";

// T(p, q) for finite p, q ≥ 0 (callers reject everything else)
function term(p: f64, q: f64): f64 {
  if (p == 0) return q;
  if (q == 0) return Infinity;
  const a = p + q;
  if (a == Infinity) return 2 * term(p * 0.5, q * 0.5); // halving is exact at this size
  const d = p - q;
  if (Math.abs(d) * 3 <= a) {
    const s = d / a;
    const u = s * s;
    return a * (u + (1 + s) * atanhTail(s, u));
  }
  return p * logRatio(p, q) - d;
}

// p·ln(p/q), the unnormalised sum's term: T + (p − q) near p = q, where that has no
// cancellation, and the direct product elsewhere, where T + (p − q) would have
// (T ≈ q ≫ p·|ln(p/q)| when q ≫ p).
function plainTerm(p: f64, q: f64): f64 {
  if (p == 0) return 0;
  if (q == 0) return Infinity;
  const d = p - q;
  if (Math.abs(d) * 3 <= p + q) return term(p, q) + d;
  return p * logRatio(p, q);
}


// the scalar path's sums, each with its Neumaier compensation (…Low): a block of zeros or
// subnormals comes here, and 4096 plain additions could reach 1e-13 of a divergence (of
// normalize: false, which src/exact/kl.ts plainFromT takes from Σ T + Σ (p − q)); Σ (p − q)
// is then Σp − Σq from these double-doubles (one rounding)
let sumT: f64 = 0, sumTLow: f64 = 0, sumP: f64 = 0, sumPLow: f64 = 0, sumQ: f64 = 0, sumQLow: f64 = 0;

// Adds elements [from, to) of type T (f32 or f64, widened) to the scalar sums (of
// plainTerm instead of term when `plain`); q is multiplied by `scale` first.
export function scalarRange<T>(p: usize, q: usize, from: i32, to: i32, scale: f64, plain: bool): i32 {
  let status = 0;
  for (let i = from; i < to; i++) {
    const pi = <f64>load<T>(p + (<usize>i << alignof<T>()));
    const qi = <f64>load<T>(q + (<usize>i << alignof<T>())) * scale;
    // !(x >= 0) also catches NaN; x == Infinity catches the rest
    if (!(pi >= 0) || !(qi >= 0) || pi == Infinity || qi == Infinity) return status | INVALID;
    if (pi > 0 && qi < MIN_NORMAL_F64 && scale != 1) status |= LOSSY;
    // the +Infinity term is reported, not summed, so an overflow stays distinguishable
    if (qi == 0 && pi > 0) status |= Q_ZERO;
    else {
      const x = plain ? plainTerm(pi, qi) : term(pi, qi), y = sumT + x;
      sumTLow += additionError(sumT, x, y);
      sumT = y;
    }
    let y = sumP + pi;
    sumPLow += additionError(sumP, pi, y);
    sumP = y;
    y = sumQ + qi;
    sumQLow += additionError(sumQ, qi, y);
    sumQ = y;
  }
  return status;
}

export function resetSums(): void {
  sumT = sumTLow = sumP = sumPLow = sumQ = sumQLow = 0;
}

// Stores scalar sums plus the lanes of the SIMD accumulators.
export function storeResults(t: v128, p: v128, q: v128, d: v128): void {
  // the lanes of t join sumT through compensated additions (plain sums can cancel)
  let hi = sumT, lo = sumTLow;
  for (let k = 0; k < 2; k++) {
    const x = k == 0 ? f64x2.extract_lane(t, 0) : f64x2.extract_lane(t, 1);
    const y = hi + x;
    lo += additionError(hi, x, y);
    hi = y;
  }
  store<f64>(RESULTS, hi);
  store<f64>(RESULTS, sumP + (sumPLow + hsum(p)), 8);
  store<f64>(RESULTS, sumQ + (sumQLow + hsum(q)), 16);
  store<f64>(RESULTS, sumP - sumQ + (sumPLow - sumQLow + hsum(d)), 24);
  store<f64>(RESULTS, lo, 32);
}
