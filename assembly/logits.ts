// Logits kernels: KL(softmax(a/T) ‖ softmax(b/T)) for rows of logits (f64), in passes that
// stream a long row through a fixed scratch area one chunk at a time (one call per chunk):
//
//   1. ma = max a, mb = max b                         logitsMax       (NaN/+Infinity → NaN)
//   2. Sa = Σ exp((a − ma)·invT), likewise Sb         logitsSumExp    la = ln Sa, lb = ln Sb
//   3. Σ p·g(d) and Σ p·d                             logitsKL        → logitsFinish(Σ p·g, Σ p·d)
//
// with, per element,
//   d = ((a − b) − (ma − mb))·invT − (la − lb)   = ln p − ln q; a − b is exact when a ≈ b,
//                                                  so near-identical rows keep every digit of d
//                                                  (and both differences' rounding errors are
//                                                  added back, for shifted rows)
//   p = exp((a − ma)·invT − la)
//   g(d) = d + e^−d − 1 ≥ 0                       Σ p·g(d) = KL when Σp = Σq = 1: no cancellation
//
// g: for |d| ≤ 1/2 a polynomial, d²·H(d), keeps full relative accuracy; beyond, the direct
// form p·d − p + q with q = exp((b − mb)·invT − lb) computed on its own (p·e^−d would
// overflow for q ≫ p). The direct form loses at most ~30 ulps of a term at |d| = 1/2.
//
// Why Σ p·d as well: la and lb are doubles, so la − lb carries an error δ of up to an ulp of
// la (~1e-15 for a 32k vocabulary), and Σ p·g(d) then exceeds KL by g(δ) ≈ δ²/2 (~1e-31),
// 1e-11 relative on a 1e-20 divergence (1.3e-7 at worst on the test fixtures). The error is
// a constant shift of every d, so it is undone exactly: with e = Σ p·g − Σ p·d =
// Σ p·(e^−d − 1) = Σ q − Σ p (q as implied by p and d), KL = Σ p·d + ln(1 + e) =
// Σ p·g − (e − log1p(e)). logitsFinish applies it; e needs only a few correct digits.
// Measured against mpmath (test/logits-kernel.test.ts): ≤ 5.1e-14 relative on every
// fixture (logits ±1e4, near-identical rows down to KL ~ 1e-21, T = 0.5, 0.7, 1, 2).
// Zero mass: a = −∞ gives p = 0; its T-form term is q (0 when b = −∞ too: never NaN), which
// is what keeps Σ p·g equal to the KL. b = −∞ under a finite a gives +Infinity.
// ma and mb must be finite (a row of only −∞ has no softmax); rows must not hold NaN or +∞
// (logitsMax reports those). An odd last element is paired with −∞ (twoAt), neutral in every
// pass (max, e^−∞ = 0, and a = b = −∞ adds 0 to each KL sum).

import {
  expCall, expF64x2, expTableF64x2, gSmallF64x2, hsum, INVALID, ln, log1pMinusX, MIN_NORMAL_F64, putRow, Q_ZERO, REDO, storeTwo, twoAt,
  v64, V_EXP_LOW, V_EXP_UNDER, V_HALF,
} from "./math";

// Side results of the last logitsKL call: [Σ p·d, Σ p] (f64).
const LOGITS_RESULTS: usize = memory.data(16, 16);

export function logitsResultsPtr(): usize {
  return LOGITS_RESULTS;
}

// ---------------------------------------------------------------------------------------
// Pass 1: max

// Max of n doubles at x; −Infinity for n = 0 or an all −∞ chunk; NaN if any element is NaN or
// +Infinity (the wrapper then finds which).
export function logitsMax(x: usize, n: i32): f64 {
  // f64x2.max propagates NaN; four accumulators hide its latency
  let m0 = f64x2.splat(-Infinity), m1 = m0, m2 = m0, m3 = m0;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const at = x + (<usize>i << 3);
    m0 = f64x2.max(m0, v128.load(at));
    m1 = f64x2.max(m1, v128.load(at, 16));
    m2 = f64x2.max(m2, v128.load(at, 32));
    m3 = f64x2.max(m3, v128.load(at, 48));
  }
  for (; i < n; i += 2) m0 = f64x2.max(m0, twoAt(x, i, n, -Infinity));
  const m = f64x2.max(f64x2.max(m0, m1), f64x2.max(m2, m3));
  const r = Math.max(f64x2.extract_lane(m, 0), f64x2.extract_lane(m, 1));
  return r == Infinity ? NaN : r;
}

