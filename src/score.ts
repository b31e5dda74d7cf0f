// The scoring engine: shapes (single pairs, batches with a broadcast row, pairwise, top-k),
// input checks with row/column in the message, input kinds, smoothing and reductions.
// Rows go to the SIMD kernels through `fast` when they can; everything else, and every row
// a kernel hands back, is evaluated exactly by src/measures.ts.
import { KLRangeError } from "./errors.js";
import { RowEvaluator, lnProb, logPair, logRatio, rowVector, type Measure, type Row } from "./measures.js";
import { type InputKind, type Resolved } from "./options.js";
import { Sum, log1pMinusX, twoProductError } from "./reference.js";
import { checkVectorType, type Vector } from "./vector.js";
import { MEASURES, measureOf, type MeasureName, type MeasureRecord } from "./measures/registry.js";

export type { MeasureName };

export function checkMeasure(measure: unknown): asserts measure is MeasureName {
  measureOf(measure);
}

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
    if (kind === "probabilities" ? x >= 0 && x !== Infinity : x < Infinity) continue;
    const where = at(name, i, dim);
    if (Number.isNaN(x)) throw new KLRangeError("KL_NAN", `${where} is NaN`);
    if (kind !== "probabilities") throw new KLRangeError("KL_INFINITE", `${where} is ${x}; ${kind} must be < Infinity (−Infinity means probability 0)`);
    if (x === Infinity || x === -Infinity) throw new KLRangeError("KL_INFINITE", `${where} is ${x}; values must be finite`);
    throw new KLRangeError("KL_NEGATIVE", `${where} is ${x}; values must be ≥ 0`);
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

export function checkSide(s: Side): void {
  checkValues(s.v, s.name, s.kind, s.shape.rows === 1 ? null : s.shape.dim);
}

/** Means of Gaussians: any finite number. */
export function checkFinite(s: Side): void {
  for (let i = 0; i < s.v.length; i++) {
    const x = s.v[i];
    if (Number.isFinite(x)) continue;
    const where = at(s.name, i, s.shape.rows === 1 ? null : s.shape.dim);
    throw new KLRangeError(Number.isNaN(x) ? "KL_NAN" : "KL_INFINITE", `${where} is ${x}; values must be finite`);
  }
}

/**
 * Row r of a side as the evaluator reads it. Log kinds get their log-sum-exp here:
 * ln(prob) = (vᵢ − max)·invT − ln Σ exp((vⱼ − max)·invT), so no exponential overflows.
 */
export function rowOf(s: Side, r: number, o: Resolved): Row {
  const dim = s.shape.dim;
  const off = s.shape.rows === 1 ? 0 : r * dim;
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
  row.log = { max, pre, invT, logS: Math.log1p(others.value) };
  return row;
}

function rowName(s: Side, r: number): string {
  return s.shape.rows === 1 && r === 0 ? s.name : `${s.name} row ${r}`;
}

function zeroSumCheck(s: Side, row: Row, r: number): void {
  for (let i = 0; i < row.n; i++) if (s.v[row.off + i] !== 0) return;
  throw new KLRangeError("KL_ZERO_SUM", `${s.shape.rows === 1 ? s.name : `${s.name} row ${r}`} sums to 0 and cannot be normalised`);
}

/** A side's row as probabilities with the smoothing applied (a new array). */
export function smoothRow(row: Row, o: Resolved, s: Side, r: number): Row {
  const { mode, epsilon } = o.smoothing!;
  const n = row.n;
  const t = total(row, o.normalize && row.log === null);
  if (t === 0) throw new KLRangeError("KL_ZERO_SUM", `${rowName(s, r)} sums to 0 and cannot be normalised`);
  const out = probs(row, o.normalize, t);
  for (let i = 0; i < n; i++) {
    if (mode === "clip") out[i] = Math.min(Math.max(out[i], epsilon), 1);
    else if (mode === "additive") out[i] += epsilon;
    else if (out[i] === 0) out[i] = epsilon;
  }
  return { v: out, off: 0, n, log: null };
}

/** Kernels for whole batches: return per-row values (nats, before roots) or null. */
export type FastPath = (measure: MeasureName, p: Side, q: Side | null, rows: number, o: Resolved) => Float64Array | null;

/** Per-row values in nats (squared for jsDistance and hellinger) of a batch. */
export function rowValues(
  measure: MeasureName, p: Side, q: Side | null, o: Resolved, fast: FastPath | null,
  singleKL: ((p: Vector, q: Vector, normalize: boolean) => number) | null = null,
): Float64Array {
  const rows = q === null ? p.shape.rows : pairRows(p.shape, q.shape);
  const fromKernel = fast?.(measure, p, q, rows, o) ?? null;
  if (fromKernel !== null) return fromKernel;
  checkSide(p);
  if (q !== null) checkSide(q);
  const out = new Float64Array(rows);
  const evaluator = new RowEvaluator(p.shape.dim);
  // KL of probabilities: the single-pair path per row (its exact path only where needed),
  // after the zero-total checks that name the row
  const plainKL = singleKL !== null && measure === "kl" && q !== null && o.smoothing === null &&
    p.kind === "probabilities" && q.kind === "probabilities";
  for (let r = 0; r < rows; r++) {
    if (plainKL) {
      const a = rowOf(p, r, o), b = rowOf(q!, r, o);
      out[r] = singleKL(rowVector(a), rowVector(b), o.normalize);
    } else {
      out[r] = exactRow(evaluator, measure, p, q, r, o);
    }
  }
  return out;
}

