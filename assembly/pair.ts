// The pair family: measures of two normalised rows a = p/P, b = q/Q, summed term by term.
//   0 total variation ½Σ|a − b|       1 Hellinger ½Σ(√a − √b)²      2 Jensen–Shannon
//   3 Jeffreys Σ(a − b)·ln(a/b) (PSI)  4 Rényi of order α (setParameter; see renyiRows)
// Measures 0–3 take two passes (pairTotals, then pairSums with 1/P, 1/Q); rounding p/P and
// q/Q moves each term by ~ε·|a − b|, so a row is trusted only while Σ|a − b| ≥ 2e-3 (REDO
// otherwise: the exact path decides rows that close). Rényi takes one pass over the raw
// values instead, and is accurate for rows as close as the inputs allow.

import {
  additionError, atanhTailF64x2, expCall, expm1F64x2, exponentOf, hsum, INVALID, ln, lnRatioF64x2, lnRatioFromF64x2, log1p,
  maddF64x2, mantissaOf, MIN_NORMAL_F64, nearF64x2, poly12F64x2, putRow, Q_ZERO, ratioArgF64x2, REDO, RESULTS, twoAt,
  twoSumError, v64, V_HALF, V_LN2, V_ONE, V_TWO,
} from "./math";

// One vector of a normalised pair: a, b ≥ 0 (a + b > 0 on live lanes; lanes with a = b = 0
// return 0); +Infinity for Jeffreys where exactly one of a, b is 0.
// @ts-ignore: decorator
@inline function pairTerm(measure: i32, a: v128, b: v128): v128 {
  const total = f64x2.add(a, b);
  const diff = f64x2.sub(a, b);
  const live = f64x2.gt(total, f64x2.splat(0));
  const oneZero = v128.or(f64x2.eq(a, f64x2.splat(0)), f64x2.eq(b, f64x2.splat(0)));
  if (measure == 0) return f64x2.mul(f64x2.abs(diff), v64(V_HALF));
  if (measure == 1) {
    // ½(√a − √b)² = ½(a − b)²/(√a + √b)²: no cancellation near a = b, nor where a ≫ b
    const h = f64x2.div(diff, f64x2.add(f64x2.sqrt(a), f64x2.sqrt(b))); // √a − √b
    return v128.and(f64x2.mul(f64x2.mul(h, h), v64(V_HALF)), live);
  }
  const near = nearF64x2(diff, total);
  if (measure == 3) {
    // (a − b)·ln(a/b): the product never cancels
    const t = v128.bitselect(f64x2.splat(Infinity), f64x2.mul(diff, lnRatioF64x2(a, b, near)), oneZero);
    return v128.and(t, live);
  }
  // Jensen–Shannon: ½·m·g(s), g(s) = (1+s)ln(1+s) + (1−s)ln(1−s) = s·ln(a/b) + ln(1 − s²).
  // Near (|s| ≤ 1/3): g/2 = s²(1−s²)/(2−s²) + s·(atanh(s) − s) − (atanh(x) − x) with
  // x = s²/(2 − s²), since ln(1 − s²) = −2·atanh(x): no cancellation at all.
  // Far: ln(a/b) through math.ts, ln(1 − s²) = ln((1 + s)(1 − s)) with both factors divided
  // out directly (one is tiny where |s| → 1).
  const x1 = ratioArgF64x2(a, b, near); // s on near lanes
  const u1 = f64x2.mul(x1, x1);
  const tail1 = atanhTailF64x2(x1, u1);
  // 1 ± s = 2a/(a + b), 2b/(a + b), each formed directly: where one is tiny, 2 − the other
  // would have lost it
  const inv = f64x2.div(v64(V_TWO), total);
  const ra = f64x2.mul(a, inv), rb = f64x2.mul(b, inv);
  const w = f64x2.mul(ra, rb);
  // one division for the second series argument: x = s²/(2 − s²) near, (m − 1)/(m + 1) of
  // w's mantissa far
  const mw = mantissaOf(w);
  const x2 = f64x2.div(
    v128.bitselect(u1, f64x2.sub(mw, v64(V_ONE)), near),
    v128.bitselect(f64x2.sub(v64(V_TWO), u1), f64x2.add(mw, v64(V_ONE)), near),
  );
  const tail2 = atanhTailF64x2(x2, f64x2.mul(x2, x2));
  const m = f64x2.mul(total, v64(V_HALF));
  // s²(1 − s²)/(2 − s²) = (1 − s²)·x on near lanes
  const gNear = f64x2.sub(maddF64x2(x1, tail1, f64x2.mul(f64x2.sub(v64(V_ONE), u1), x2)), tail2);
  const y2 = f64x2.add(x2, tail2);
  const logAB = lnRatioFromF64x2(a, b, near, f64x2.add(x1, tail1));
  const logW = maddF64x2(exponentOf(w), v64(V_LN2), f64x2.add(y2, y2));
  const s = v128.bitselect(f64x2.sub(v64(V_ONE), rb), f64x2.sub(ra, v64(V_ONE)), f64x2.le(rb, ra));
  const gFar = f64x2.mul(maddF64x2(s, logAB, logW), v64(V_HALF));
  // one side 0: the term is m·ln 2; both 0: nothing
  const t = f64x2.mul(m, v128.bitselect(gNear, gFar, near));
  return v128.and(v128.bitselect(f64x2.mul(m, v64(V_LN2)), t, oneZero), live);
}