// ---------------------------------------------------------------------------------------
// Pass 2: Σ exp

// Σ exp((x − max)·invT) over n doubles at x (terms ≤ 1 when max is the row's max).
export function logitsSumExp(x: usize, n: i32, max: f64, invT: f64): f64 {
  const vm = f64x2.splat(max), vt = f64x2.splat(invT);
  let sum = f64x2.splat(0);
  for (let i = 0; i < n; i += 2) sum = f64x2.add(sum, expF64x2(f64x2.mul(f64x2.sub(twoAt(x, i, n, -Infinity), vm), vt)));
  return hsum(sum);
}

// out[i] = exp((x[i] − max)·invT − l): the probabilities (l = ln Σ), or plain e^x with
// max = 0, invT = 1, l = 0. out may equal x.
export function logitsSoftmax(x: usize, out: usize, n: i32, max: f64, invT: f64, l: f64): void {
  const vm = f64x2.splat(max), vt = f64x2.splat(invT), vl = f64x2.splat(l);
  for (let i = 0; i < n; i += 2) {
    storeTwo(out, i, n, expCall(f64x2.sub(f64x2.mul(f64x2.sub(twoAt(x, i, n, -Infinity), vm), vt), vl)));
  }
}

// ---------------------------------------------------------------------------------------
// Pass 3: the KL sums

// Σ p·g(d) over n elements of rows a and b (see the header); Σ p·d and Σ p go to
// logitsResultsPtr(). ma, mb: the rows' maxima; la, lb: ln of their Σ exp((x − m)·invT).
export function logitsKL(a: usize, b: usize, n: i32, ma: f64, mb: f64, invT: f64, la: f64, lb: f64): f64 {
  const vma = f64x2.splat(ma), vmb = f64x2.splat(mb), vt = f64x2.splat(invT);
  const vla = f64x2.splat(la), vlb = f64x2.splat(lb);
  // (a − b) − (ma − mb) with both differences' rounding errors put back (TwoSum): exact
  // differences keep near-identical rows' digits, the error terms shifted rows' (a ≈ 1e4 +
  // x, b ≈ −3e3 + y, where a − b rounds by ~1e-12)
  const m = ma - mb;
  const mv = m - ma;
  const dm = f64x2.splat(m), em = f64x2.splat(ma - (m - mv) - (mb + mv)), dl = f64x2.splat(la - lb);
  let sumT = f64x2.splat(0), sumPD = sumT, sumP = sumT, dMax = f64x2.splat(-Infinity);
  for (let i = 0; i < n; i += 2) {
    const av = twoAt(a, i, n, -Infinity), bv = twoAt(b, i, n, -Infinity);
    const p = expF64x2(f64x2.sub(f64x2.mul(f64x2.sub(av, vma), vt), vla));
    const diff = f64x2.sub(av, bv);
    const bb = f64x2.sub(diff, av);
    let err = f64x2.sub(f64x2.sub(av, f64x2.sub(diff, bb)), f64x2.add(bv, bb));
    err = v128.and(err, f64x2.eq(err, err)); // NaN where a or b = −∞: no correction there
    const d = f64x2.sub(f64x2.mul(f64x2.add(f64x2.sub(diff, dm), f64x2.sub(err, em)), vt), dl);
    // p·d where p > 0; 0 where p = 0 (there d may be −∞ or NaN, from a = −∞)
    const pd = v128.and(f64x2.mul(p, d), f64x2.ne(p, f64x2.splat(0)));
    const small = f64x2.le(f64x2.abs(d), v64(V_HALF));
    // both formulas for every lane: branching on the lanes' |d| mispredicts on rows that
    // differ and makes V8 spill; branch-free, 9.6 ns/element for far and near rows alike
    // (branching: 11.3 far, 8.2 near)
    const q = expF64x2(f64x2.sub(f64x2.mul(f64x2.sub(bv, vmb), vt), vlb));
    // p·d − p + q: with p = 0 this is q (the T-form's term at p = 0), +∞ when b = −∞
    const t = v128.bitselect(f64x2.mul(p, gSmallF64x2(d)), f64x2.add(f64x2.sub(pd, p), q), small);
    sumT = f64x2.add(sumT, t);
    sumPD = f64x2.add(sumPD, pd);
    sumP = f64x2.add(sumP, p);
    dMax = f64x2.pmax(dMax, d); // NaN (a = b = −∞) keeps the max
  }
  store<f64>(LOGITS_RESULTS, hsum(sumPD));
  store<f64>(LOGITS_RESULTS, hsum(sumP), 8);
  // d = +∞: b = −∞ under a finite a, whose p may have flushed to 0 (a logit 1e4 below its
  // row's max): still mass over q = 0, so +Infinity, not a term of 0
  return Math.max(f64x2.extract_lane(dMax, 0), f64x2.extract_lane(dMax, 1)) == Infinity ? Infinity : hsum(sumT);
}

