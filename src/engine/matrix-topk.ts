// topK through the matrix product (src/engine/matrix.ts): per query row, a shortlist from
// the error bounds, exact scores where the bounds cannot settle the order, and the selection.
import { simdKernel } from "./backend.js";
import { finish } from "./finish.js";
import {
  candidateRows, epilogue, exactPairs, infinite, matrixStats, pairwiseBlocks, queryRows, REL, symmetric, words, zeroRows, type Decomposing,
} from "./matrix.js";
import type { Resolved } from "./options.js";
import type { Side } from "./sides.js";
import { productTiles } from "../wasm/matrix.js";

/** Tie tolerance of topK's selection (selectK), with margin: candidates this close to the k-th are re-ranked. */
const TIE = 2e-14;

/**
 * topK through the product. Per query row: the k-th smallest upper bound (value + bound)
 * caps the k best, so only candidates whose lower bound is under that cap (the shortlist)
 * can enter. A shortlisted value is kept where its bound is within REL of it (as in
 * pairwise) and its interval, widened by TIE, meets no other shortlisted interval: then
 * its order against every other candidate is certain and no tie can involve it. Every
 * other shortlisted candidate (overlapping clusters: near ties, scaled copies, identical
 * rows) is scored exactly on the per-pair path, and the shortlist is ranked with topK's
 * rule (ties within 4e-15: lower index first). The k chosen are then scored exactly, so
 * the scores are the per-pair path's. Null where this path does not apply.
 */
export function topKMatrix(measure: Decomposing, A: Side, B: Side, o: Resolved, k: number): { indices: Int32Array; scores: Float64Array } | null {
  if (symmetric(measure) || measure === "renyi") return topKOfValues(measure, A, B, o, k);
  const P = queryRows(A, measure), Q = P && candidateRows(B, measure);
  if (P === null || Q === null) return null;
  const m = A.shape.rows, n = B.shape.rows, dim = A.shape.dim, w = words(dim);
  const indices = new Int32Array(m * k), scores = new Float64Array(m * k);
  const { h: hd, c } = epilogue(measure, P, dim);
  const withZeros = zeroRows(Q);
  let products = new Float64Array(0);
  const caps = new Float64Array(k);
  let lists = new Int32Array(0), values = new Float64Array(0), pendingI = new Int32Array(0), pendingJ = new Int32Array(0), pendingAt = new Int32Array(0);
  let infinitePair = new Uint8Array(0);
  const starts = new Int32Array(Math.min(m, 4096) + 1), lows = new Float64Array(n), highs = new Float64Array(n), order = new Int32Array(n);
  matrixStats.pairs = m * n;
  matrixStats.reranked = 0;
  // raw products g of a block of query rows; values and bounds follow from hᵢ, dᵢ, c
  const ok = productTiles(simdKernel()!, P.x, m, Q.x, n, dim, null, (i0, j0, rowsX, rowsY, g, stride) => {
    if (products.length < rowsX * n) {
      products = new Float64Array(rowsX * n);
      lists = new Int32Array(rowsX * n);
      values = new Float64Array(rowsX * n);
      pendingI = new Int32Array(rowsX * n);
      pendingJ = new Int32Array(rowsX * n);
      pendingAt = new Int32Array(rowsX * n);
      infinitePair = new Uint8Array(rowsX * n);
    }
    for (let r = 0; r < rowsX; r++) products.set(g.subarray(r * stride, r * stride + rowsY), r * n + j0);
  }, (i0, rowsX) => {
    // per row: the shortlist lists[starts[r]..starts[r + 1]] with values (NaN: pending exact)
    let count = 0, pending = 0;
    for (let r = 0; r < rowsX; r++) {
      const i = i0 + r, at = r * n, h = hd[2 * i], d = hd[2 * i + 1];
      // NaN where some q = 0 under p > 0: +Infinity exactly
      for (let z = 0; z < withZeros.length; z++) if (infinite(P, Q, i, withZeros[z], w)) products[at + withZeros[z]] = NaN;
      const cap = kthUpperBound(products, at, n, h, c, d, caps);
      starts[r] = count;
      const listed = shortlist(products, at, n, h, c, d, cap, lists, count);
      const settled = settle(products, at, h, c, d, lists, count, listed, values, lows, highs, order);
      for (let t = count; t < count + listed; t++) {
        if (values[t] === values[t]) continue;
        pendingI[pending] = i;
        pendingJ[pending] = lists[t];
        pendingAt[pending++] = t;
      }
      matrixStats.reranked += listed - settled;
      count += listed;
    }
    starts[rowsX] = count;
    // the settled values in the caller's base (finish scales and clamps the finite ones;
    // +Infinity, exact already, and the pending ones, overwritten below, are left out)
    for (let t = 0; t < count; t++) {
      const v = values[t];
      infinitePair[t] = v === Infinity ? 1 : 0;
      if (v !== v || v === Infinity) values[t] = 0;
    }
    finish(measure, values.subarray(0, count), o, false, []);
    for (let t = 0; t < count; t++) if (infinitePair[t] === 1) values[t] = Infinity;
    if (pending > 0) {
      // exact scores of the rest, in one batch for the block
      const exact = exactPairs(measure, A, B, o, pendingI, pendingJ, pending);
      for (let t = 0; t < pending; t++) values[pendingAt[t]] = exact[t];
    }
    for (let r = 0; r < rowsX; r++) {
      const from = starts[r], to = starts[r + 1];
      selectK(values.subarray(from, to), lists.subarray(from, to), to - from, k, indices, scores, (i0 + r) * k);
    }
    // the k scores of each query exactly (the order is already certain): the per-pair
    // path's values, digit for digit
    let chosen = 0;
    for (let t = i0 * k; t < (i0 + rowsX) * k; t++) {
      if (scores[t] === Infinity) continue;
      pendingI[chosen] = Math.floor(t / k);
      pendingJ[chosen] = indices[t];
      pendingAt[chosen++] = t;
    }
    if (chosen === 0) return;
    const exact = exactPairs(measure, A, B, o, pendingI, pendingJ, chosen);
    for (let t = 0; t < chosen; t++) scores[pendingAt[t]] = exact[t];
  });
  return ok ? { indices, scores } : null;
}