// Pass 1 over n doubles, into RESULTS: [Σ p, Σ q, the smallest element, the smallest
// non-zero p, the smallest non-zero q] (scaled by 1/P and 1/Q those must stay normal).
export function pairTotals(p: usize, q: usize, n: i32): void {
  let sp = f64x2.splat(0), sq = sp, lo = f64x2.splat(Infinity), lp = lo, lq = lo;
  const inf = lo, zero = sp;
  for (let i = 0; i < n; i += 2) {
    // the odd last element is paired with 0 (adds nothing; not in lp, lq; harmless in lo)
    const a = twoAt(p, i, n, 0), b = twoAt(q, i, n, 0);
    sp = f64x2.add(sp, a);
    sq = f64x2.add(sq, b);
    lo = f64x2.pmin(lo, f64x2.pmin(a, b));
    lp = f64x2.pmin(lp, v128.bitselect(inf, a, f64x2.eq(a, zero)));
    lq = f64x2.pmin(lq, v128.bitselect(inf, b, f64x2.eq(b, zero)));
  }
  store<f64>(RESULTS, hsum(sp));
  store<f64>(RESULTS, hsum(sq), 8);
  store<f64>(RESULTS, Math.min(f64x2.extract_lane(lo, 0), f64x2.extract_lane(lo, 1)), 16);
  store<f64>(RESULTS, Math.min(f64x2.extract_lane(lp, 0), f64x2.extract_lane(lp, 1)), 24);
  store<f64>(RESULTS, Math.min(f64x2.extract_lane(lq, 0), f64x2.extract_lane(lq, 1)), 32);
}

// Σ pairTerm(p·ia, q·ib) and Σ |p·ia − q·ib| over n doubles into RESULTS[0..1] (pass 2 of a
// pair, once the totals are known).
// @ts-ignore: decorator
@inline function pairSumsAt(measure: i32, p: usize, q: usize, n: i32, ia: f64, ib: f64): void {
  const va = f64x2.splat(ia), vb = f64x2.splat(ib);
  let sum = f64x2.splat(0), tv = sum;
  for (let i = 0; i < n; i += 2) {
    const a = f64x2.mul(twoAt(p, i, n, 0), va), b = f64x2.mul(twoAt(q, i, n, 0), vb);
    sum = f64x2.add(sum, pairTerm(measure, a, b));
    tv = f64x2.add(tv, f64x2.abs(f64x2.sub(a, b)));
  }
  store<f64>(RESULTS, hsum(sum));
  store<f64>(RESULTS, hsum(tv), 8);
}