// The KL from a row's totals Σ p·g(d) and Σ p·d (sums of logitsKL's result and of
// load<f64>(logitsResultsPtr()) over all chunks): Σ p·g − (e − log1p(e)), e = Σ p·g − Σ p·d,
// which removes the δ²/2 that the rounding of la − lb adds (see the header).
export function logitsFinish(sumTerms: f64, sumPD: f64): f64 {
  if (!(sumTerms < Infinity)) return sumTerms; // +Infinity (q = 0 under p > 0) or NaN
  const e = sumTerms - sumPD;
  // e − log1p(e) = −(ln(1 + e) − e), which log1pMinusX sums without cancelling
  return Math.max(sumTerms + log1pMinusX(e, 1 + e), 0);
}

// ---------------------------------------------------------------------------------------
// Many short rows in one call

// KL(softmax(a_r/T) ‖ softmax(b_r/T)) for rows r < rows of dim elements each, row r of a at
// a + 8·r·aStep (aStep = 0: one row of a against every row of b; likewise bStep), as
// [value, status] per row at out + 16·r (index.ts): INVALID for a row holding NaN or +Infinity
// (the kernel stops there), REDO for a row of only −∞ (no softmax: the exact path reports it).
// Returns the OR of the status bits.
export function logitsKLRows(a: usize, b: usize, rows: i32, dim: i32, aStep: i32, bStep: i32, invT: f64, out: usize): i32 {
  let ma: f64 = NaN, la: f64 = NaN, mb: f64 = NaN, lb: f64 = NaN, all = 0;
  for (let r = 0; r < rows; r++) {
    const ar = a + (<usize>r * <usize>aStep << 3), br = b + (<usize>r * <usize>bStep << 3);
    // a broadcast row's max and log-sum are computed once
    if (r == 0 || aStep != 0) {
      ma = logitsMax(ar, dim);
      la = ln(logitsSumExp(ar, dim, ma, invT));
    }
    if (r == 0 || bStep != 0) {
      mb = logitsMax(br, dim);
      lb = ln(logitsSumExp(br, dim, mb, invT));
    }
    // NaN max: invalid input; −∞ max: no mass
    let kl: f64 = 0, status = 0;
    if (ma != ma || mb != mb) status = INVALID;
    else if (ma == -Infinity || mb == -Infinity) status = REDO;
    else kl = logitsFinish(logitsKL(ar, br, dim, ma, mb, invT, la, lb), load<f64>(LOGITS_RESULTS));
    all |= putRow(out, r, kl, status);
    if (status & INVALID) break;
  }
  return all;
}

