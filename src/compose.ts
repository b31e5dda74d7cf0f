// From the kernels' sums to the divergence: one place, shared by both backends.
import { KLRangeError } from "./errors.js";
import { atanhTail, type Sums } from "./reference.js";

/** KL of the normalised pair p/Σp against q/Σq. */
export function normalizedKL(s: Sums): number {
  const P = s.p, Q = s.q;
  if (P === 0) throw new KLRangeError("KL_ZERO_SUM", "p sums to 0 and cannot be normalised");
  if (Q === 0) throw new KLRangeError("KL_ZERO_SUM", "q sums to 0 and cannot be normalised");
  checkFinite(s);
  if (s.qZero) return Infinity;
  // With T = Σ p·ln(p/q) − p + q over the raw inputs, the KL of p/P against q/Q is exactly
  // T/P + ln(Q/P) − (Q/P − 1): no second pass and no per-element division.
  return s.t / P + log1pMinusX(-s.d / P, Q / P);
}

/**
 * The correction ln(Q/P) − (Q/P − 1) is ≤ 0; when it nearly cancels T/P (same shapes, very
 * different totals) more than `limit` times, the caller sums again with q rescaled by P/Q.
 */
export function cancels(s: Sums, kl: number, limit: number): boolean {
  return s.t / s.p > limit * kl;
}

/** Σ p·ln(p/q) of the raw inputs, from "plain" sums. */
export function plainKL(s: Sums): number {
  checkFinite(s);
  return s.qZero ? Infinity : s.t;
}

function checkFinite(s: Sums): void {
  if (!Number.isFinite(s.t + s.p + s.q)) {
    throw new KLRangeError("KL_OVERFLOW", "a sum exceeds the double range; scale the inputs down");
  }
}

/** ln(r) − (r − 1) where r = 1 + u; u comes from Σ(p − q), accurate where r ≈ 1. */
function log1pMinusX(u: number, r: number): number {
  if (Math.abs(u) > 0.5) return Math.log(r) - r + 1;
  // the usual case (totals equal to rounding): two series terms, relative error < u²
  if (Math.abs(u) < 2 ** -20) return u * u * (u / 3 - 0.5);
  // log1p(u) = 2·atanh(s) with s = u/(2 + u), and 2s − u = −2s²/(1 − s): no cancellation
  const s = u / (2 + u);
  return 2 * atanhTail(s, s * s) - (2 * s * s) / (1 - s);
}
