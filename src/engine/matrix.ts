// pairwise and topK through a matrix product (issue 10), for the measures that decompose:
//     kl:           D(a‖b) = Σ a ln a − Σ a ln b      crossEntropy: H(a, b) = −Σ a ln b
//     hellinger²:   1 − Σ √a·√b (the Bhattacharyya coefficient as the product √A·√Bᵀ)
//     jeffreys/psi: Σ a ln a + Σ b ln b − Σ (a ln b + b ln a), both cross sums one product of
//                   the rows [a, ln a] and [ln b, b] (2·dim long); +Infinity where the supports differ
//     renyi:        D_α = ln(Σ aᵅ·b¹⁻ᵅ)/(α − 1), the sum the product Aᵅ·(B¹⁻ᵅ)ᵀ (α finite, ≠ 1)
// with a = p/P, b = q/Q (rows normalised by their exact sums). Σ a ln a is summed once per
// query row (compensated); the logarithms ln b once per candidate row; the cross terms of
// every pair are one product A·(ln B)ᵀ on the SIMD kernel (assembly/matrix.ts). Zeros are
// handled by support masks, not −∞ arithmetic: a pair with some q = 0 under p > 0 is
// +Infinity exactly, and ln b is taken as 0 there otherwise (a = 0 makes the term 0).
// Every computed value carries an error bound; a pair whose bound exceeds REL·|value| (a
// result small against the cancellation it went through: near-identical rows, identical
// rows that must be exactly 0) is redone by the exact per-pair path, and topK re-ranks
// exactly every candidate the bounds cannot rule out of the k best.
import { simdKernel, simdRows } from "./backend.js";
import { finish } from "./finish.js";
import type { Resolved } from "./options.js";
import { rowValues } from "./rows.js";
import { rowSide, type Side } from "./sides.js";
import type { Vector } from "./vector.js";
import { MIN_NORMAL } from "../exact/log.js";
import { Sum } from "../exact/sum.js";
import type { MeasureName } from "../measures/registry.js";
import { lnRows, productTiles, type Epilogue } from "../wasm/matrix.js";

const EPS = 2 ** -53;
/** Relative error a product value may keep (today's per-pair results agree to 1e-12; margin for their own error). */
export const REL = 2.5e-13;

export type Decomposing = "kl" | "crossEntropy" | "hellinger" | "jeffreys" | "psi" | "renyi";
/** jeffreys and psi (the same value in nats): the symmetric form, two products in one */
export const symmetric = (measure: Decomposing): boolean => measure === "jeffreys" || measure === "psi";

/** The measures, sides and options this path takes; anything else keeps the per-pair path. */
export function decomposes(measure: MeasureName, A: Side, B: Side, o: Resolved): measure is Decomposing {
  const renyi = measure === "renyi" && o.alpha! < Infinity && o.alpha !== 1;
  return (renyi || measure === "kl" || measure === "crossEntropy" || measure === "hellinger" || symmetric(measure as Decomposing)) && o.smoothing === null && o.normalize &&
    A.kind === "probabilities" && B.kind === "probabilities" && simdKernel() !== null;
}

/** Rows normalised (a = p/P), Σ a ln a per row, and which elements are positive, as bitsets. */
export interface Rows {
  x: Float64Array;
  /** Σ a ln a of each row (compensated) */
  h: Float64Array;
  /** per row, ⌈dim/32⌉ words: bit k set where the element is > 0 (A) or = 0 (B) */
  bits: Uint32Array;
  /** per row: B has a zero element */
  zeros: Uint8Array;
}

export const words = (dim: number): number => (dim + 31) >>> 5;

/**
 * Each row's compensated total, or null where one is 0 or 2^1023 or more or an element is not a
 * probability (NaN, negative, infinite): the per-pair path checks and reports those. This is
 * the product path's only look at the values before it uses them (matrixPair leaves them to it).
 */
function rowTotals(s: Side): Float64Array | null {
  const { rows, dim } = s.shape, v = s.v, totals = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const total = new Sum();
    for (let k = r * dim; k < (r + 1) * dim; k++) {
      const x = v[k];
      if (!(x >= 0 && x < Infinity)) return null;
      total.add(x);
    }
    // (below 2^1023: the kernel's lnRows forms q + t)
    const t = (totals[r] = total.total);
    if (!(t > 0 && t < 2 ** 1023)) return null;
  }
  return totals;
}

/**
 * ln(q/t) of every element (t its row's total) on the SIMD kernel (assembly/matrix.ts lnRows),
 * within 8ε·|ln(q/t)|, q/t never formed; 0 where q is 0 or subnormal (lnAt decides those:
 * the kernel's logarithms take elements from MIN_NORMAL up).
 */