/** One row, exactly (the JS path). */
export function exactRow(evaluator: RowEvaluator, measure: MeasureName, p: Side, q: Side | null, r: number, o: Resolved): number {
  const smoothing = o.smoothing !== null;
  // clip leaves the values unnormalised (Keras); the other modes always renormalise
  const normalize = smoothing ? o.smoothing!.mode !== "clip" : o.normalize;
  let rp = rowOf(p, r, o);
  if (smoothing) rp = smoothRow(rp, o, p, r);
  if (measure === "entropy") return evaluator.entropy(rp, normalize);
  let rq = rowOf(q!, r, o);
  if (smoothing) rq = smoothRow(rq, o, q!, r);
  return evaluator.measure(measure, rp, rq, normalize, o.alpha);
}

/**
 * From per-row values (nats, before roots) to what the caller asked for: the documented
 * range, base, roots, weights, reduction. +Infinity stays only where it is the exact value
 * (the zeros of `sides` say so); any other value beyond the double range is KL_OVERFLOW.
 */
export function finish(measure: MeasureName, values: Float64Array, o: Resolved, single: boolean, sides: Side[]): number | Float64Array {
  const m = MEASURES[measure];
  const scale = m.usesBase ? o.scale : 1;
  // the range in the caller's base, so that ln 2 in base 2 is exactly 1
  // the documented range holds for distributions (normalised sides, softmaxed logits)
  const normalized = o.smoothing !== null ? o.smoothing.mode !== "clip" : o.normalize || sides.every((s) => s.kind === "logits");
  const min = normalized || m.termsNonNegative ? 0 : -Infinity;
  const max = !normalized ? Infinity : m.usesBase ? m.max / o.logBase : m.max;
  for (let r = 0; r < values.length; r++) {
    let v = values[r];
    if (!Number.isFinite(v)) overflowUnlessInfinite(m, v, sides, r, o);
    v = Math.min(Math.max(v * scale, min), max);
    values[r] = m.root ? Math.sqrt(v) : v;
  }
  return reduce(values, o, single);
}

/** Weights and the reduction over rows (`single`: the one value of an unbatched call). */
export function reduce(values: Float64Array, o: Resolved, single: boolean): number | Float64Array {
  if (single) return values[0];
  const w = o.weights;
  if (w !== null) checkWeights(w, values.length);
  // weights are used relative to the largest, so that their sum cannot overflow
  let wMax = 0;
  if (w !== null) for (let r = 0; r < values.length; r++) wMax = Math.max(wMax, w[r]);
  const weight = (r: number): number => (w === null ? 1 : w[r] / wMax);
  if (o.reduction === "none") {
    if (w !== null) for (let r = 0; r < values.length; r++) values[r] = w[r] === 0 ? 0 : finite(values[r] * weight(r) * wMax, values[r]);
    return values;
  }
  const sum = new Sum(), weights = new Sum();
  for (let r = 0; r < values.length; r++) {
    const wr = weight(r);
    if (wr === 0) continue; // a masked row counts as nothing, even when it is Infinity
    sum.add(values[r] * wr);
    weights.add(wr);
  }
  const total = sum.value;
  if (o.reduction === "sum") return finite(total * (w === null ? 1 : wMax), total);
  if (weights.value === 0) throw new KLRangeError("KL_ZERO_SUM", "options.weights are all 0: the mean is undefined");
  return finite(total / weights.value, total);
}

/** A reduction of finite values must be finite: else KL_OVERFLOW (an Infinity row stays Infinity). */
function finite(result: number, from: number): number {
  if (result === Infinity && from !== Infinity) overflow();
  return result;
}

function overflow(): never {
  throw new KLRangeError("KL_OVERFLOW", "the result exceeds the double range (about 1.8e308); scale the inputs down");
}

/** Row r's value is +Infinity or NaN: fine only for +Infinity that the zeros of the inputs explain. */
function overflowUnlessInfinite(m: MeasureRecord, v: number, sides: Side[], r: number, o: Resolved): void {
  if (v !== Infinity || sides.length !== 2 || o.smoothing !== null) overflow();
  const [p, q] = sides;
  const dim = p.shape.dim;
  const pAt = p.shape.rows === 1 ? 0 : r * dim, qAt = q.shape.rows === 1 ? 0 : r * dim;
  // an element is exactly 0 for probabilities, exactly −Infinity for the log kinds
  const zero = (s: Side, x: number): boolean => (s.kind === "probabilities" ? x === 0 : x === -Infinity);
  let pOnly = false, qOnly = false, both = false;
  for (let i = 0; i < dim; i++) {
    const zp = zero(p, p.v[pAt + i]), zq = zero(q, q.v[qAt + i]);
    if (!zp && zq) pOnly = true;
    else if (zp && !zq) qOnly = true;
    else if (!zp && !zq) both = true;
  }
  const alpha = o.alpha ?? 1;
  const infinite =
    m.infinite === "q-zero-under-p" ? pOnly :
    m.infinite === "either-zero" ? pOnly || qOnly :
    m.infinite === "renyi" ? (alpha >= 1 ? pOnly : !both) : false;
  if (!infinite) overflow();
}

