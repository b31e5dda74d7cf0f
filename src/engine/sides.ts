// The arguments of a call: types and shapes (single pairs, batches with a broadcast row),
// value checks with row/column in the message, input kinds (a log-sum-exp per log row) and
// smoothing.
import type { InputKind, Resolved, Smoothing } from "./options.js";
import { badValue, checkVectorType, matrixRow, type Vector } from "./vector.js";
import { KLRangeError } from "../errors.js";
import { scaledTotal } from "../exact/kl.js";
import { additionError, divisionError, Sum, twoProductError } from "../exact/sum.js";
import { lnProb, type Row } from "../measures/rows.js";

/** A row-major matrix argument: `rows` rows of `dim`; rows = 1 broadcasts. */
export interface Shape {
  rows: number;
  dim: number;
}

export function shapeOf(v: Vector, name: string, dim: number | null): Shape {
  if (v.length === 0) throw new KLRangeError("KL_EMPTY", `${name} is empty`);
  if (dim === null) return { rows: 1, dim: v.length };
  if (v.length % dim !== 0) {
    throw new KLRangeError("KL_BAD_SHAPE", `${name}.length ${v.length} is not a multiple of options.dim ${dim}`);
  }
  return { rows: v.length / dim, dim };
}

/** The rows a pair of matrices produces: equal row counts, or one side a single row. */
export function pairRows(p: Shape, q: Shape, names = ["p", "q"]): number {
  if (p.dim !== q.dim) {
    throw new KLRangeError("KL_LENGTH_MISMATCH", `${names[0]} and ${names[1]} must have the same length, got ${p.dim} and ${q.dim}`);
  }
  if (p.rows !== q.rows && p.rows !== 1 && q.rows !== 1) {
    throw new KLRangeError("KL_BAD_SHAPE", `${names[0]} has ${p.rows} rows and ${names[1]} has ${q.rows}: they must match, or one must be a single row`);
  }
  return Math.max(p.rows, q.rows);
}

/** Where element i of `name` sits, for messages: "p[37] (row 2, column 5)". */
export function at(name: string, i: number, dim: number | null): string {
  return dim === null ? `${name}[${i}]` : `${name}[${i}] (row ${Math.floor(i / dim)}, column ${i % dim})`;
}

/** Checks a whole side for its input kind; throws naming the first bad element. */
export function checkValues(v: Vector, name: string, kind: InputKind, dim: number | null): void {
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (!(kind === "probabilities" ? x >= 0 && x !== Infinity : x < Infinity)) badValue(x, at(name, i, dim), kind);
  }
}

/** A checked side of a call. */
export interface Side {
  v: Vector;
  name: string;
  shape: Shape;
  kind: InputKind;
}

/** Type and shape only: values are checked by the kernels, or by `checkSide` before JS runs. */
export function side(v: unknown, name: string, kind: InputKind, dim: number | null): Side {
  checkVectorType(v, name);
  const shape = shapeOf(v, name, dim);
  return { v, name, shape, kind };
}

/** Where row r of a side starts (a single row is broadcast: row 0 for every r). */
export const rowStart = (s: Side, r: number): number => (s.shape.rows === 1 ? 0 : r * s.shape.dim);
/** Element k of row r is a probability of exactly 0 (0, or −Infinity for the log kinds). */
export const zeroAt = (s: Side, r: number, k: number): boolean => s.v[rowStart(s, r) + k] === (s.kind === "probabilities" ? 0 : -Infinity);

export function checkSide(s: Side): void {
  checkValues(s.v, s.name, s.kind, s.shape.rows === 1 ? null : s.shape.dim);
}

/** Row r of a side as a one-row side (`asDoubles`: a Float32Array row copied to doubles). */
export function rowSide(s: Side, r: number, asDoubles = false): Side {
  const dim = s.shape.dim;
  let v = matrixRow(s.v, s.shape.rows, r, dim);
  if (asDoubles && v instanceof Float32Array) v = Float64Array.from(v);
  return { v, name: s.name, shape: { rows: 1, dim }, kind: s.kind };
}

/** Means of Gaussians: any finite number. */
export function checkFinite(s: Side): void {
  for (let i = 0; i < s.v.length; i++) {
    const x = s.v[i];
    if (Number.isFinite(x)) continue;
    throw new KLRangeError(Number.isNaN(x) ? "KL_NAN" : "KL_INFINITE", `${at(s.name, i, s.shape.rows === 1 ? null : s.shape.dim)} is ${x}; values must be finite`);
  }
}

