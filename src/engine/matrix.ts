// pairwise and topK through a matrix product (issue 10), for the measures that decompose:
//     kl:           D(a‖b) = Σ a ln a − Σ a ln b      crossEntropy: H(a, b) = −Σ a ln b
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
import type { Side } from "./sides.js";
import { subVector } from "./vector.js";
import { Sum } from "../exact/sum.js";
import type { MeasureName } from "../measures/registry.js";
import { productTiles } from "../wasm/matrix.js";

const EPS = 2 ** -53;
/** Relative error a product value may keep (today's per-pair results agree to 1e-12; margin for their own error). */
const REL = 2.5e-13;
/** Tie tolerance of topK's selection (src/index.ts), with margin: candidates this close to the k-th are re-ranked. */
const TIE = 1e-14;
/** Below this, q/Q leaves the normal range: ln b is taken as ln q − ln Q instead. */
const MIN_NORMAL = 2.2250738585072014e-308;

type Decomposing = "kl" | "crossEntropy";

/** The measures, sides and options this path takes; anything else keeps the per-pair path. */
export function decomposes(measure: MeasureName, A: Side, B: Side, o: Resolved): measure is Decomposing {
  return (measure === "kl" || measure === "crossEntropy") && o.smoothing === null && o.normalize &&
    A.kind === "probabilities" && B.kind === "probabilities" && simdKernel() !== null;
}

/** Rows normalised (a = p/P), Σ a ln a per row, and which elements are positive, as bitsets. */
interface Rows {
  x: Float64Array;
  /** Σ a ln a of each row (compensated) */
  h: Float64Array;
  /** per row, ⌈dim/32⌉ words: bit k set where the element is > 0 (A) or = 0 (B) */
  bits: Uint32Array;
  /** per row: B has a zero element */
  zeros: Uint8Array;
}

const words = (dim: number): number => (dim + 31) >>> 5;

/** Query rows as a = p/P with Σ a ln a; null when a row sums to 0 or beyond the double range (the per-pair path reports it). */
function queryRows(s: Side): Rows | null {
  const { rows, dim } = s.shape, w = words(dim), v = s.v;
  const x = new Float64Array(rows * dim), h = new Float64Array(rows), bits = new Uint32Array(rows * w);
  for (let r = 0; r < rows; r++) {
    const at = r * dim;
    const total = new Sum();
    for (let k = 0; k < dim; k++) total.add(v[at + k]);
    const t = total.value;
    if (!(t > 0) || t === Infinity) return null;
    const sum = new Sum();
    for (let k = 0; k < dim; k++) {
      const p = v[at + k];
      if (p === 0) continue;
      bits[r * w + (k >>> 5)] |= 1 << (k & 31);
      const a = p / t;
      x[at + k] = a;
      if (a > 0) sum.add(a * Math.log(a));
    }
    h[r] = sum.value;
  }
  return { x, h, bits, zeros: new Uint8Array(0) };
}

/** Candidate rows as ln b = ln(q/Q), 0 where q = 0 (the masks decide those pairs). */
function candidateRows(s: Side): Rows | null {
  const { rows, dim } = s.shape, w = words(dim), v = s.v;
  const x = new Float64Array(rows * dim), bits = new Uint32Array(rows * w), zeros = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const at = r * dim;
    const total = new Sum();
    for (let k = 0; k < dim; k++) total.add(v[at + k]);
    const t = total.value;
    if (!(t > 0) || t === Infinity) return null;
    const lnT = Math.log(t);
    for (let k = 0; k < dim; k++) {
      const q = v[at + k];
      if (q === 0) {
        bits[r * w + (k >>> 5)] |= 1 << (k & 31);
        zeros[r] = 1;
        continue;
      }
      const b = q / t;
      x[at + k] = b >= MIN_NORMAL ? Math.log(b) : Math.log(q) - lnT;
    }
  }
  return { x, h: new Float64Array(0), bits, zeros };
}

/** Some q = 0 under p > 0 in the pair (i, j). */
function infinite(P: Rows, Q: Rows, i: number, j: number, w: number): boolean {
  if (Q.zeros[j] === 0) return false;
  for (let t = 0; t < w; t++) if ((P.bits[i * w + t] & Q.bits[j * w + t]) !== 0) return true;
  return false;
}

