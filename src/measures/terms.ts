// The per-element terms of the pair measures (TV, Hellinger, Jensen–Shannon, Jeffreys/PSI)
// and of Rényi, from the element values (m, s, L) of measures/evaluator.ts.
import { atanhTail, logRatio, MIN_NORMAL } from "../exact/log.js";
import type { Measure, Pair } from "./evaluator.js";

/** A measure's term from the element values (NaN L means near, where s decides). */
export function termOf(measure: Measure, e: Pair): number {
  const { m, s } = e;
  switch (measure) {
    case "totalVariation":
      return m * Math.abs(s);
    case "hellinger": {
      // ½(√a − √b)² = ½(a − b)²/(√a + √b)², with a − b = 2·m·s exact: no cancellation
      const r = Math.sqrt(e.a) + Math.sqrt(e.b);
      const h = (2 * m * s) / r; // √a − √b, without overflow for huge raw values
      return r === 0 ? 0 : 0.5 * h * h; // r = 0: both flushed to 0
    }
    case "jeffreys":
    case "psi": {
      if (e.zeroA || e.zeroB) return Infinity;
      const L = e.near ? 2 * (s + e.tail) : e.L;
      return 2 * m * s * L;
    }
    case "jsDivergence":
    case "jsDistance": {
      if (e.near) {
        // ½·m·[(1+s)ln(1+s) + (1−s)ln(1−s)] = m·[s²(1−s²)/(2−s²) + s·tail(s) − tail(x)],
        // x = s²/(2 − s²), from ln(1 − s²) = −2·atanh(x)
        const u = s * s;
        const x = u / (2 - u);
        return m * ((u * (1 - u)) / (2 - u) + s * e.tail - atanhTail(x, x * x));
      }
      const { a, b } = e;
      const total = a + b;
      return 0.5 * ((a > 0 ? a * logRatio(2 * a, total) : 0) + (b > 0 ? b * logRatio(2 * b, total) : 0));
    }
    default:
      throw new Error(`kl-simd internal error: no term for ${measure}`);
  }
}

/**
 * One Rényi bracket aᵅb¹⁻ᵅ − αa − (1−α)b = a·g(L), L = ln(b/a), c = 1 − α, lt = ln a + c·L:
 * g(L) = Σ_{k≥2} (cᵏ − c)·Lᵏ/k! = −α·c·Σ_{k≥2} (1 + c + … + c^(k−2))·Lᵏ/k! near L = 0 (no
 * cancellation, also as α → 1); elsewhere b·(e^(−αL) − 1) + α·(b − a) for α < ½ and
 * a·(e^(cL) − 1) − c·(b − a) above (each sums two terms that cannot cancel much).
 */
export function renyiTerm(a: number, b: number, L: number, alpha: number, c: number, lt: number): number {
  if (Math.abs(L) <= 2 && Math.abs(c * L) <= 2) {
    // Lᵏ/k!, 1 + c + … + c^(k−2) and its bound 1 + |c| + … (a coefficient can be 0: c = −1)
    let sum = 0, power = L, coefficient = 1, bound = 1;
    for (let k = 2; k < 80; k++) {
      power = (power * L) / k;
      sum += coefficient * power;
      if (Math.abs(power) * bound <= 1e-18 * Math.abs(sum)) break;
      coefficient = 1 + c * coefficient;
      bound = 1 + Math.abs(c) * bound;
    }
    return -alpha * c * a * sum;
  }
  // α < ½: b·(e^(−αL) − 1) + α·(b − a), the same about b; the form below cancels ~1/α times
  // there (both its terms near b − a as c → 1)
  if (alpha < 0.5 && b >= MIN_NORMAL && Math.abs(alpha * L) < 700) return b * Math.expm1(-alpha * L) + alpha * (b - a);
  // a·(e^(cL) − 1) − c·(b − a): no cancellation of a against αa as α → 1
  if (a >= MIN_NORMAL && Math.abs(c * L) < 700) return a * Math.expm1(c * L) - c * (b - a);
  return Math.exp(lt) - alpha * a - c * b; // aᵅb¹⁻ᵅ from its log: a flushed to 0, or e^(cL) out of range
}