/** Row r of a side as the evaluator reads it: see unsmoothedRow, then the smoothing (smoothRow) where the options ask for it. */
export function rowOf(s: Side, r: number, o: Resolved): Row {
  const row = unsmoothedRow(s, r, o);
  return o.smoothing === null ? row : smoothRow(row, o, s, r);
}

/**
 * Row r of a side before any smoothing. Log kinds get their log-sum-exp here:
 * ln(prob) = (vᵢ − max)·invT − ln Σ exp((vⱼ − max)·invT), so no exponential overflows.
 */
function unsmoothedRow(s: Side, r: number, o: Resolved): Row {
  const dim = s.shape.dim, off = rowStart(s, r);
  const row: Row = { v: s.v, off, n: dim, log: null };
  if (s.kind === "probabilities") {
    if (o.normalize && o.smoothing === null) zeroSumCheck(s, row, r);
    return row;
  }
  const invT = s.kind === "logits" ? o.invT : 1, pre = s.kind === "logits" ? o.pre : 1;
  if (s.kind === "log-probabilities" && !o.normalize) {
    row.log = { max: 0, pre: 1, invT: 1, logS: 0, raw: true };
    return row;
  }
  let max = -Infinity, top = 0;
  for (let i = 0; i < dim; i++) {
    if (s.v[off + i] > max) {
      max = s.v[off + i];
      top = i;
    }
  }
  if (max === -Infinity) {
    const what = s.kind === "logits" ? "logit" : "log-probability";
    throw new KLRangeError("KL_ZERO_SUM", `${rowName(s, r)} has no finite ${what}: every element is -Infinity`);
  }
  // ln Σ = ln(1 + Σ of the others): log1p keeps the digits of a nearly one-hot row
  const others = new Sum();
  for (let i = 0; i < dim; i++) if (i !== top) others.add(Math.exp((s.v[off + i] - max) * pre * invT));
  row.log = { max, pre, invT, logS: Math.log1p(others.total) };
  return row;
}

function rowName(s: Side, r: number): string {
  return s.shape.rows === 1 && r === 0 ? s.name : `${s.name} row ${r}`;
}

function zeroSumCheck(s: Side, row: Row, r: number): void {
  for (let i = 0; i < row.n; i++) if (s.v[row.off + i] !== 0) return;
  throw new KLRangeError("KL_ZERO_SUM", `${s.shape.rows === 1 ? s.name : `${s.name} row ${r}`} sums to 0 and cannot be normalised`);
}

/**
 * A side's row with the smoothing applied (new arrays), as double-doubles v + lo: rounding
 * each smoothed value once would move a divergence of near-identical rows by ~ε per element
 * (6e-10 relative on a KL of 1e-14 was measured, 1e-2 with clip). Additive and replace-zeros
 * are left unnormalised (x + ε·Σx, zeros → ε·Σx: the measure normalises), clip as x/Σx
 * clipped to [ε, 1] (it does not renormalise).
 */