// One loop per measure, so the measure is a constant inside it.
export function pairSums(measure: i32, p: usize, q: usize, n: i32, ia: f64, ib: f64): void {
  if (measure == 0) pairSumsAt(0, p, q, n, ia, ib);
  else if (measure == 1) pairSumsAt(1, p, q, n, ia, ib);
  else if (measure == 2) pairSumsAt(2, p, q, n, ia, ib);
  else pairSumsAt(3, p, q, n, ia, ib);
}

// The status of a pair row from its totals pass (RESULTS, as pairTotals leaves them) or, with
// `tv` ≥ 0, from the Σ|a − b| of its sums pass: INVALID for a negative or NaN value; REDO for
// totals whose reciprocals leave the range (also an infinite total: an infinite value, or
// finite values past the double range, which the exact path tells apart), probabilities below
// the normal range, or rows too close for the rounding of a and b not to show. Also for the
// wrapper's long rows.
export function pairStatus(P: f64, Q: f64, lowest: f64, leastP: f64, leastQ: f64, tv: f64): i32 {
  if (!(lowest >= 0) || P != P || Q != Q) return INVALID;
  if (!(P >= 1e-290 && P <= 1e290 && Q >= 1e-290 && Q <= 1e290)) return REDO;
  if (leastP / P < MIN_NORMAL_F64 * 2 || leastQ / Q < MIN_NORMAL_F64 * 2) return REDO;
  return tv >= 0 && !(tv >= 2e-3) ? REDO : 0;
}

// pairTotals, then the status pairStatus gives those totals (they stay in RESULTS)
function totalsStatus(p: usize, q: usize, n: i32): i32 {
  pairTotals(p, q, n);
  return pairStatus(load<f64>(RESULTS), load<f64>(RESULTS, 8), load<f64>(RESULTS, 16), load<f64>(RESULTS, 24), load<f64>(RESULTS, 32), -1);
}

// Per row [value, status] (index.ts) of measure 0–3 (Σ of the terms; REDO rows unspecified)
// or 4 (Rényi, see renyiRows); returns the OR of the status bits, stopping at an invalid row.
export function pairRows(measure: i32, p: usize, q: usize, rows: i32, dim: i32, pStep: i32, qStep: i32, out: usize): i32 {
  if (measure == 4) return renyiRows(p, q, rows, dim, pStep, qStep, out);
  let all = 0;
  for (let r = 0; r < rows; r++) {
    const pr = p + ((<usize>r * <usize>pStep) << 3), qr = q + ((<usize>r * <usize>qStep) << 3);
    let status = totalsStatus(pr, qr, dim);
    const P = load<f64>(RESULTS), Q = load<f64>(RESULTS, 8);
    if (status == 0) {
      pairSums(measure, pr, qr, dim, 1 / P, 1 / Q);
      status = pairStatus(P, Q, 0, 1, 1, load<f64>(RESULTS, 8));
    }
    all |= putRow(out, r, load<f64>(RESULTS), status);
    if (status & INVALID) break;
  }
  return all;
}

// ---------------------------------------------------------------------------------------
// Rényi divergence D_α(P‖Q) = ln(Σ aᵅb¹⁻ᵅ)/(α − 1), α > 0, α ≠ 1.
//
// With c = 1 − α, the weighted AM–GM gap of one element,
//     e(x, y) = (xᵅy^c − αx − cy)/(−αc) = x·h(ln(y/x)),  h(L) = ((e^{cL} − 1) − c·(e^L − 1))/(−αc),
// is ≥ 0 for every α (h ≥ 0), so Σ e(pᵢ, qᵢ) never cancels. On the raw values (no rounded
// p/P, q/Q: near-identical rows keep their digits),
//     H = (Σ e(pᵢ, qᵢ) − e(P, Q)) / (Pᵅ Q^c) = (Σ aᵅb^c − 1)/(−αc),
// and the wrapper takes D = α·H·log1p(S)/S with S = −αc·H (the 1/(α − 1) cancelled). Where
// |L|·max(1, |c|) ≤ 1/4, h = Σ_{k≥2} G_k·L^k/k!, G_k = 1 + c + … + c^{k−2} (no cancellation as
// α → 1 either); beyond, e^x − 1 from math.ts (cancelling by at most ~16/min(α, 1)× at the
// border).
// Zeros: e(0, y) = y/α; e(x, 0) = x/c for α < 1, +Infinity for α > 1 (Q_ZERO).
// REDO: α outside [0.01, 1000], subnormal values, totals or sums that overflow, and rows
// where e(P, Q) cancels Σ e more than 16× (fewer for α < 0.1, see renyiCancel) or the
// rounding of P and Q could show at 1e-13.