function checkWeights(w: Vector, rows: number): void {
  checkVectorType(w, "options.weights");
  if (w.length !== rows) {
    throw new KLRangeError("KL_BAD_SHAPE", `options.weights has ${w.length} entries for ${rows} rows`);
  }
  checkValues(w, "options.weights", "probabilities", null);
}

/**
 * KL between diagonal Gaussians, per dimension ½[(μ₁ − μ₂)²/σ₂² − (ln r − (r − 1))] with
 * r = σ₁²/σ₂²: the bracket is ≥ 0 and computed from r − 1 = (σ₁² − σ₂²)/σ₂², exact where
 * the variances agree to many digits.
 */
export function gaussianRows(m1: Side, v1: Side, m2: Side, v2: Side): Float64Array {
  const rows1 = pairRows(m1.shape, v1.shape, ["mean1", "var1"]);
  const rows2 = pairRows(m2.shape, v2.shape, ["mean2", "var2"]);
  const rows = pairRows({ rows: rows1, dim: m1.shape.dim }, { rows: rows2, dim: m2.shape.dim }, ["mean1", "mean2"]);
  for (const s of [m1, m2]) checkFinite(s);
  for (const s of [v1, v2]) {
    checkFinite(s);
    for (let i = 0; i < s.v.length; i++) {
      if (s.v[i] <= 0) throw new KLRangeError("KL_BAD_VARIANCE", `${at(s.name, i, s.shape.rows === 1 ? null : s.shape.dim)} is ${s.v[i]}; variances must be > 0`);
    }
  }
  const dim = m1.shape.dim;
  const out = new Float64Array(rows);
  const offset = (s: Side, r: number): number => (s.shape.rows === 1 ? 0 : r * dim);
  for (let r = 0; r < rows; r++) {
    const a = offset(m1, r), b = offset(v1, r), c = offset(m2, r), e = offset(v2, r);
    const sum = new Sum();
    for (let i = 0; i < dim; i++) {
      const s1 = v1.v[b + i], s2 = v2.v[e + i];
      const dm = m1.v[a + i] - m2.v[c + i];
      const u = (s1 - s2) / s2;
      const ratio = s1 / s2;
      // ln r − (r − 1), with ln r from the raw variances where r over/underflows
      const logTerm = ratio === Infinity || ratio < 2.2250738585072014e-308 ? logRatio(s1, s2) - u : log1pMinusX(u, ratio);
      sum.add(0.5 * ((dm / s2) * dm - logTerm));
    }
    out[r] = sum.value;
  }
  return out;
}

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
      else if (p.log !== null && q.log !== null) {
        out[at0 + i] = a * logPair(p, q, i).d;
      } else {
        // one side in the log domain: ln a − ln b from logs (a or b may flush to 0 in double)
        out[at0 + i] = a * (logOf(p, i, logP) - logOf(q, i, logQ));
      }
    }
    return;
  }
  const P = total(p, normalize), Q = total(q, normalize);
  const logQP = normalize ? logRatio(Q, P) : 0;
  for (let i = 0; i < n; i++) out[at0 + i] = exactTerm(p.v[p.off + i], q.v[q.off + i], P, Q, logQP, normalize);
}

/** One term a·ln(a/b) of raw values x, y with totals P, Q (logQP = ln(Q/P)), exactly. */
export function exactTerm(x: number, y: number, P: number, Q: number, logQP: number, normalize: boolean): number {
  if (x === 0) return 0;
  if (y === 0) return Infinity;
  const a = normalize ? x / P : x;
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

/** ln of element i's probability, for either kind of row (logTotal: ln of a probability row's total, or 0). */
function logOf(r: Row, i: number, logTotal: number): number {
  const x = r.v[r.off + i];
  if (r.log !== null) return lnProb(r.log, x);
  return Math.log(x) - logTotal;
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
  return sum.value;
}

/** A row's probabilities: exp of log rows, v/t (t its total when normalising) otherwise. */
function probs(r: Row, normalize: boolean, t?: number): Float64Array {
  const out = new Float64Array(r.n);
  if (r.log !== null) {
    for (let i = 0; i < r.n; i++) out[i] = Math.exp(lnProb(r.log, r.v[r.off + i]));
    return out;
  }
  const divisor = t ?? total(r, normalize);
  for (let i = 0; i < r.n; i++) out[i] = r.v[r.off + i] / divisor;
  return out;
}