function rowLogs(s: Side, totals: Float64Array): Float64Array | null {
  const out = new Float64Array(s.v.length);
  return totals.every((t) => t >= MIN_NORMAL) && lnRows(simdKernel()!, s.v, s.shape.dim, totals, out) ? out : null;
}

/** ln(q/t) of element i > 0: the kernel's where q is normal, else ln q − ln t. */
const lnAt = (ln: Float64Array, i: number, q: number, t: number): number => (q >= MIN_NORMAL ? ln[i] : Math.log(q) - Math.log(t));

/**
 * Query rows as a = p/P with Σ a ln a (kl only; hellinger: √a); null where a row sums to 0 or
 * beyond the double range (the per-pair path reports it).
 */
export function queryRows(s: Side, measure: Decomposing): Rows | null {
  const root = measure === "hellinger", totals = rowTotals(s), ln = totals && measure === "kl" ? rowLogs(s, totals) : null;
  if (totals === null || (measure === "kl" && ln === null)) return null;
  const { rows, dim } = s.shape, w = words(dim), v = s.v;
  const x = new Float64Array(rows * dim), h = new Float64Array(rows), bits = new Uint32Array(rows * w);
  for (let r = 0; r < rows; r++) {
    const at = r * dim, t = totals[r], sum = new Sum();
    for (let k = 0; k < dim; k++) {
      const p = v[at + k];
      if (p === 0) continue;
      bits[r * w + (k >>> 5)] |= 1 << (k & 31);
      const a = p / t;
      x[at + k] = root ? Math.sqrt(a) : a;
      if (ln !== null) sum.add(a * lnAt(ln, at + k, p, t));
    }
    h[r] = sum.total;
  }
  return { x, h, bits, zeros: new Uint8Array(0) };
}

/** Candidate rows as ln b = ln(q/Q), 0 where q = 0 (the masks decide those pairs); hellinger: √b, no masks. */
export function candidateRows(s: Side, measure: Decomposing): Rows | null {
  const root = measure === "hellinger", totals = rowTotals(s), x = totals && (root ? new Float64Array(s.v.length) : rowLogs(s, totals));
  if (totals === null || x === null) return null;
  const { rows, dim } = s.shape, w = words(dim), v = s.v;
  const bits = new Uint32Array(rows * w), zeros = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const at = r * dim, t = totals[r];
    for (let k = 0; k < dim; k++) {
      const q = v[at + k];
      if (q === 0 && !root) {
        bits[r * w + (k >>> 5)] |= 1 << (k & 31);
        zeros[r] = 1;
      } else if (root) x[at + k] = Math.sqrt(q / t);
      else if (q < MIN_NORMAL) x[at + k] = lnAt(x, at + k, q, t);
    }
  }
  return { x, h: new Float64Array(0), bits, zeros };
}

/**
 * jeffreys rows, 2·dim long: [a, ln a] (query) or [ln b, b] (candidate), 0 where the element
 * is 0; Σ a ln a per row; bits: the zero elements. Null as queryRows.
 */
function symmetricRows(s: Side, query: boolean): Rows | null {
  const totals = rowTotals(s), ln = totals && rowLogs(s, totals);
  if (totals === null || ln === null) return null;
  const { rows, dim } = s.shape, w = words(dim), v = s.v;
  const x = new Float64Array(2 * rows * dim), h = new Float64Array(rows), bits = new Uint32Array(rows * w), zeros = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const at = r * dim, t = totals[r], sum = new Sum(), value = 2 * at + (query ? 0 : dim), log = 2 * at + (query ? dim : 0);
    for (let k = 0; k < dim; k++) {
      const p = v[at + k];
      if (p === 0) {
        bits[r * w + (k >>> 5)] |= 1 << (k & 31);
        zeros[r] = 1;
        continue;
      }
      const a = p / t, l = lnAt(ln, at + k, p, t);
      x[value + k] = a;
      x[log + k] = l;
      sum.add(a * l);
    }
    h[r] = sum.total;
  }
  return { x, h, bits, zeros };
}

/**
 * renyi rows: aᵅ (query, e = α; bits: a > 0) or b¹⁻ᵅ (candidate, e = 1 − α; bits: b = 0),
 * 0 where the element is 0. h[r] is NaN where a power leaves [2⁻⁵⁰⁰, 2⁵⁰⁰] (every pair with
 * that row is redone: past it a product could underflow or overflow) or a probability is
 * subnormal (1e-4 off at α = 0.999), else 0. Null as queryRows.
 */