// ---------------------------------------------------------------------------------------
// One pass for long rows that differ: per chunk
//   [sa, sb, Σ e_a, Σ e_b, Σ e_a·z, Σ e_a·|z|, status, ma, mb]
// with e_a = exp((a − sa)·invT), e_b likewise, z = (a − b)·invT, the shifts sa, sb and the
// chunk's maxima ma, mb. The wrapper rescales the chunks onto the rows' maxima (online
// softmax) and takes
//   KL = Σ e_a·z / Σ e_a − (ma − mb)·invT − ln(Σ e_a / Σ e_b),
// which is Σ p·(ln p − ln q) without the T-form: fine where the KL is not small next to
// the magnitudes summed (the wrapper checks that with Σ e_a·|z|), and half the passes.
// Otherwise it runs logitsKL (pass 3) with the maxima and sums found here. The status is
// INVALID where the chunk holds NaN or +Infinity.
//
// The shifts are the wrapper's running maxima ga, gb (−∞: none yet, then the chunk's own), so
// that the chunk is read once, its maxima found on the way, with the table exp. Where that
// does not hold (a chunk's max more than STATS_MARGIN above its shift, where e^x could
// overflow; a result in the subnormal range, where the table exp does not go; a side of
// only −∞; NaN or +∞) the chunk is summed again with its own maxima as shifts and expF64x2.

const LOGITS_STATS: usize = memory.data(72, 16);
const STATS_MARGIN: f64 = 64;

export function logitsStatsPtr(): usize {
  return LOGITS_STATS;
}

export function logitsStats(a: usize, b: usize, n: i32, invT: f64, ga: f64, gb: f64): void {
  if (ga == -Infinity) ga = logitsMax(a, n);
  if (gb == -Infinity) gb = logitsMax(b, n);
  if (ga - ga == 0 && gb - gb == 0 && statsSums(a, b, n, ga, gb, invT, true)) return;
  statsSums(a, b, n, logitsMax(a, n), logitsMax(b, n), invT, false);
}