// [α, c, 1/(−αc), max(1, |c|), 1/α, 1/c or +∞ (the term where q = 0), then 12 coefficients
// G_k/k!, k = 2..13] (splat on load, as math.ts's constants)
const RENYI: usize = memory.data(18 * 8, 16);
const R_ALPHA = 0, R_C = 1, R_INV_AC = 2, R_CMAX = 3, R_INV_ALPHA = 4, R_Q_ZERO = 5, R_SERIES = 6;
let renyiUsable = false;
// How far Σ e may cancel against e(P, Q): the direct form of h cancels up to ~16/α times
// near its border for α < 1, so the terms' error grows as 1/α; 16·min(1, 10α) keeps the
// result within ~2e-13 (measured worst over random pairs: 1.6e-13 at α = 0.1, 16×)
let renyiCancel: f64 = 16;

// @ts-ignore: decorator
@inline function rv(i: i32): v128 {
  return v128.load64_splat(RENYI + (<usize>i << 3));
}

// Sets α for the Rényi kernel (measure 4 of pairRows), until the next call.
export function setParameter(alpha: f64): void {
  const c = 1 - alpha;
  store<f64>(RENYI, alpha);
  store<f64>(RENYI, c, 8);
  store<f64>(RENYI, 1 / (-alpha * c), 16);
  store<f64>(RENYI, Math.max(1, Math.abs(c)), 24);
  store<f64>(RENYI, 1 / alpha, 32);
  store<f64>(RENYI, alpha < 1 ? 1 / c : Infinity, 40);
  let g: f64 = 1, factorial: f64 = 2;
  for (let k = 2; k < 14; k++) {
    store<f64>(RENYI + (<usize>(R_SERIES + k - 2) << 3), g / factorial);
    g = 1 + c * g; // each step adds same-signed or shrinking terms: no cancellation
    factorial *= k + 1;
  }
  renyiUsable = alpha >= 0.01 && alpha <= 1000 && alpha != 1;
  renyiCancel = 16 * Math.min(1, 10 * alpha);
}

// h(L) lane-wise (not inlined: the loop and e(P, Q) share one copy)
function renyiH(L: v128): v128 {
  const series = f64x2.mul(f64x2.mul(L, L), poly12F64x2(RENYI + (<usize>R_SERIES << 3), L));
  const direct = f64x2.mul(f64x2.sub(expm1F64x2(f64x2.mul(rv(R_C), L)), f64x2.mul(rv(R_C), expm1F64x2(L))), rv(R_INV_AC));
  return v128.bitselect(series, direct, f64x2.le(f64x2.mul(f64x2.abs(L), rv(R_CMAX)), f64x2.splat(0.25)));
}

// e(x, y) lane-wise for x, y ≥ 0 (positive lanes normal).
// @ts-ignore: decorator
@inline function renyiTerm(x: v128, y: v128): v128 {
  const t = f64x2.mul(x, renyiH(lnRatioF64x2(y, x, nearF64x2(f64x2.sub(y, x), f64x2.add(y, x)))));
  const zero = f64x2.splat(0);
  const xZero = f64x2.eq(x, zero), yZero = f64x2.eq(y, zero);
  return v128.bitselect(f64x2.mul(y, rv(R_INV_ALPHA)), v128.bitselect(f64x2.mul(x, rv(R_Q_ZERO)), t, yZero), xZero);
}

