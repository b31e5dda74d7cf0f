// The plain-JS implementation: the fallback where WebAssembly SIMD is missing, and the
// readable specification that the AssemblyScript kernel (assembly/index.ts) mirrors.
import type { Vector } from "./vector.js";

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

const MIN_NORMAL = 2.2250738585072014e-308;

/** atanh(x) − x for |x| ≤ 1/3, given u = x² (coefficients from scripts/atanh-poly.py) */
export function atanhTail(x: number, u: number): number {
  const h =
    0.33333333333333487 +
    u * (0.19999999999780063 +
    u * (0.14285714338330496 +
    u * (0.11111106278964857 +
    u * (0.09091130554209872 +
    u * (0.07686637438179002 +
    u * (0.0675117123587855 +
    u * (0.05161334635249541 +
    u * 0.08435350330548605)))))));
  return x * u * h;
}

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

/** ln(p/q) for positive finite p, q */
function logRatio(p: number, q: number): number {
  const r = p / q;
  // p/q can overflow or lose bits when subnormal; ln p − ln q is then the accurate route
  return r === Infinity || r < MIN_NORMAL ? Math.log(p) - Math.log(q) : Math.log(r);
}

/** Compensated (Neumaier) running sum: the JS path is the exactness reference. */
export class Sum {
  hi = 0;
  lo = 0;
  add(x: number): void {
    const s = this.hi + x;
    this.lo += Math.abs(this.hi) >= Math.abs(x) ? this.hi - s + x : x - s + this.hi;
    this.hi = s;
  }
  get value(): number {
    // an infinite term leaves NaN in the compensation (∞ − ∞): the sum is that infinity
    return Number.isFinite(this.hi) ? this.hi + this.lo : this.hi;
  }
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
  return { t: t.value, p: sp.value, q: sq.value, d: sd.value, invalid: false, qZero, lossy };
}

/**
 * ln(r) − (r − 1) for r = 1 + u > 0, the correction that turns Σ T of the raw inputs into
 * the normalised KL; u is passed separately because, computed from Σ(p − q), it is exact
 * where r ≈ 1 and Q/P − 1 would not be.
 */
export function log1pMinusX(u: number, r: number): number {
  if (Math.abs(u) > 0.5) return Math.log(r) - r + 1;
  // totals equal to rounding (the usual case): the series, relative error below u⁴
  if (Math.abs(u) < 2 ** -20) return u * u * (u * (1 / 3 - u * (0.25 - u * 0.2)) - 0.5);
  // log1p(u) = 2·atanh(s) with s = u/(2 + u), and 2s − u = −2s²/(1 − s): no cancellation
  const s = u / (2 + u);
  return 2 * atanhTail(s, s * s) - (2 * s * s) / (1 - s);
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
  const sp = new Sum(), sq = new Sum();
  for (let i = 0; i < p.length; i++) {
    sp.add(p[i]);
    sq.add(q[i]);
  }
  // Totals into [2^-500, 2^500] by powers of two (exact upwards; downwards only elements
  // below 2^-574 of their total can lose bits, and they cannot show in the result).
  const [p1, p2] = powerOfTwoScale(sp.value), [q1, q2] = powerOfTwoScale(sq.value);
  const P = sp.value * p1 * p2, Q = sq.value * q1 * q2;
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
  const total = np.value;
  return g.value / total + log1pMinusX(-nd.value / total, nq.value / total);
}

/** Two powers of two whose product brings x into [2^-500, 2^500] (1, 1 when it is). */
export function powerOfTwoScale(x: number): [number, number] {
  if (x >= 2 ** -500 && x <= 2 ** 500) return [1, 1];
  const k = -Math.round(Math.log2(x)); // up to ±1074: split, since 2^k alone can overflow
  return [2 ** (k >> 1), 2 ** (k - (k >> 1))];
}

/** (x − y·quotient)/y, the part of x/y that the rounded quotient misses. */
function divisionError(x: number, y: number, quotient: number): number {
  const product = quotient * y;
  return (x - product - twoProductError(quotient, y, product)) / y;
}

/** The rounding error of a·b = product, exactly (Dekker's product, no FMA needed). */
export function twoProductError(a: number, b: number, product: number): number {
  const SPLIT = 134217729; // 2^27 + 1
  let c = SPLIT * a;
  const aHi = c - (c - a), aLo = a - aHi;
  c = SPLIT * b;
  const bHi = c - (c - b), bLo = b - bHi;
  return aHi * bHi - product + aHi * bLo + aLo * bHi + aLo * bLo;
}
