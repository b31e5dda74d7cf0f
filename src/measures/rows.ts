// A row as the exact path reads it: probabilities, or the log domain (log-probabilities and
// logits after their log-sum-exp), and the per-element logs of a pair of log rows.
import { subVector, type Vector } from "../engine/vector.js";
import { MIN_NORMAL } from "../exact/log.js";
import { additionError, Sum } from "../exact/sum.js";

/** A log-domain row: ln(prob) = (vᵢ − max)·pre·invT − logS (pre: see Resolved.pre). */
export interface RowLog {
  max: number;
  pre: number;
  invT: number;
  logS: number;
  /** log-probabilities taken as they are (not normalised) */
  raw?: boolean;
}

/** ln of the probability that x of a log-domain row stands for. */
export function lnProb(log: RowLog, x: number): number {
  // a finite input is a positive probability however far below the max: its log stays finite
  // (−MAX_VALUE where (x − max)·… overflows), so that a q of −∞ (exactly 0) under it is +∞
  const l = (x - log.max) * log.pre * log.invT - log.logS;
  return l === -Infinity && x > -Infinity ? -Number.MAX_VALUE : l;
}

/** One row of a side, already checked, in the probability domain or the log domain. */
export interface Row {
  v: Vector;
  off: number;
  n: number;
  /** null: probabilities */
  log: RowLog | null;
  /**
   * Smoothed rows (from index 0): a probability row's low parts (its values are double-doubles
   * v + lo), a log row's corrections to ln (ln of element i is lnProb(v_i) + lo_i)
   */
  lo?: Float64Array;
}

/** A row of probabilities as log-probabilities: ln v − ln Σv (ln v when not normalising). */
export function logRow(r: Row, normalize: boolean): Row {
  const logs = new Float64Array(r.n);
  let top = 0;
  for (let i = 0; i < r.n; i++) {
    const x = r.v[r.off + i];
    logs[i] = x > 0 ? Math.log(x) : -Infinity;
    if (x > r.v[r.off + top]) top = i;
  }
  if (!normalize) return { v: logs, off: 0, n: r.n, log: { max: 0, pre: 1, invT: 1, logS: 0, raw: true } };
  // ln Σ as ln x_top + log1p(Σ others / x_top), as rowOf's logits: the largest element's
  // ln(x/Σ) keeps its digits where the others are tiny beside it (1 − 3e-83)
  const others = new Sum(), xt = r.v[r.off + top];
  for (let i = 0; i < r.n; i++) if (i !== top) others.add(r.v[r.off + i]);
  return { v: logs, off: 0, n: r.n, log: { max: logs[top], pre: 1, invT: 1, logS: Math.log1p(others.total / xt) } };
}

/** ln of element i's probability in a log row (with a smoothed row's correction, lo). */
export function lnAt(r: Row, i: number): number {
  const l = lnProb(r.log!, r.v[r.off + i]);
  return r.lo === undefined ? l : l + r.lo[i];
}

/** ln a, ln b and d = ln a − ln b of element i, d from the difference of the raw inputs. */
export function logPair(p: Row, q: Row, i: number): { la: number; lb: number; d: number } {
  const x = p.v[p.off + i], y = q.v[q.off + i];
  const P = p.log!, Q = q.log!;
  const la = lnAt(p, i);
  const lb = lnAt(q, i);
  let d: number;
  if (la === -Infinity || lb === -Infinity) d = la - lb;
  else if (P.invT === Q.invT && P.pre === Q.pre) {
    // (x − y) − (max − max′) with both differences' rounding errors put back: rows shifted
    // by a constant (or a probability row beside logits of 710) keep d's digits near 0
    const xy = x - y, m = P.max - Q.max;
    d = (xy - m + (additionError(x, -y, xy) - additionError(P.max, -Q.max, m))) * P.pre * P.invT - (P.logS - Q.logS);
    if (p.lo !== undefined || q.lo !== undefined) d += (p.lo?.[i] ?? 0) - (q.lo?.[i] ?? 0);
  } else d = la - lb;
  return { la, lb, d };
}

/**
 * The common rounding δ of ln a − ln b over a row of two log inputs (their log-sum-exps are
 * doubles): with the implied b' = a·e^(−d), Σ b' = e^(−δ)·Σ b, so δ = ln(Σ a / Σ b') for
 * normalised sides. Measures that are not smooth at a = b (total variation) or that compare
 * a and b directly need d − δ; 0 where either side is not normalised.
 */
export function logShift(p: Row, q: Row): number {
  if (p.log!.raw === true || q.log!.raw === true) return 0;
  // Σ a − Σ b' = −Σ a·expm1(−d), exact per element; b at a = 0 counts in Σ b' as itself
  const diff = new Sum(), sb = new Sum();
  for (let i = 0; i < p.n; i++) {
    const { la, lb, d } = logPair(p, q, i);
    if (la === -Infinity) {
      const b = Math.exp(lb);
      diff.add(-b);
      sb.add(b);
    } else if (d === Infinity) {
      diff.add(Math.exp(la));
    } else {
      const a = Math.exp(la), b = impliedB(a, la, lb, d);
      diff.add(Math.abs(d) < 1 ? -a * Math.expm1(-d) : a - b);
      sb.add(b);
    }
  }
  if (!(sb.total > 0)) return 0;
  return Math.log1p(diff.total / sb.total);
}

/**
 * b' = a·e^(−d) as e^(la − d), consistent with d (a far below b, d < −709, must not overflow
 * e^(−d)); where a is 0 or subnormal (a logit far below its max, T = 0.001) d = la − lb is huge
 * and carries ε·|d| absolute, so b from its own log.
 */
export function impliedB(a: number, la: number, lb: number, d: number): number {
  return Math.exp(a < MIN_NORMAL ? lb : la - d);
}

export function hasZeroUnderMass(p: Row, q: Row): boolean {
  for (let i = 0; i < p.n; i++) if (p.v[p.off + i] > 0 && q.v[q.off + i] === 0) return true;
  return false;
}

/** The row's elements as a vector of their own. */
export function rowVector(r: Row): Vector {
  return subVector(r.v, r.off, r.off + r.n);
}