// The rounding error of s = the sum of v's two lanes.
function laneError(v: v128, s: f64): f64 {
  return additionError(f64x2.extract_lane(v, 0), f64x2.extract_lane(v, 1), s);
}

// Per row [H, status] (see above) over rows as in pairRows.
function renyiRows(p: usize, q: usize, rows: i32, dim: i32, pStep: i32, qStep: i32, out: usize): i32 {
  let all = 0;
  const zero = f64x2.splat(0);
  for (let r = 0; r < rows; r++) {
    const pr = p + ((<usize>r * <usize>pStep) << 3), qr = q + ((<usize>r * <usize>qStep) << 3);
    // Σ e, and Σ p, Σ q with their rounding errors (TwoSum): e(P, Q) needs ln(Q/P) to an ulp
    let sum = zero, sp = zero, ep = zero, sq = zero, eq = zero;
    let qZero = zero;
    // invalid values, and totals or values out of the range the logs take: pairStatus
    let status = totalsStatus(pr, qr, dim);
    // the terms take logarithms of the raw values: a subnormal one (its probability may be
    // normal) goes to the exact path
    if (status == 0 && min(load<f64>(RESULTS, 24), load<f64>(RESULTS, 32)) < MIN_NORMAL_F64) status = REDO;
    for (let i = 0; status == 0 && i < dim; i += 2) {
      const x = twoAt(pr, i, dim, 0), y = twoAt(qr, i, dim, 0);
      sum = f64x2.add(sum, renyiTerm(x, y));
      let s = f64x2.add(sp, x);
      ep = f64x2.add(ep, twoSumError(sp, x, s));
      sp = s;
      s = f64x2.add(sq, y);
      eq = f64x2.add(eq, twoSumError(sq, y, s));
      sq = s;
      qZero = v128.or(qZero, v128.and(f64x2.eq(y, zero), f64x2.gt(x, zero)));
    }
    // the totals as double-doubles: their rounding would move S by ~ε (an absolute error:
    // all of a 1e-16 divergence), so ln(Q/P) comes from (Q − P)/P carried to ~ε² of P
    const ph = hsum(sp), pl = hsum(ep) + laneError(sp, ph), qh = hsum(sq), ql = hsum(eq) + laneError(sq, qh);
    const P = ph + pl, Q = qh + ql, total = hsum(sum);
    let value: f64 = Infinity;
    if (status != 0) value = 0;
    else if (!renyiUsable) status = REDO;
    else if (v128.any_true(qZero) && load<f64>(RENYI) > 1) status = Q_ZERO;
    else {
      // far from Q = P, the quotient: 1 + u would keep u's rounding, all of a tiny Q/P
      const u = ((qh - ph) + (ql - pl)) / P, lr = Math.abs(u) > 0.5 ? ln(Q / P) : log1p(u);
      const e = P * f64x2.extract_lane(renyiH(f64x2.splat(lr)), 0);
      const diff = total - e;
      value = diff / (P * f64x2.extract_lane(expCall(f64x2.splat(load<f64>(RENYI, 8) * lr)), 0)); // Pᵅ Q^c = P·(Q/P)^c
      const cmax = load<f64>(RENYI, 24), alr = Math.abs(lr);
      // ln(Q/P) is within ~2ε·|lr| (+ the sums' ε² residue); that moves e(P, Q) by about
      // |∂e/∂lr|·δ ≤ (P·|lr|·(1 + cmax·|lr|) + cmax·e)·δ
      const moved = (P * alr * (1 + cmax * alr) + cmax * e) * (4.5e-16 * alr + 1e-30 * dim);
      if (!(total < Infinity) || !(renyiCancel * diff >= total) || !(moved <= 1e-13 * diff) || !(value < Infinity)) status = REDO;
    }
    all |= putRow(out, r, value, status);
    if (status & INVALID) break;
  }
  return all;
}