function powerRows(s: Side, e: number, query: boolean): Rows | null {
  const totals = rowTotals(s);
  if (totals === null) return null;
  const { rows, dim } = s.shape, w = words(dim), v = s.v;
  const x = new Float64Array(rows * dim), h = new Float64Array(rows), bits = new Uint32Array(rows * w), zeros = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const at = r * dim, t = totals[r];
    for (let k = 0; k < dim; k++) {
      const p = v[at + k];
      if ((p > 0) === query) bits[r * w + (k >>> 5)] |= 1 << (k & 31);
      if (p === 0) {
        zeros[r] = 1;
        continue;
      }
      // a subnormal p/t carries few digits, which a small |e| lifts into a power near 1
      const a = p / t, y = (x[at + k] = Math.pow(a, e));
      if (!(y >= 2 ** -500 && y <= 2 ** 500 && a >= MIN_NORMAL)) h[r] = NaN;
    }
  }
  return { x, h, bits, zeros };
}

/*
 * renyi's bound: a = p/P is within 2ε relative, so aᵅ within (2α + 1)ε (Math.pow within
 * an ulp), b¹⁻ᵅ within (2|1 − α| + 1)ε; the terms are ≥ 0, so the kernel's sum S is within
 * (dim/2 + 3)ε·S: S within c·S, c = (dim/2 + 2α + 2|1 − α| + 8)ε (with margin). Then
 * ln S within c + ε|ln S| (c < 2⁻³⁰), and D = ln S/(α − 1) within that over |α − 1|, plus ε|D|.
 */
function renyiValues(P: Rows, Q: Rows, alpha: number, i0: number, j0: number, rowsX: number, rowsY: number, g: Float64Array, stride: number, dim: number): number {
  const w = words(dim), c = (dim / 2 + 2 * alpha + 2 * Math.abs(1 - alpha) + 8) * EPS, over = 1 / (alpha - 1);
  let marked = 0;
  for (let r = 0; r < rowsX; r++) {
    const i = i0 + r;
    for (let t = 0; t < rowsY; t++) {
      const j = j0 + t, s = g[r * stride + t], ln = Math.log(s);
      // α > 1: some b = 0 under a > 0 is +Infinity; α < 1: S = 0 (no common support) is ln 0·over = +Infinity;
      // NaN (a row out of range) is redone
      let value = alpha > 1 && Q.zeros[j] !== 0 && infinite(P, Q, i, j, w) ? Infinity : ln * over + P.h[i] + Q.h[j];
      if (value !== Infinity && !((c + EPS * Math.abs(ln)) * Math.abs(over) + EPS * Math.abs(value) <= REL * Math.abs(value))) {
        value = NaN;
        marked++;
      }
      g[r * stride + t] = value;
    }
  }
  return marked;
}

/** The rows' bits differ (jeffreys: some element is 0 on one side only). */
function differ(P: Rows, Q: Rows, i: number, j: number, w: number): boolean {
  for (let t = 0; t < w; t++) if (P.bits[i * w + t] !== Q.bits[j * w + t]) return true;
  return false;
}

/** Some q = 0 under p > 0 in the pair (i, j). */
export function infinite(P: Rows, Q: Rows, i: number, j: number, w: number): boolean {
  if (Q.zeros[j] === 0) return false;
  for (let t = 0; t < w; t++) if ((P.bits[i * w + t] & Q.bits[j * w + t]) !== 0) return true;
  return false;
}

/*
 * Error bound of a pair (the kernel applies it, assembly/matrix.ts): g = Σ a ln b has all
 * terms ≤ 0, so Σ|a ln b| = |g|, and the kernel sums it within γ(dim/2 + 3)·|g|; each ln b
 * (and ln a) is within 8ε of itself (lnRows; 3.6ε the worst seen against mpmath); a and the
 * totals are within 2ε relative each, which moves D by at most 2ε(|Σ a ln a| + |g| + 1) + 2ε;
 * Σ a ln a is compensated, within 2ε|h|. Hence
 * |error| ≤ (dim/2 + 15)·ε·|g| + 13ε·|h| + 8ε (crossEntropy: no h).
 * hellinger (squared, before the root): 1 − g with g = Σ √a·√b, terms ≥ 0, each √ within
 * 1.5ε relative: the same bound with h = 1 and no logarithms.
 * jeffreys: D(a‖b) + D(b‖a) = hᵢ + hⱼ − g with g = Σ a ln b + Σ b ln a (terms ≤ 0) summed
 * over 2·dim products, so (dim + 15)·ε·|g| + 13ε·(|hᵢ| + |hⱼ|) + 16ε: the same bound over the
 * product's length, with a column term hⱼ, eⱼ = 13ε·|hⱼ| (zero for the others).
 */