/**
 * Values in nats of every pair of a block of query rows, with absolute error bounds. Per
 * pair: g = Σ a ln b (all terms ≤ 0, so Σ|a ln b| = |g|), summed by the kernel within
 * γ(dim/2 + 3)·|g|; ln b within ε·|ln b| each; a and b within 2ε relative each, which moves
 * D by at most 2ε(|Σ a ln a| + |g| + 1) + 2ε; Σ a ln a compensated, within 2ε|h|.
 */
function pairValue(measure: Decomposing, h: number, g: number, dim: number): [number, number] {
  const c = (dim / 2 + 8) * EPS;
  if (measure === "crossEntropy") return [-g, c * -g + 8 * EPS];
  return [h - g, c * -g + 6 * EPS * Math.abs(h) + 8 * EPS];
}

/** Row r of a matrix side as a one-row side. */
function rowSide(s: Side, r: number, asDoubles: boolean): Side {
  const dim = s.shape.dim;
  let v = subVector(s.v, r * dim, (r + 1) * dim);
  // the query row as doubles, as the per-pair path takes it (src/engine/pairs.ts)
  if (asDoubles && v instanceof Float32Array) v = Float64Array.from(v);
  return { v, name: s.name, shape: { rows: 1, dim }, kind: s.kind };
}

/** The candidate rows `js` of B as one side (same element type, so the same kernel as the per-pair path). */
function gather(B: Side, js: ArrayLike<number>, count: number): Side {
  const dim = B.shape.dim;
  const v = B.v instanceof Float32Array ? new Float32Array(count * dim) : new Float64Array(count * dim);
  for (let t = 0; t < count; t++) {
    const j = js[t];
    for (let k = 0; k < dim; k++) v[t * dim + k] = B.v[j * dim + k];
  }
  return { v, name: B.name, shape: { rows: count, dim }, kind: B.kind };
}

/** Exact finished values of query row i against the candidates `js` (the per-pair path). */
function exactPairs(measure: Decomposing, A: Side, B: Side, o: Resolved, i: number, js: Int32Array, count: number): Float64Array {
  const query = rowSide(A, i, true), cands = gather(B, js, count);
  const values = rowValues(measure, query, cands, o, simdRows);
  return finish(measure, values, o, false, [query, cands]) as Float64Array;
}

/** Counters of the last call, for tests and benchmarks. */
export const matrixStats = { pairs: 0, redone: 0, reranked: 0 };

/**
 * The whole pairwise matrix (finished values), or null where this path does not apply
 * (then the caller runs the per-pair path, which also reports any bad row).
 */
export function pairwiseMatrix(measure: Decomposing, A: Side, B: Side, o: Resolved): Float64Array | null {
  const P = queryRows(A), Q = P && candidateRows(B);
  if (P === null || Q === null) return null;
  const m = A.shape.rows, n = B.shape.rows, dim = A.shape.dim, w = words(dim);
  const out = new Float64Array(m * n);
  const redo = new Int32Array(n);
  matrixStats.pairs = m * n;
  matrixStats.redone = 0;
  const ok = productTiles(simdKernel()!, P.x, m, Q.x, n, dim, (i0, j0, rowsX, rowsY, g, stride) => {
    for (let r = 0; r < rowsX; r++) {
      const i = i0 + r, h = P.h[i];
      for (let c = 0; c < rowsY; c++) {
        const j = j0 + c;
        if (infinite(P, Q, i, j, w)) {
          out[i * n + j] = Infinity;
          continue;
        }
        const [value, bound] = pairValue(measure, h, g[r * stride + c], dim);
        // NaN marks a pair for the exact path (after this block: it uses the same scratch)
        out[i * n + j] = bound <= REL * Math.abs(value) ? value : NaN;
      }
    }
  }, (i0, rowsX) => {
    for (let i = i0; i < i0 + rowsX; i++) {
      const row = out.subarray(i * n, (i + 1) * n);
      let count = 0;
      for (let j = 0; j < n; j++) {
        if (!Number.isNaN(row[j])) continue;
        redo[count++] = j;
        row[j] = 0;
      }
      const query = rowSide(A, i, false);
      finish(measure, row, o, false, [query, B]);
      if (count === 0) continue;
      matrixStats.redone += count;
      const exact = exactPairs(measure, A, B, o, i, redo, count);
      for (let t = 0; t < count; t++) row[redo[t]] = exact[t];
    }
  });
  return ok ? out : null;
}

