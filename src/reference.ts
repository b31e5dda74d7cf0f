// The plain-JS implementation: the fallback where WebAssembly SIMD is missing, and the
// readable specification that the AssemblyScript kernel (assembly/index.ts) mirrors.
import type { Vector } from "./vector.js";

/** Sums over the elements, as the kernels return them. */
export interface Sums {
  /** Σ T(pᵢ, c·qᵢ) with T(p, q) = p·ln(p/q) − p + q ≥ 0 */
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

// atanh(x) − x = x³·h(x²) for |x| ≤ 1/3; coefficients from scripts/atanh-poly.py
const H = [
  0.33333333333333487, 0.19999999999780063, 0.14285714338330496, 0.11111106278964857,
  0.09091130554209872, 0.07686637438179002, 0.0675117123587855, 0.05161334635249541,
  0.08435350330548605,
];
const MIN_NORMAL = 2.2250738585072014e-308;

/** atanh(x) − x for |x| ≤ 1/3, given u = x² */
export function atanhTail(x: number, u: number): number {
  let h = H[8];
  for (let i = 7; i >= 0; i--) h = h * u + H[i];
  return x * u * h;
}

/**
 * One term p·ln(p/q) − p + q for finite p, q ≥ 0: 0 when p = 0 gives q, p > 0 = q gives
 * +Infinity. Near p = q it is evaluated through s = (p − q)/(p + q) as
 * (p + q)·(s² + (1 + s)·(atanh(s) − s)), which keeps every digit where p·ln(p/q) would
 * cancel; elsewhere the direct form is well conditioned.
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
  const r = p / q;
  const logRatio = r === Infinity || r < MIN_NORMAL ? Math.log(p) - Math.log(q) : Math.log(r);
  return p * logRatio - d;
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

export const INVALID: Sums = { t: NaN, p: NaN, q: NaN, d: NaN, invalid: true, qZero: false };

/** Σ T(pᵢ, scale·qᵢ), Σ pᵢ, Σ scale·qᵢ, Σ (pᵢ − scale·qᵢ) in plain JS. */
export function sumsJS(p: Vector, q: Vector, scale = 1): Sums {
  const t = new Sum(), sp = new Sum(), sq = new Sum(), sd = new Sum();
  let qZero = false;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i];
    const qi = q[i] * scale;
    if (!(pi >= 0) || !(qi >= 0) || pi === Infinity || qi === Infinity) {
      return INVALID;
    }
    if (qi === 0 && pi > 0) qZero = true;
    else t.add(term(pi, qi));
    sp.add(pi);
    sq.add(qi);
    sd.add(pi - qi);
  }
  return { t: t.value, p: sp.value, q: sq.value, d: sd.value, invalid: false, qZero };
}