// pairs redone per batch: at most this many elements per side (1 MiB of doubles), so that a
// call whose pairs are mostly near-identical still streams through bounded memory
const BATCH_ELEMENTS = 1 << 17;

/**
 * Exact finished values of the pairs (A row is[t], B row js[t]), t < count: the per-pair
 * path in batches (the query rows as doubles, as src/engine/pairs.ts takes them; the
 * candidate rows in B's element type, so each pair meets the same kernel as there). The
 * gather buffers live for this call only.
 */
export function exactPairs(measure: Decomposing, A: Side, B: Side, o: Resolved, is: Int32Array, js: Int32Array, count: number): Float64Array {
  const dim = A.shape.dim;
  const per = Math.max(1, Math.min(count, Math.floor(BATCH_ELEMENTS / dim)));
  const p = new Float64Array(per * dim);
  const q = B.v instanceof Float32Array ? new Float32Array(per * dim) : new Float64Array(per * dim);
  const out = new Float64Array(count);
  for (let from = 0; from < count; from += per) {
    const n = Math.min(per, count - from);
    copyRows(p, A.v, is.subarray(from, from + n), n, dim);
    copyRows(q, B.v, js.subarray(from, from + n), n, dim);
    const shape = { rows: n, dim };
    const ps: Side = { v: p.subarray(0, n * dim), name: A.name, shape, kind: A.kind };
    const qs: Side = { v: q.subarray(0, n * dim), name: B.name, shape, kind: B.kind };
    out.set(finish(measure, rowValues(measure, ps, qs, o, simdRows), o, false, [ps, qs]) as Float64Array, from);
  }
  return out;
}

/** dst row t = src row rows[t] (an element loop: faster than a subarray per row). */
function copyRows(dst: Float64Array | Float32Array, src: Vector, rows: Int32Array, count: number, dim: number): void {
  if (dst instanceof Float64Array && src instanceof Float64Array) return copyRows64(dst, src, rows, count, dim);
  for (let t = 0; t < count; t++) {
    const from = rows[t] * dim, to = t * dim;
    for (let k = 0; k < dim; k++) dst[to + k] = src[from + k];
  }
}

function copyRows64(dst: Float64Array, src: Float64Array, rows: Int32Array, count: number, dim: number): void {
  for (let t = 0; t < count; t++) {
    const from = rows[t] * dim, to = t * dim;
    for (let k = 0; k < dim; k++) dst[to + k] = src[from + k];
  }
}

/** The same array twice as long (its values kept). */
function grow(a: Int32Array): Int32Array {
  const b = new Int32Array(2 * a.length);
  b.set(a);
  return b;
}

/** Counters of the last call, for tests and benchmarks. */
export const matrixStats = { pairs: 0, redone: 0, reranked: 0, shortlisted: 0 };

/**
 * Per query row (hᵢ, dᵢ) and per candidate row (hⱼ, eⱼ): the value of a pair is (hᵢ + hⱼ) − g,
 * its error bound c·|g| + dᵢ + eⱼ (see above); `length` is the product's (jeffreys: 2·dim).
 */
export function epilogue(measure: Decomposing, P: Rows, Q: Rows, length: number): Epilogue {
  const sym = symmetric(measure), logs = sym || measure === "kl", rows = P.h.length, h = new Float64Array(2 * rows);
  for (let i = 0; i < rows; i++) {
    h[2 * i] = logs ? P.h[i] : measure === "hellinger" ? 1 : 0;
    h[2 * i + 1] = (logs ? 13 * EPS * Math.abs(P.h[i]) : 0) + (sym ? 16 : 8) * EPS;
  }
  const col = new Float64Array(2 * Q.zeros.length);
  for (let j = 0; sym && j < Q.h.length; j++) {
    col[2 * j] = Q.h[j];
    col[2 * j + 1] = 13 * EPS * Math.abs(Q.h[j]);
  }
  return { h, col, c: (length / 2 + 15) * EPS, rel: REL };
}

/** Candidate rows with a zero element (only their pairs can be +Infinity), ascending. */
export function zeroRows(Q: Rows): Int32Array {
  const list: number[] = [];
  for (let j = 0; j < Q.zeros.length; j++) if (Q.zeros[j] !== 0) list.push(j);
  return Int32Array.from(list);
}

