// From the kernels' sums to the divergence: one place, shared by both backends.
import { KLRangeError } from "./errors.js";
import { log1pMinusX, type Sums } from "./reference.js";

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