// The sums of logitsStats with shifts sa, sb: `fast` (both finite) with the table exp, false
// where it cannot; otherwise with expF64x2 and the chunk's maxima as sa, sb (NaN: invalid
// input, the wrapper finds it; −∞: no mass in this chunk on that side).
function statsSums(a: usize, b: usize, n: i32, sa: f64, sb: f64, invT: f64, fast: bool): bool {
  let ea = f64x2.splat(0), eb = ea, w = ea, abs = ea, ma = f64x2.splat(-Infinity), mb = ma;
  let inRange = f64x2.eq(ea, ea), zMax = f64x2.splat(-Infinity);
  const aLive = sa - sa == 0, bLive = sb - sb == 0;
  const vsa = f64x2.splat(aLive ? sa : 0), vsb = f64x2.splat(bLive ? sb : 0), vt = f64x2.splat(invT);
  for (let i = 0; (aLive || bLive) && i < n; i += 2) {
    const av = twoAt(a, i, n, -Infinity), bv = twoAt(b, i, n, -Infinity);
    const xa = f64x2.mul(f64x2.sub(av, vsa), vt), xb = f64x2.mul(f64x2.sub(bv, vsb), vt);
    let e: v128;
    if (fast) {
      // pmax, one instruction (max is nine on x64): NaN is caught below
      ma = f64x2.pmax(ma, av);
      mb = f64x2.pmax(mb, bv);
      // lanes at or below the table's range hold 0; a lane neither there nor where e^x
      // rounds to 0 (a subnormal result, or NaN) sends the chunk to expF64x2
      const inA = f64x2.gt(xa, v64(V_EXP_LOW)), inB = f64x2.gt(xb, v64(V_EXP_LOW));
      inRange = v128.and(inRange, v128.and(v128.or(f64x2.le(xa, v64(V_EXP_UNDER)), inA), v128.or(f64x2.le(xb, v64(V_EXP_UNDER)), inB)));
      eb = f64x2.add(eb, v128.and(expTableF64x2(xb), inB));
      e = v128.and(expTableF64x2(xa), inA);
    } else {
      if (bLive) eb = f64x2.add(eb, expCall(xb));
      if (!aLive) continue;
      e = expCall(xa);
    }
    // e_a·z where e_a > 0 (z is NaN or ±∞ where a or b is −∞)
    const z = f64x2.mul(f64x2.sub(av, bv), vt);
    const ez = v128.and(f64x2.mul(e, z), f64x2.ne(e, f64x2.splat(0)));
    zMax = f64x2.pmax(zMax, z);
    ea = f64x2.add(ea, e);
    w = f64x2.add(w, ez);
    abs = f64x2.add(abs, f64x2.abs(ez));
  }
  // z = +∞: b = −∞ under a finite a (even where e_a flushed to 0): Q_ZERO, the row is +Infinity
  let status = Math.max(f64x2.extract_lane(zMax, 0), f64x2.extract_lane(zMax, 1)) == Infinity ? Q_ZERO : 0;
  if (fast) {
    const maxA = Math.max(f64x2.extract_lane(ma, 0), f64x2.extract_lane(ma, 1));
    const maxB = Math.max(f64x2.extract_lane(mb, 0), f64x2.extract_lane(mb, 1));
    // false for +∞ too
    if (!((maxA - sa) * invT <= STATS_MARGIN && (maxB - sb) * invT <= STATS_MARGIN && i64x2.all_true(inRange))) return false;
    store<f64>(LOGITS_STATS, maxA, 56);
    store<f64>(LOGITS_STATS, maxB, 64);
  } else {
    store<f64>(LOGITS_STATS, sa, 56);
    store<f64>(LOGITS_STATS, sb, 64);
    if (sa != sa || sb != sb) status |= INVALID;
  }
  store<f64>(LOGITS_STATS, sa);
  store<f64>(LOGITS_STATS, sb, 8);
  store<f64>(LOGITS_STATS, hsum(ea), 16);
  store<f64>(LOGITS_STATS, hsum(eb), 24);
  store<f64>(LOGITS_STATS, hsum(w), 32);
  store<f64>(LOGITS_STATS, hsum(abs), 40);
  store<f64>(LOGITS_STATS, status, 48);
  return true;
}

// ---------------------------------------------------------------------------------------
// Rows of logits (or log-probabilities, invT = 1) into probabilities, in place, so that the
// probability kernels (pairRows) can take them: softmax((x − max)·invT) per row of `dim`
// contiguous doubles. Status per row at flags + 8·r (f64): REDO for a row without a finite
// element or with NaN or +Infinity (zero-filled, so that the pair kernel goes on; the exact
// path reports it), or where a finite input's probability fell below the normal range (the
// probability kernels would treat it as 0 or lose its digits); 0 otherwise.
export function softmaxRows(x: usize, rows: i32, dim: i32, invT: f64, flags: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = x + ((<usize>r * <usize>dim) << 3);
    const max = logitsMax(row, dim);
    let flag: f64 = 0;
    if (max - max != 0) {
      // zeros: the pair kernel then reports the row as ragged (zero total) and goes on,
      // where an invalid value would stop it; the wrapper redoes the row and reports it
      flag = REDO;
      memory.fill(row, 0, <usize>dim << 3);
    } else {
      const l = ln(logitsSumExp(row, dim, max, invT));
      const vm = f64x2.splat(max), vt = f64x2.splat(invT), vl = f64x2.splat(l);
      let lost = f64x2.splat(0);
      for (let i = 0; i < dim; i += 2) {
        const v = twoAt(row, i, dim, -Infinity);
        const e = expCall(f64x2.sub(f64x2.mul(f64x2.sub(v, vm), vt), vl));
        // a finite input whose probability is below the normal range
        lost = v128.or(lost, v128.and(f64x2.lt(e, f64x2.splat(MIN_NORMAL_F64)), f64x2.ne(v, f64x2.splat(-Infinity))));
        storeTwo(row, i, dim, e);
      }
      if (v128.any_true(lost)) flag = REDO;
    }
    store<f64>(flags + (<usize>r << 3), flag);
  }
}