/**
 * topK through the product: per query row, the k-th smallest upper bound (value + bound)
 * caps the k best; every candidate whose lower bound is within TIE of that cap is scored
 * exactly (the per-pair path) and ranked with topK's rule (ties within 4e-15: lower index
 * first). The others cannot enter the k. Null where this path does not apply.
 */
export function topKMatrix(measure: Decomposing, A: Side, B: Side, o: Resolved, k: number): { indices: Int32Array; scores: Float64Array } | null {
  const P = queryRows(A), Q = P && candidateRows(B);
  if (P === null || Q === null) return null;
  const m = A.shape.rows, n = B.shape.rows, dim = A.shape.dim, w = words(dim);
  const indices = new Int32Array(m * k), scores = new Float64Array(m * k);
  let values = new Float64Array(0), bounds = new Float64Array(0);
  const caps = new Float64Array(k), list = new Int32Array(n), exact = new Float64Array(n);
  matrixStats.pairs = m * n;
  matrixStats.reranked = 0;
  const ok = productTiles(simdKernel()!, P.x, m, Q.x, n, dim, (i0, j0, rowsX, rowsY, g, stride) => {
    if (values.length < rowsX * n) {
      values = new Float64Array(rowsX * n);
      bounds = new Float64Array(rowsX * n);
    }
    for (let r = 0; r < rowsX; r++) {
      const i = i0 + r, h = P.h[i];
      for (let c = 0; c < rowsY; c++) {
        const j = j0 + c;
        if (infinite(P, Q, i, j, w)) {
          values[r * n + j] = Infinity;
          bounds[r * n + j] = 0;
          continue;
        }
        const [value, bound] = pairValue(measure, h, g[r * stride + c], dim);
        values[r * n + j] = value;
        bounds[r * n + j] = bound;
      }
    }
  }, (i0, rowsX) => {
    for (let r = 0; r < rowsX; r++) {
      const i = i0 + r, at = r * n;
      // the k smallest upper bounds, ascending (insertion: k is small)
      caps.fill(Infinity);
      for (let j = 0; j < n; j++) {
        const u = values[at + j] + bounds[at + j];
        if (!(u < caps[k - 1])) continue;
        let t = k - 1;
        for (; t > 0 && caps[t - 1] > u; t--) caps[t] = caps[t - 1];
        caps[t] = u;
      }
      const cap = caps[k - 1] + TIE * Math.abs(caps[k - 1]);
      let count = 0, finite = 0;
      for (let j = 0; j < n; j++) {
        if (values[at + j] - bounds[at + j] > cap) continue;
        list[count++] = j;
      }
      // exact scores of the finite ones, in one batch (Infinity is exact already)
      const pending = new Int32Array(count);
      for (let t = 0; t < count; t++) if (values[at + list[t]] !== Infinity) pending[finite++] = list[t];
      const scored = finite > 0 ? exactPairs(measure, A, B, o, i, pending, finite) : exact;
      for (let t = 0, f = 0; t < count; t++) {
        exact[t] = values[at + list[t]] === Infinity ? Infinity : scored[f++];
      }
      matrixStats.reranked += finite;
      selectK(exact, list, count, k, indices, scores, i * k);
    }
  });
  return ok ? { indices, scores } : null;
}

/**
 * topK's selection (src/index.ts) over a shortlist in ascending index order: k passes of
 * the smallest remaining; equal to rounding (4e-15 relative) is a tie, the lower index wins.
 */
function selectK(row: Float64Array, order: Int32Array, count: number, k: number, indices: Int32Array, scores: Float64Array, at: number): void {
  // row[t] is the score of candidate order[t]; swap both together
  for (let t = 0; t < k; t++) {
    let best = t;
    for (let j = t + 1; j < count; j++) {
      const a = row[j], b = row[best];
      const tie = a === b || (a !== Infinity && b !== Infinity && Math.abs(a - b) <= 4e-15 * Math.max(Math.abs(a), Math.abs(b)));
      if (tie ? order[j] < order[best] : a < b) best = j;
    }
    const so = order[t], sv = row[t];
    order[t] = order[best];
    row[t] = row[best];
    order[best] = so;
    row[best] = sv;
    indices[at + t] = order[t];
    scores[at + t] = row[t];
  }
}