/**
 * topK of the measures whose pairs the product finishes in JS (jeffreys, psi, renyi): per
 * block of query rows their finished values (each within REL of the exact one, or exact),
 * then per query every candidate that could be among the k best or tie with one
 * (value·(1 − REL) ≤ the k-th value·(1 + REL + TIE)) scored exactly (+Infinity is exact
 * already), and topK's selection among those: the per-pair path's indices and scores.
 */
function topKOfValues(measure: Decomposing, A: Side, B: Side, o: Resolved, k: number): { indices: Int32Array; scores: Float64Array } | null {
  const m = A.shape.rows, n = B.shape.rows;
  const indices = new Int32Array(m * k), scores = new Float64Array(m * k), caps = new Float64Array(k);
  let starts = new Int32Array(0), cand = new Int32Array(0), listed = new Float64Array(0), exI = cand, exJ = cand, exAt = cand;
  matrixStats.reranked = 0;
  const ok = pairwiseBlocks(measure, A, B, o, null, (i0, rowsX, values) => {
    if (cand.length < rowsX * n) {
      [cand, exI, exJ, exAt] = [0, 0, 0, 0].map(() => new Int32Array(rowsX * n));
      starts = new Int32Array(rowsX + 1);
      listed = new Float64Array(rowsX * n);
    }
    let count = 0, exact = 0;
    for (let r = 0; r < rowsX; r++) {
      const row = values.subarray(r * n, (r + 1) * n), cap = (kthSmallest(row, caps) * (1 + REL + TIE)) / (1 - REL);
      starts[r] = count;
      for (let j = 0; j < n; j++) {
        if (!(row[j] <= cap)) continue;
        if (row[j] < Infinity) {
          exI[exact] = i0 + r;
          exJ[exact] = j;
          exAt[exact++] = count;
        }
        cand[count] = j;
        listed[count++] = row[j];
      }
    }
    starts[rowsX] = count;
    matrixStats.reranked += exact;
    const scored = exactPairs(measure, A, B, o, exI, exJ, exact);
    for (let t = 0; t < exact; t++) listed[exAt[t]] = scored[t];
    for (let r = 0; r < rowsX; r++) {
      const from = starts[r], to = starts[r + 1];
      selectK(listed.subarray(from, to), cand.subarray(from, to), to - from, k, indices, scores, (i0 + r) * k);
    }
  });
  return ok ? { indices, scores } : null;
}

