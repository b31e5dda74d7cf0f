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
}

export const INVALID: Sums = { t: NaN, p: NaN, q: NaN, d: NaN, invalid: true, qZero: false };

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
    return this.hi + this.lo;
  }
}

/**
 * Σ T(pᵢ, scale·qᵢ) (or Σ pᵢ·ln(pᵢ/qᵢ) when `plain`), Σ pᵢ, Σ scale·qᵢ and
 * Σ (pᵢ − scale·qᵢ), in plain JS.
 */
export function sumsJS(p: Vector, q: Vector, scale: number, plain: boolean): Sums {
  const t = new Sum(), sp = new Sum(), sq = new Sum(), sd = new Sum();
  let qZero = false;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i];
    const qi = q[i] * scale;
    // !(x >= 0) also catches NaN
    if (!(pi >= 0) || !(qi >= 0) || pi === Infinity || qi === Infinity) return INVALID;
    if (qi === 0 && pi > 0) qZero = true;
    else t.add(plain ? plainTerm(pi, qi) : term(pi, qi));
    sp.add(pi);
    sq.add(qi);
    sd.add(pi - qi);
  }
  return { t: t.value, p: sp.value, q: sq.value, d: sd.value, invalid: false, qZero };
}

/**
 * KL of p/P against q/Q for valid input with totals P, Q > 0, the rescaling folded into
 * every term: T(p/P, q/Q) = T(p·Q, q·P)/(P·Q), with p·Q and q·P kept exactly as
 * double-doubles, so (pQ − qP) is exact even where p/P and q/Q agree to 15 digits and a
 * rounded rescale would swamp the divergence. Slow; used when totals differ and the
 * divergence is tiny, and when the totals are so small that the terms would be subnormal.
 */
export function exactNormalizedKL(p: Vector, q: Vector): number {
  // Totals to full precision: an error δ in them leaves an error of order δ² in the result,
  // which matters at KL ~ 1e-12 when δ is a float32 sum's 1e-7.
  const sp = new Sum(), sq = new Sum();
  for (let i = 0; i < p.length; i++) {
    sp.add(p[i]);
    sq.add(q[i]);
  }
  let P = sp.value, Q = sq.value;
  // power-of-two scales (exact) bring the totals near 1, out of subnormal range; each is
  // applied as two factors since 2^k alone overflows for totals below 2^-1023
  const pk = -Math.round(Math.log2(P)), qk = -Math.round(Math.log2(Q));
  const p1 = 2 ** (pk >> 1), p2 = 2 ** (pk - (pk >> 1));
  const q1 = 2 ** (qk >> 1), q2 = 2 ** (qk - (qk >> 1));
  P = P * p1 * p2;
  Q = Q * q1 * q2;
  const sum = new Sum();
  for (let i = 0; i < p.length; i++) {
    const pi = p[i] * p1 * p2;
    const qi = q[i] * q1 * q2;
    if (pi === 0) {
      sum.add(qi / Q);
      continue;
    }
    const a = pi * Q, aLo = twoProductError(pi, Q, a);
    const b = qi * P, bLo = twoProductError(qi, P, b);
    const d = a - b + (aLo - bLo); // a − b is exact where it matters (a, b within 2×)
    const total = a + b;
    if (Math.abs(d) * 3 <= total) {
      const s = d / (total + (aLo + bLo));
      const u = s * s;
      sum.add((pi / P + qi / Q) * (u + (1 + s) * atanhTail(s, u)));
    } else {
      sum.add(term(pi / P, qi / Q));
    }
  }
  return sum.value;
}

/** The rounding error of a·b = product, exactly (Dekker's product, no FMA needed). */
function twoProductError(a: number, b: number, product: number): number {
  const SPLIT = 134217729; // 2^27 + 1
  let c = SPLIT * a;
  const aHi = c - (c - a), aLo = a - aHi;
  c = SPLIT * b;
  const bHi = c - (c - b), bLo = b - bHi;
  return aHi * bHi - product + aHi * bLo + aLo * bHi + aLo * bLo;
}