/**
 * The whole pairwise matrix (finished values), or null where this path does not apply
 * (then the caller runs the per-pair path, which also reports any bad row).
 */
export function pairwiseMatrix(measure: Decomposing, A: Side, B: Side, o: Resolved): Float64Array | null {
  const out = new Float64Array(A.shape.rows * B.shape.rows);
  return pairwiseBlocks(measure, A, B, o, out) ? out : null;
}

/**
 * The pairwise values block of query rows by block: into `out` (m × n) when given, else
 * into a block buffer (rows from i0 at 0) handed to `onBlock(i0, rowsX, values)` finished,
 * for topK. False where this path does not apply.
 */
export function pairwiseBlocks(measure: Decomposing, A: Side, B: Side, o: Resolved, out: Float64Array | null, onBlock?: (i0: number, rowsX: number, values: Float64Array) => void): boolean {
  const sym = symmetric(measure), alpha = measure === "renyi" ? o.alpha! : 0;
  const P = alpha !== 0 ? powerRows(A, alpha, true) : sym ? symmetricRows(A, true) : queryRows(A, measure);
  const Q = P && (alpha !== 0 ? powerRows(B, 1 - alpha, false) : sym ? symmetricRows(B, false) : candidateRows(B, measure));
  if (P === null || Q === null) return false;
  const m = A.shape.rows, n = B.shape.rows, dim = A.shape.dim, w = words(dim);
  let values = new Float64Array(0);
  const rowsAt = (i0: number, rowsX: number): Float64Array => {
    if (out !== null) return out.subarray(i0 * n, (i0 + rowsX) * n);
    if (values.length < rowsX * n) values = new Float64Array(rowsX * n);
    return values.subarray(0, rowsX * n);
  };
  const withZeros = alpha !== 0 ? new Int32Array(0) : zeroRows(Q), special = sym ? differ : infinite;
  let redoI: Int32Array = new Int32Array(64), redoJ: Int32Array = new Int32Array(64);
  let markedInBlock = 0;
  matrixStats.pairs = m * n;
  matrixStats.redone = 0;
  // the kernel writes (hᵢ + hⱼ) − g, or NaN for the exact path (run after the block: it uses
  // the same scratch); then +Infinity where the supports decide it (only rows with a zero can)
  const length = sym ? 2 * dim : dim;
  return productTiles(simdKernel()!, P.x, m, Q.x, n, length, alpha !== 0 ? null : epilogue(measure, P, Q, length), (i0, j0, rowsX, rowsY, g, stride, marked) => {
    markedInBlock += alpha !== 0 ? renyiValues(P, Q, alpha, i0, j0, rowsX, rowsY, g, stride, dim) : marked;
    const rows = rowsAt(i0, rowsX);
    for (let r = 0; r < rowsX; r++) rows.set(g.subarray(r * stride, r * stride + rowsY), r * n + j0);
    for (let z = 0; z < withZeros.length; z++) {
      const j = withZeros[z];
      if (j < j0 || j >= j0 + rowsY) continue;
      for (let i = i0; i < i0 + rowsX; i++) if (special(P, Q, i, j, w)) rows[(i - i0) * n + j] = Infinity;
    }
    for (let i = i0; sym && i < i0 + rowsX; i++) {
      if (P.zeros[i] === 0) continue;
      for (let j = j0; j < j0 + rowsY; j++) if (differ(P, Q, i, j, w)) rows[(i - i0) * n + j] = Infinity;
    }
  }, (i0, rowsX) => {
    const rows = rowsAt(i0, rowsX);
    let count = 0;
    for (let i = i0; i < i0 + rowsX; i++) {
      const row = rows.subarray((i - i0) * n, (i - i0 + 1) * n);
      for (let j = 0; markedInBlock > 0 && j < n; j++) {
        if (row[j] === row[j]) continue;
        if (count === redoI.length) {
          redoI = grow(redoI);
          redoJ = grow(redoJ);
        }
        redoI[count] = i;
        redoJ[count++] = j;
        row[j] = 0;
      }
      finish(measure, row, o, false, [rowSide(A, i), B]);
    }
    markedInBlock = 0;
    if (count > 0) {
      // the block's marked pairs on the exact path, in one batch
      matrixStats.redone += count;
      const exact = exactPairs(measure, A, B, o, redoI, redoJ, count);
      for (let t = 0; t < count; t++) rows[(redoI[t] - i0) * n + redoJ[t]] = exact[t];
    }
    onBlock?.(i0, rowsX, rows);
  });
}