function smoothRow(row: Row, o: Resolved, s: Side, r: number): Row {
  const { mode, epsilon } = o.smoothing!;
  if (row.log !== null) return smoothLogRow(row, mode, epsilon);
  const { v, off, n } = row;
  const out = new Float64Array(n), lo = new Float64Array(n);
  // the total, scaled up into [2^-500, 2^500] (exactly) and the scale (1, 1: not normalising)
  let [t, s1, s2] = o.normalize ? scaledTotal(v, off, n) : [1, 1, 1];
  // additive and replace-zeros scale down only where the smoothed total, up to t·(1 + nε),
  // overflows: scaling flushes tiny values to 0, which replace-zeros would take for zeros
  // (clip: those are under ε)
  if (mode !== "clip" && s1 * s2 < 1 && (t / (s1 * s2)) * (1 + n * epsilon) < Infinity) [t, s1, s2] = [t / (s1 * s2), 1, 1];
  if (t === 0) throw new KLRangeError("KL_ZERO_SUM", `${rowName(s, r)} sums to 0 and cannot be normalised`);
  // ε·t exactly (the product's error from Dekker's split, which overflows past ~1e300: scaled)
  const big = t > 2 ** 500 ? 2 ** 600 : 1, e = epsilon * t, eLo = twoProductError(epsilon, t / big, e / big) * big;
  // clip divides by the total as a double-double t + tLo: its rounding would shift Σa off 1,
  // all of a near-identical pair's plain sum
  let tLo = 0;
  if (mode === "clip" && o.normalize) {
    const sum = new Sum();
    for (let i = 0; i < n; i++) sum.add(v[off + i] * s1 * s2);
    tLo = sum.hi - t + sum.lo;
  }
  for (let i = 0; i < n; i++) {
    const x = v[off + i] * s1 * s2;
    if (mode === "clip") {
      const a = x / t, aLo = divisionError(x, t, a) - (a * tLo) / t;
      const clipped = a < epsilon || (a === epsilon && aLo < 0);
      out[i] = clipped ? epsilon : Math.min(a, 1);
      lo[i] = clipped || a >= 1 ? 0 : aLo;
    } else if (mode === "additive") {
      const y = x + e;
      out[i] = y;
      lo[i] = additionError(x, e, y) + eLo;
    } else if (v[off + i] === 0) {
      out[i] = e;
      lo[i] = eLo;
    } else {
      out[i] = x;
    }
  }
  return { v: out, off: 0, n, log: null, lo };
}

/**
 * Smoothing of a log-domain row, in the log domain: raw log-probabilities can stand for
 * values beyond the double range (e^1786), and tiny probabilities that flush to 0 as
 * doubles are still not zeros. The result keeps the row's values and frame with a correction
 * cᵢ to each logarithm (Row.lo), so that two near-identical rows still differ by their exact
 * input differences plus c − c′ (smoothed logarithms rounded on their own were 5e-11 off on a
 * KL of 2e-13); a zero (−∞) is moved to the row's max, its correction then giving ln ε.
 * Normalised by the log-sum-exp of the smoothed values, or raw for clip (no renormalising).
 */
function smoothLogRow(row: Row, mode: Smoothing["mode"], epsilon: number): Row {
  const lnEps = Math.log(epsilon), log = row.log!, n = row.n, k = log.pre * log.invT;
  const v = new Float64Array(n), c = new Float64Array(n), m = new Float64Array(n), moved = new Uint8Array(n);
  let top = 0, ref = -1;
  for (let i = 0; i < n; i++) {
    const x = row.v[row.off + i], l = lnProb(log, x);
    // the smoothed ln m: ln(e^l + ε) without overflow (additive), clipped to [ln ε, 0], or l
    // (replace-zeros: only exact zeros, l = −∞, become ln ε); c = m − l where m stays near l.
    // An element at or near ln ε (a zero, a clipped value, additive below ε) is m itself
    moved[i] = l === -Infinity || (mode === "clip" && (l < lnEps || l > 0)) || (mode === "additive" && l < lnEps) ? 1 : 0;
    if (mode === "additive" && !moved[i]) c[i] = Math.log1p(Math.exp(lnEps - l));
    m[i] = !moved[i] ? l + c[i]
      : mode === "clip" ? Math.min(Math.max(l, lnEps), 0)
      : mode === "additive" ? lnEps + Math.log1p(Math.exp(l - lnEps))
      : lnEps;
    if (m[i] > m[top]) top = i;
    if (!moved[i] && (ref < 0 || x > row.v[row.off + ref])) ref = i;
  }
  // ln of element i becomes (v_i − v_ref)·k + lo_i − L in the frame of the largest element
  // that moved not (ref): lo_i = c_i + (l_ref − M) there (its exact input differences are
  // kept), m_i − M for a moved one (v_i = v_ref); M the largest m, L = ln Σ e^(m − M) as
  // log1p of the others (−M for clip: no renormalising)
  const M = m[top], vt = ref < 0 ? log.max : row.v[row.off + ref];
  const shift = ref < 0 ? 0 : lnProb(log, vt) - M, others = new Sum();
  for (let i = 0; i < n; i++) {
    v[i] = moved[i] ? vt : row.v[row.off + i];
    c[i] = moved[i] ? m[i] - M : c[i] + shift;
    if (i !== top) others.add(Math.exp(m[i] - M));
  }
  const clip = mode === "clip";
  return { v, off: 0, n, lo: c, log: { max: vt, pre: log.pre, invT: log.invT, logS: clip ? -M : Math.log1p(others.total), raw: clip } };
}
