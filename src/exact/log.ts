// Logarithms without cancellation: ln of a ratio that may overflow or flush, the atanh tail,
// ln(r) − (r − 1) and d + e^(−d) − 1. One home for each, and for MIN_NORMAL.


export const MIN_NORMAL = 2.2250738585072014e-308;

/** ln(p/q) for positive finite p, q */
export function logRatio(p: number, q: number): number {
  const r = p / q;
  // p/q can overflow or lose bits when subnormal; ln p − ln q is then the accurate route
  return r === Infinity || r < MIN_NORMAL ? Math.log(p) - Math.log(q) : Math.log(r);
}

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

/** d + e^(−d) − 1 ≥ 0 with full relative accuracy (the series below |d| = 1/2). */
export function dPlusExpm1(d: number): number {
  if (Math.abs(d) > 0.5) return d + Math.expm1(-d);
  // Σ_{k≥2} x^k / k! with x = −d, by Horner to k = 17 (0.5^18/18! < 1e-21)
  const x = -d;
  let r = 1;
  for (let k = 17; k >= 3; k--) r = 1 + (x * r) / k;
  return ((x * x) / 2) * r;
}