/** The k-th smallest of `row` (caps: k slots, ascending; NaN never enters). */
function kthSmallest(row: Float64Array, caps: Float64Array): number {
  caps.fill(Infinity);
  let last = Infinity;
  for (let j = 0; j < row.length; j++) if (row[j] < last) last = keep(caps, row[j]);
  return last;
}

/** u into caps (the k smallest so far, ascending; u below the last), dropping the last; the new last. */
function keep(caps: Float64Array, u: number): number {
  let t = caps.length - 1;
  for (; t > 0 && caps[t - 1] > u; t--) caps[t] = caps[t - 1];
  caps[t] = u;
  return caps[caps.length - 1];
}

/**
 * Values (nats) of the shortlisted candidates lists[from..from + count) into values[...]:
 * the product's value where it is settled (bound within REL, interval widened by TIE
 * disjoint from every other one), +Infinity for the infinite pairs (NaN products), NaN
 * where the exact path must decide. Returns how many are settled.
 */
function settle(
  g: Float64Array, at: number, h: number, c: number, d: number, list: Int32Array, from: number, count: number,
  values: Float64Array, lows: Float64Array, highs: Float64Array, order: Int32Array,
): number {
  let finite = 0;
  for (let t = 0; t < count; t++) {
    const gj = g[at + list[from + t]];
    if (gj !== gj) {
      values[from + t] = Infinity;
      continue;
    }
    const value = h - gj, bound = c * Math.abs(gj) + d, widen = bound + TIE * Math.abs(value);
    values[from + t] = bound <= REL * Math.abs(value) ? value : NaN;
    lows[t] = value - widen;
    highs[t] = value + widen;
    order[finite++] = t;
  }
  // clusters of overlapping intervals (by ascending lower end): more than one member → exact
  // insertion sort: a shortlist is about k long
  for (let t = 1; t < finite; t++) {
    const x = order[t], low = lows[x];
    let u = t;
    for (; u > 0 && lows[order[u - 1]] > low; u--) order[u] = order[u - 1];
    order[u] = x;
  }
  const sorted = order;
  for (let s = 0; s < finite;) {
    let e = s + 1, high = highs[sorted[s]];
    while (e < finite && lows[sorted[e]] <= high) high = Math.max(high, highs[sorted[e++]]);
    if (e - s > 1) for (let t = s; t < e; t++) values[from + sorted[t]] = NaN;
    s = e;
  }
  let settled = 0;
  for (let t = 0; t < count; t++) if (values[from + t] === values[from + t]) settled++;
  return settled;
}

/**
 * The k-th smallest upper bound h − g + c·|g| + d of a row of products g (caps: k slots,
 * ascending; NaN, the +Infinity pairs, never enters), widened by TIE: no candidate whose
 * lower bound exceeds it can be among the k best.
 */
function kthUpperBound(g: Float64Array, at: number, n: number, h: number, c: number, d: number, caps: Float64Array): number {
  caps.fill(Infinity);
  let last = Infinity;
  for (let j = 0; j < n; j++) {
    const gj = g[at + j];
    const u = h - gj + c * Math.abs(gj) + d;
    if (u < last) last = keep(caps, u);
  }
  return last + TIE * Math.abs(last);
}

/** The candidates of a row that may be among the k best (lower bound ≤ cap; +Infinity ones only when cap is), into list from `from`; their count. */
function shortlist(g: Float64Array, at: number, n: number, h: number, c: number, d: number, cap: number, list: Int32Array, from: number): number {
  let count = from;
  for (let j = 0; j < n; j++) {
    const gj = g[at + j];
    if (gj !== gj ? cap !== Infinity : h - gj - c * Math.abs(gj) - d > cap) continue;
    list[count++] = j;
  }
  return count - from;
}

/**
 * topK's selection (also its per-pair path, src/index.ts) over candidates in ascending index
 * order: k passes of the smallest remaining; equal to rounding (4e-15 relative) is a tie,
 * the lower index wins. +Infinity ties only with itself (|∞ − x| ≤ 4e-15·∞ held for every x).
 */
export function selectK(row: Float64Array, order: Int32Array, count: number, k: number, indices: Int32Array, scores: Float64Array, at: number): void {
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
