// klTerms on the exact path: each aᵢ·ln(aᵢ/bᵢ), exactly, for either kind of row; and the
// unnormalised cross-entropy, summed term by term.
import { logRatio } from "../exact/log.js";
import { Sum, twoProductError } from "../exact/sum.js";
import { lnAt, logPair, type Row } from "./rows.js";

/** Per-element a·ln(a/b) of one row, into out at off (exact path). */
export function termsRow(p: Row, q: Row, normalize: boolean, out: Float64Array, at0: number): void {
  const n = p.n;
  if (p.log !== null || q.log !== null) {
    const A = probs(p, normalize);
    const zero = (r: Row, i: number) => (r.log === null ? r.v[r.off + i] === 0 : r.v[r.off + i] === -Infinity);
    // ln of a probability side's total, once per row (not once per element)
    const logP = p.log === null && normalize ? Math.log(total(p, true)) : 0;
    const logQ = q.log === null && normalize ? Math.log(total(q, true)) : 0;
    for (let i = 0; i < n; i++) {
      const a = A[i];
      if (zero(p, i)) out[at0 + i] = 0;
      else if (zero(q, i)) out[at0 + i] = Infinity;
      // a flushed to 0 (ln a < −745): a·ln(a/b) is under 2^-1074·|ln a − ln b| < 2e-15, and
      // 0 here, also where ln a − ln b is past the double range (0·∞ would be NaN)
      else if (a === 0) out[at0 + i] = 0;
      else {
        // ln a − ln b from logs, two sides of them or one (a or b may flush to 0 in double);
        // 0 where it is 0, also beside an a past the double range (∞·0)
        const d = p.log !== null && q.log !== null ? logPair(p, q, i).d : logOf(p, i, logP) - logOf(q, i, logQ);
        out[at0 + i] = d && a * d;
      }
    }
    return;
  }
  const P = total(p, normalize), Q = total(q, normalize);
  // a total past the double range: the same terms from that row halved (a·ln(a/b) was NaN);
  // a q of 5e-324 there halves to 0: its term comes out +Infinity, which terms() reports as
  // KL_OVERFLOW (docs/semantics.md, known limits)
  if (P === Infinity || Q === Infinity) return termsRow(half(p, P), half(q, Q), normalize, out, at0);
  const logQP = normalize ? logRatio(Q, P) : 0;
  for (let i = 0; i < n; i++) out[at0 + i] = exactTerm(p.v[p.off + i], q.v[q.off + i], P, Q, logQP, normalize);
}

/** One term a·ln(a/b) of raw values x, y with totals P, Q (logQP = ln(Q/P)), exactly. */
function exactTerm(x: number, y: number, P: number, Q: number, logQP: number, normalize: boolean): number {
  if (x === 0) return 0;
  if (y === 0) return Infinity;
  const a = normalize ? x / P : x;
  // a flushed to 0 (a total past 2^1074 times x): the term is 0, as on the log branch
  if (a === 0) return 0;
  // ln(a/b) = ln(x/y) + ln(Q/P), from the inputs (a or b may flush to 0 in double); near
  // x/y = Q/P that sum cancels, so there use the exact difference x·Q − y·P
  const L = logRatio(x, y) + logQP;
  if (Math.abs(L) >= 0.5) return a * L;
  if (normalize && !(P > 2 ** -500 && P < 2 ** 500 && Q > 2 ** -500 && Q < 2 ** 500)) {
    // totals far from 1: scale each side by a power of two, so x·Q and y·P exist
    const kp = -Math.round(Math.log2(P)), kq = -Math.round(Math.log2(Q));
    const P2 = pow2(P, kp), Q2 = pow2(Q, kq);
    return a * nearLog(pow2(x, kp), pow2(y, kq), P2, Q2, true);
  }
  return a * nearLog(x, y, P, Q, normalize);
}

/** The row halved where its total overflows, else the row. */
function half(r: Row, t: number): Row {
  return t < Infinity ? r : { ...r, v: probs(r, false).map((x) => x / 2), off: 0 };
}

/** ln of element i's probability, for either kind of row (logTotal: ln of a probability row's total, or 0). */
function logOf(r: Row, i: number, logTotal: number): number {
  if (r.log !== null) return lnAt(r, i);
  return Math.log(r.v[r.off + i]) - logTotal;
}

/** x·2^k for |k| up to ~2100, in two steps (2^k alone can overflow). */
function pow2(x: number, k: number): number {
  return x * 2 ** (k >> 1) * 2 ** (k - (k >> 1));
}

function nearLog(x: number, y: number, P: number, Q: number, normalize: boolean): number {
  if (!normalize) return Math.log1p((x - y) / y);
  // (x·Q − y·P)/(y·P) with both products split exactly (values are in range here)
  const xq = x * Q, yp = y * P;
  const diff = xq - yp + (twoProductError(x, Q, xq) - twoProductError(y, P, yp));
  return Math.log1p(diff / yp);
}


export function total(r: Row, normalize: boolean): number {
  if (!normalize) return 1;
  const sum = new Sum();
  for (let i = 0; i < r.n; i++) sum.add(r.v[r.off + i]);
  return sum.total;
}

/** A row's probabilities: exp of log rows, v/t (t its total when normalising) otherwise. */
export function probs(r: Row, normalize: boolean): Float64Array {
  const out = new Float64Array(r.n);
  if (r.log !== null) {
    for (let i = 0; i < r.n; i++) out[i] = Math.exp(lnAt(r, i));
    return out;
  }
  const t = total(r, normalize);
  for (let i = 0; i < r.n; i++) out[i] = r.v[r.off + i] / t;
  return out;
}

/** −Σ a·ln b of the values as given (raw log-probabilities: a = e^z, ln b = z′). */
export function plainCrossEntropy(p: Row, q: Row): number {
  const sum = new Sum();
  for (let i = 0; i < p.n; i++) {
    const x = p.v[p.off + i], y = q.v[q.off + i];
    const lx = p.log === null ? Math.log(x) : lnAt(p, i);
    if (lx === -Infinity) continue;
    const ly = q.log === null ? Math.log(y) : lnAt(q, i);
    if (ly === -Infinity) return Infinity;
    sum.add(-(p.log === null ? x : Math.exp(lx)) * ly);
  }
  return sum.total;
}
