// The KL core in plain JS: the T-form term, the sums the kernels also return, and their
// composition into the normalised KL (the same formula for both backends), plus the exact
// normalised KL for what the kernels cannot settle.
import type { Vector } from "../engine/vector.js";
import { KLRangeError, overflow } from "../errors.js";
import { atanhTail, log1pMinusX, logRatio, MIN_NORMAL } from "./log.js";
import { divisionError, powerOfTwoScale, Sum } from "./sum.js";

/** Sums over the elements, as the kernels return them. */
export interface Sums {
  /** Σ T(pᵢ, c·qᵢ) with T(p, q) = p·ln(p/q) − p + q ≥ 0; Σ pᵢ·ln(pᵢ/qᵢ) for `plain` sums */
  t: number;
  /** Σ pᵢ */
  p: number;
  /** Σ c·qᵢ */
  q: number;
  /** Σ (pᵢ − c·qᵢ) */
  d: number;
  /** true when some element was negative, NaN or infinite (the sums are then meaningless) */
  invalid: boolean;
  /** true when some qᵢ = 0 under pᵢ > 0: the divergence is +Infinity (t omits those terms) */
  qZero: boolean;
  /** true when a rescaled c·qᵢ under pᵢ > 0 fell below the normal range and lost bits */
  lossy: boolean;
}

export const INVALID: Sums = { t: NaN, p: NaN, q: NaN, d: NaN, invalid: true, qZero: false, lossy: false };

/**
 * One term T(p, q) = p·ln(p/q) − p + q ≥ 0 for finite p, q ≥ 0 (p = 0 gives q, p > 0 = q
 * gives +Infinity). Near p = q it is evaluated through s = (p − q)/(p + q) as
 * (p + q)·(s² + (1 + s)·(atanh(s) − s)), which keeps every digit where p·ln(p/q) would
 * cancel; elsewhere (p/q outside [1/2, 2]) the direct form is well conditioned.
 */
export function term(p: number, q: number): number {
  if (p === 0) return q;
  if (q === 0) return Infinity;
  const a = p + q;
  if (a === Infinity) return 2 * term(p * 0.5, q * 0.5);
  const d = p - q;
  if (Math.abs(d) * 3 <= a) {
    const s = d / a;
    const u = s * s;
    return a * (u + (1 + s) * atanhTail(s, u));
  }
  return p * logRatio(p, q) - d;
}

/**
 * p·ln(p/q), the unnormalised sum's term: T + (p − q) near p = q, where that has no
 * cancellation, and the direct product elsewhere (where T ≈ q ≫ p·|ln(p/q)| can happen).
 */
export function plainTerm(p: number, q: number): number {
  if (p === 0) return 0;
  if (q === 0) return Infinity;
  const d = p - q;
  if (Math.abs(d) * 3 <= p + q) return term(p, q) + d;
  return p * logRatio(p, q);
}

/**
 * Σ T(pᵢ, scale·qᵢ) (or Σ pᵢ·ln(pᵢ/qᵢ) when `plain`), Σ pᵢ, Σ scale·qᵢ and
 * Σ (pᵢ − scale·qᵢ), in plain JS.
 */
export function sumsJS(p: Vector, q: Vector, scale: number, plain: boolean): Sums {
  // Blocks of 32 are summed plainly and then added with compensation, as the kernels do:
  // ≤ 32 ulps of a block's (non-negative) sum. A plain sum can cancel, so its terms get
  // compensation each.
  const t = new Sum(), sp = new Sum(), sq = new Sum(), sd = new Sum();
  let qZero = false, lossy = false;
  for (let start = 0; start < p.length; start += 32) {
    const end = Math.min(start + 32, p.length);
    let bt = 0, bp = 0, bq = 0, bd = 0;
    for (let i = start; i < end; i++) {
      const pi = p[i];
      const qi = q[i] * scale;
      // !(x >= 0) also catches NaN
      if (!(pi >= 0) || !(qi >= 0) || pi === Infinity || qi === Infinity) return INVALID;
      if (pi > 0 && qi < MIN_NORMAL && scale !== 1) lossy = true;
      if (qi === 0 && pi > 0) qZero = true;
      else if (plain) t.add(plainTerm(pi, qi));
      else bt += term(pi, qi);
      bp += pi;
      bq += qi;
      bd += pi - qi;
    }
    t.add(bt);
    sp.add(bp);
    sq.add(bq);
    sd.add(bd);
  }
  return { t: t.total, p: sp.total, q: sq.total, d: sd.total, invalid: false, qZero, lossy };
}

/**
 * The normalised KL of valid input (no qᵢ = 0 under pᵢ > 0; totals > 0) computed from
 * p/P and q/Q held as double-doubles, so p/P − q/Q is exact even where the two agree to
 * 15 digits, and without ever forming P/Q, P·Q or pᵢ/qᵢ (which can overflow or flush to 0
 * when the totals or elements are far apart). Slow and exact: the path for what the
 * kernels cannot do to full accuracy (totals that differ while the divergence is tiny,
 * extreme totals, subnormal totals).
 */
export function exactNormalizedKL(p: Vector, q: Vector): number {
  // Totals into [2^-500, 2^500] by powers of two (exact upwards; downwards only elements
  // below 2^-574 of their total can lose bits, and they cannot show in the result).
  const [P, p1, p2] = scaledTotal(p), [Q, q1, q2] = scaledTotal(q);
  const logQP = logRatio(Q, P);
  // ln(Q/P) of the unscaled totals, for logs taken from the unscaled values
  const logQPraw = logQP - Math.log(q1) - Math.log(q2) + Math.log(p1) + Math.log(p2);
  const g = new Sum(), np = new Sum(), nq = new Sum(), nd = new Sum();
  for (let i = 0; i < p.length; i++) {
    const pi = p[i] * p1 * p2, qi = q[i] * q1 * q2;
    // p/P and q/Q as hi + lo
    const a = pi / P, aLo = divisionError(pi, P, a);
    const b = qi / Q, bLo = divisionError(qi, Q, b);
    np.add(a);
    np.add(aLo);
    nq.add(b);
    nq.add(bLo);
    const d = a - b + (aLo - bLo); // a − b is exact where it matters (a, b within 2×)
    nd.add(d);
    if (pi === 0) {
      g.add(b + bLo); // T(0, q) = q
    } else if (a >= MIN_NORMAL && b >= MIN_NORMAL && Math.abs(d) * 3 <= a + b) {
      const total = a + b + (aLo + bLo);
      const s = d / total;
      const u = s * s;
      g.add(total * (u + (1 + s) * atanhTail(s, u)));
    } else {
      // far from p = q: ln(a/b) from the raw values, and b may have flushed to 0 unharmed
      // (from the unscaled inputs where the scaling flushed a tiny q towards 0)
      const L = qi >= MIN_NORMAL ? logRatio(pi, qi) + logQP : logRatio(p[i], q[i]) + logQPraw;
      g.add(a * L - d);
    }
  }
  // Σ of the normalised values is 1 only to rounding: fold that in as the kernels do
  const total = np.total;
  return g.total / total + log1pMinusX(-nd.total / total, nq.total / total);
}

/**
 * The total of v (elements [off, off + n)) times two powers of two s1, s2 that bring it into
 * [2^-500, 2^500], and s1, s2 (a total beyond the double range is summed again from values
 * scaled down first).
 */
export function scaledTotal(v: Vector, off = 0, n = v.length): [number, number, number] {
  let pre = 1, sum = new Sum();
  for (let i = off; i < off + n; i++) sum.add(v[i]);
  if (sum.total === Infinity) {
    pre = 2 ** -Math.ceil(Math.log2(n) + 1);
    sum = new Sum();
    for (let i = off; i < off + n; i++) sum.add(v[i] * pre);
  }
  const [s1, s2] = powerOfTwoScale(sum.total);
  return [sum.total * s1 * s2, s1 * pre, s2];
}

/** KL of the normalised pair p/Σp against q/Σq; NaN where the sums overflowed (the exact path decides). */
export function normalizedKL(s: Sums): number {
  const P = s.p, Q = s.q;
  if (P === 0) throw new KLRangeError("KL_ZERO_SUM", "p sums to 0 and cannot be normalised");
  if (Q === 0) throw new KLRangeError("KL_ZERO_SUM", "q sums to 0 and cannot be normalised");
  if (s.qZero) return Infinity;
  if (!Number.isFinite(s.t + s.p + s.q)) return NaN;
  // With T = Σ p·ln(p/q) − p + q over the raw inputs, the KL of p/P against q/Q is exactly
  // T/P + ln(Q/P) − (Q/P − 1): no second pass and no per-element division.
  return s.t / P + log1pMinusX(-s.d / P, Q / P);
}

/**
 * The correction ln(Q/P) − (Q/P − 1) is ≤ 0; when it nearly cancels T/P (same shapes, very
 * different totals) more than the limit below, the caller sums again with q rescaled by P/Q.
 */
export function cancels(s: Sums, kl: number, f32: boolean): boolean {
  return s.t / s.p > (f32 ? F32_CANCEL_LIMIT : F64_CANCEL_LIMIT) * kl;
}

/**
 * How far the correction may cancel T/P before the f64 sum again: an f32 term is within
 * 3.3e-7 of T (measured worst over 4e5 pairs, at p/q ≈ 3.5), so T/P ≤ 2.5·KL keeps the f32
 * kernel's result within 8.3e-7 (4 allowed 1.3e-6, past the documented 1e-6); f64 terms are
 * within ~1e-15, so 16 keeps 1e-12 with room.
 */
const F32_CANCEL_LIMIT = 2.5;
const F64_CANCEL_LIMIT = 16;

/**
 * Σ p·ln(p/q) = Σ T + Σ (p − q) from a kernel's T sums (`f32`: the f32 kernel's), or NaN where
 * their rounding might reach 1e-12 (f32: 1e-6) of the result: the caller then sums p·ln(p/q)
 * itself. f64: Σ T is within 2⁻⁴⁴ of itself (assembly/kl.ts blockF64), Σ (p − q) within 2⁻⁴⁵ of
 * Σp + Σq (≤ 140 additions per lane and chunk). f32: each term is within 6e-7 of T (3.3e-7
 * measured over 4e5 pairs, plus the f32 additions of four), and Σp, Σq, hence Σ (p − q), are
 * exact to f64 rounding (≤ 2·8192 roundings of ≤ 2⁻⁵³ per chunk: < 2⁻³⁸).
 */
export function plainFromT(s: Sums, f32: boolean): number {
  if (s.qZero) return Infinity;
  const result = s.t + s.d;
  const bound = (f32 ? 6e-7 : 2 ** -44) * s.t + (f32 ? 2 ** -38 : 2 ** -45) * (s.p + s.q);
  return bound <= (f32 ? 1e-6 : 1e-12) * Math.abs(result) && Number.isFinite(s.t + s.p + s.q) ? result : NaN;
}

/** Σ p·ln(p/q) of the raw inputs, from "plain" sums. */
export function plainKL(s: Sums): number {
  if (s.qZero) return Infinity; // before overflow: +Infinity is the exact value here
  // Σp, Σq may overflow (two values of 1e308) while Σ p·ln(p/q) does not
  if (!Number.isFinite(s.t)) {
    overflow();
  }
  return s.t;
}
