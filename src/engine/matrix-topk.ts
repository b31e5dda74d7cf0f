// topK through the matrix product (src/engine/matrix.ts): per query row, a shortlist from
// the error bounds, exact scores where the bounds cannot settle the order, and the selection.
import { simdKernel } from "./backend.js";
import { finish } from "./finish.js";
import {
  candidateRows, epilogue, exactPairs, infinite, matrixStats, pairwiseBlocks, queryRows, REL, symmetric, words, type Decomposing, type Rows,
} from "./matrix.js";
import type { Resolved } from "./options.js";
import type { Side } from "./sides.js";
import { productTiles } from "../wasm/matrix.js";

/** Tie tolerance of topK's selection (selectK), with margin: candidates this close to the k-th are re-ranked. */
const TIE = 2e-14;

/**
 * topK through the product, in two stages. The shortlist: the products in f32
 * (assembly/matrix.ts dotRowsF32) with their error bound; per query row the k-th smallest
 * upper bound (value + bound) caps the k best, so only candidates whose lower bound is under
 * that cap can enter; the kernel keeps those (up to 2k + 16 a row: a row with more, e.g.
 * many identical candidates, has every candidate scored exactly). The re-rank: each
 * shortlisted pair's product again in f64 (dot: the kernel's order of summation, so
 * pairwise's bound), and its value kept where that bound is within REL of it (as in pairwise) and its interval,
 * widened by TIE, meets no other shortlisted interval: then its order against every other
 * candidate is certain and no tie can involve it. Every other shortlisted candidate
 * (overlapping clusters: near ties, scaled copies, identical rows) is scored exactly on the
 * per-pair path, and the shortlist is ranked with topK's rule (ties within 4e-15: lower
 * index first). Every score is the exact path's value within REL. jeffreys, psi and renyi,
 * and a k whose shortlist state does not fit the kernel's area: topKOfValues. Null where no
 * product path applies.
 */
export function topKMatrix(measure: Decomposing, A: Side, B: Side, o: Resolved, k: number): { indices: Int32Array; scores: Float64Array } | null {
  if (symmetric(measure) || measure === "renyi") return topKOfValues(measure, A, B, o, k);
  const P = queryRows(A, measure), Q = P && candidateRows(B, measure);
  if (P === null || Q === null) return null;
  const m = A.shape.rows, n = B.shape.rows, dim = A.shape.dim, w = words(dim);
  const indices = new Int32Array(m * k), scores = new Float64Array(m * k);
  const { h: hd, c: c64 } = epilogue(measure, P, Q, dim), h32 = hd.slice();
  for (let i = 0; i < m; i++) h32[2 * i + 1] += dim * 2 ** -69;
  // the kernel's shortlist of each row of a block: its count and columns, cap + 1 words a row
  const cap = 2 * k + 16, thresholds = new Float64Array(m), kept = new Int32Array(Math.min(m, 64) * (cap + 1));
  let lists: Int32Array = new Int32Array(0), g64 = new Float64Array(0), values = new Float64Array(0), special = new Uint8Array(0);
  const starts = new Int32Array(Math.min(m, 64) + 1), lows = new Float64Array(n), highs = new Float64Array(n), order = new Int32Array(n);
  matrixStats.pairs = m * n;
  matrixStats.reranked = 0;
  matrixStats.shortlisted = 0;
  const { x, y } = f32Rows(P, Q, dim);
  const ok = productTiles(simdKernel()!, x, m, y, n, dim, { h: h32, k, cap, c: f32Bound(dim), tie: TIE, thresholds, kept }, () => {}, (i0, rowsX) => {
    // row r's shortlist, lists[starts[r]..starts[r + 1]] with values (NaN: pending exact): the
    // kept columns, or every candidate where the row has fewer than k finite pairs or overflowed
    const all = (r: number): boolean => !(thresholds[i0 + r] > FEWER_THAN_K) || kept[r * (cap + 1)] > cap;
    for (let r = 0; r < rowsX; r++) starts[r + 1] = starts[r] + (all(r) ? n : kept[r * (cap + 1)]);
    const count = starts[rowsX];
    if (lists.length < count) {
      lists = new Int32Array(count);
      g64 = new Float64Array(count);
      values = new Float64Array(count);
      special = new Uint8Array(count);
    }
    for (let r = 0; r < rowsX; r++) {
      const i = i0 + r, from = starts[r], listed = starts[r + 1] - from;
      matrixStats.shortlisted += listed;
      if (all(r)) {
        // every candidate: +Infinity where some q = 0 under p > 0, the rest exactly
        for (let j = 0; j < n; j++) {
          lists[from + j] = j;
          values[from + j] = infinite(P, Q, i, j, w) ? Infinity : NaN;
        }
        continue;
      }
      // in ascending index order (topK's selection breaks ties by it), each with its f64 product
      for (let t = 0; t < listed; t++) {
        const j = kept[r * (cap + 1) + 1 + t];
        let u = from + t;
        for (; u > from && lists[u - 1] > j; u--) lists[u] = lists[u - 1];
        lists[u] = j;
      }
      for (let t = from; t < from + listed; t++) g64[t] = dot(P.x, i, Q.x, lists[t], dim);
      settle(g64, hd[2 * i], c64, hd[2 * i + 1], from, listed, values, lows, highs, order);
    }
    // the settled values in the caller's base (finish scales and clamps the finite ones;
    // +Infinity, exact already, and the pending NaN are left out)
    for (let t = 0; t < count; t++) {
      const v = values[t];
      special[t] = v === Infinity ? 1 : v !== v ? 2 : 0;
      if (special[t] !== 0) values[t] = 0;
    }
    finish(measure, values.subarray(0, count), o, false, []);
    for (let t = 0; t < count; t++) if (special[t] !== 0) values[t] = special[t] === 1 ? Infinity : NaN;
    rank(measure, A, B, o, k, i0, rowsX, starts, lists, values, indices, scores);
  });
  return ok ? { indices, scores } : topKOfValues(measure, A, B, o, k);
}

/*
 * The shortlist's f32 rows. x: a, or √a, raised to 2⁻⁸⁰ where under it and p > 0 (then f32
 * keeps it positive; a = p/P itself may have underflowed to 0: p = 1e-300 beside 1e300); y: ln b, or √b, and −2¹⁰⁰ where q = 0. A pair with some q = 0 under
 * p > 0 then has a product g < −2²⁰·(1 − 2⁻¹⁰), below every finite pair's (|a·ln b| ≤ 1455
 * summed over a ≤ 1): it never raises a threshold while k finite pairs exist, never stays on
 * a shortlist, and a threshold under FEWER_THAN_K says there are fewer (then every candidate
 * is shortlisted). The raised a moves a product by at most 2⁻⁸⁰·1455 < 2⁻⁶⁹ per element.
 */
const FEWER_THAN_K = -(2 ** 19);

function f32Rows(P: Rows, Q: Rows, dim: number): { x: Float32Array; y: Float32Array } {
  const x = new Float32Array(P.x), y = new Float32Array(Q.x), w = words(dim);
  for (let t = 0, k = 0; t < x.length; t++) {
    if (x[t] < 2 ** -80 && (k = t % dim, (P.bits[((t - k) / dim) * w + (k >>> 5)] & (1 << (k & 31))) !== 0)) x[t] = 2 ** -80;
  }
  for (let j = 0; j < Q.zeros.length; j++) {
    if (Q.zeros[j] === 0) continue;
    for (let t = 0; t < dim; t++) if ((Q.bits[j * w + (t >>> 5)] & (1 << (t & 31))) !== 0) y[j * dim + t] = -(2 ** 100);
  }
  return { x, y };
}

/*
 * The f32 products' bound (the shortlist): x and y rounded to f32 (2u each), the kernel's
 * sums within γ(dim/4 + 6) (u = 2⁻²⁴), so |Ĝ − g| ≤ (dim/4 + 10)·u·|Ĝ| (every term has one
 * sign; the 2u to spare cover the second-order terms and |g| against |Ĝ|), plus dᵢ (the f64
 * inputs' own error, as in the f64 bound) and 2⁻⁶⁹ per element (f32Rows' raised a; f32
 * underflow, a product off by at most 2⁻¹⁵⁰·(|y| + 1), is far less).
 */
const f32Bound = (dim: number): number => (dim / 4 + 10) * 2 ** -24;

/**
 * Σₖ x[i·dim + k]·y[j·dim + k], the re-rank's f64 product: four sums of every fourth term (the
 * last dim % 4 terms one to each), then added in pairs: each term meets at most ⌈dim/4⌉ + 2
 * roundings, within pairwise's bound γ(dim/2 + 3)·Σ|xₖ·yₖ|; four chains, since V8 waits on each
 * addition of a chain (1.09× topK against two chains).
 */
function dot(x: Float64Array, i: number, y: Float64Array, j: number, dim: number): number {
  const a = i * dim, b = j * dim;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, k = 0;
  for (; k + 3 < dim; k += 4) {
    s0 += x[a + k] * y[b + k];
    s1 += x[a + k + 1] * y[b + k + 1];
    s2 += x[a + k + 2] * y[b + k + 2];
    s3 += x[a + k + 3] * y[b + k + 3];
  }
  if (k < dim) s0 += x[a + k] * y[b + k];
  if (k + 1 < dim) s1 += x[a + k + 1] * y[b + k + 1];
  if (k + 2 < dim) s2 += x[a + k + 2] * y[b + k + 2];
  return s0 + s2 + (s1 + s3);
}

/**
 * topK of the measures without an f32 shortlist (jeffreys, psi: their value needs both rows'
 * Σ a ln a; renyi: a logarithm per pair): per block of query rows their finished values (each
 * within REL of the exact one, or exact), then per query every candidate that could be among
 * the k best or tie with one (value·(1 − REL) ≤ the k-th value·(1 + REL + TIE)) scored exactly
 * (+Infinity is exact already), and topK's selection among those: the per-pair path's indices
 * and scores.
 */
function topKOfValues(measure: Decomposing, A: Side, B: Side, o: Resolved, k: number): { indices: Int32Array; scores: Float64Array } | null {
  const m = A.shape.rows, n = B.shape.rows;
  const indices = new Int32Array(m * k), scores = new Float64Array(m * k), caps = new Float64Array(k);
  let starts = new Int32Array(0), cand = new Int32Array(0), listed = new Float64Array(0);
  matrixStats.reranked = 0;
  const ok = pairwiseBlocks(measure, A, B, o, null, (i0, rowsX, values) => {
    if (cand.length < rowsX * n) {
      cand = new Int32Array(rowsX * n);
      starts = new Int32Array(rowsX + 1);
      listed = new Float64Array(rowsX * n);
    }
    let count = 0;
    for (let r = 0; r < rowsX; r++) {
      const row = values.subarray(r * n, (r + 1) * n), cap = (kthSmallest(row, caps) * (1 + REL + TIE)) / (1 - REL);
      starts[r] = count;
      for (let j = 0; j < n; j++) {
        if (!(row[j] <= cap)) continue;
        cand[count] = j;
        listed[count++] = row[j] < Infinity ? NaN : Infinity;
      }
    }
    starts[rowsX] = count;
    rank(measure, A, B, o, k, i0, rowsX, starts, cand, listed, indices, scores);
  });
  return ok ? { indices, scores } : null;
}

/**
 * topK's selection in a block of query rows (from i0): row r's candidates lists[starts[r]..starts[r + 1]],
 * their scores in values, NaN where the exact per-pair path scores them (here, in one batch).
 */
function rank(
  measure: Decomposing, A: Side, B: Side, o: Resolved, k: number, i0: number, rowsX: number, starts: Int32Array, lists: Int32Array, values: Float64Array,
  indices: Int32Array, scores: Float64Array,
): void {
  const count = starts[rowsX], is = new Int32Array(count), js = new Int32Array(count), at = new Int32Array(count);
  let pending = 0;
  for (let r = 0; r < rowsX; r++) {
    for (let t = starts[r]; t < starts[r + 1]; t++) {
      if (values[t] === values[t]) continue;
      is[pending] = i0 + r;
      js[pending] = lists[t];
      at[pending++] = t;
    }
  }
  matrixStats.reranked += pending;
  const exact = exactPairs(measure, A, B, o, is, js, pending);
  for (let t = 0; t < pending; t++) values[at[t]] = exact[t];
  for (let r = 0; r < rowsX; r++) selectK(values, lists, starts[r], starts[r + 1] - starts[r], k, indices, scores, (i0 + r) * k);
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
 * Values (nats) of a row's shortlisted candidates values[from..from + count), from their f64
 * products g[from..from + count): the product's value where it is settled (bound within REL,
 * interval widened by TIE disjoint from every other one), NaN where the exact path must decide.
 */
function settle(
  g: Float64Array, h: number, c: number, d: number, from: number, count: number,
  values: Float64Array, lows: Float64Array, highs: Float64Array, order: Int32Array,
): void {
  for (let t = 0; t < count; t++) {
    const gj = g[from + t];
    const value = h - gj, bound = c * Math.abs(gj) + d, widen = bound + TIE * Math.abs(value);
    values[from + t] = bound <= REL * Math.abs(value) ? value : NaN;
    lows[t] = value - widen;
    highs[t] = value + widen;
    order[t] = t;
  }
  // clusters of overlapping intervals (by ascending lower end): more than one member → exact
  // insertion sort: a shortlist is about k long
  for (let t = 1; t < count; t++) {
    const x = order[t], low = lows[x];
    let u = t;
    for (; u > 0 && lows[order[u - 1]] > low; u--) order[u] = order[u - 1];
    order[u] = x;
  }
  const sorted = order;
  for (let s = 0; s < count;) {
    let e = s + 1, high = highs[sorted[s]];
    while (e < count && lows[sorted[e]] <= high) high = Math.max(high, highs[sorted[e++]]);
    if (e - s > 1) for (let t = s; t < e; t++) values[from + sorted[t]] = NaN;
    s = e;
  }
}

/**
 * topK's selection (also its per-pair path, src/index.ts) over candidates in ascending index
 * order: k passes of the smallest remaining; equal to rounding (4e-15 relative) is a tie,
 * the lower index wins. +Infinity ties only with itself (|∞ − x| ≤ 4e-15·∞ held for every x).
 */
export function selectK(row: Float64Array, order: Int32Array, from: number, count: number, k: number, indices: Int32Array, scores: Float64Array, at: number): void {
  // row[from + t] is the score of candidate order[from + t]; swap both together
  for (let t = from; t < from + k; t++) {
    let best = t;
    for (let j = t + 1; j < from + count; j++) {
      const a = row[j], b = row[best];
      const tie = a === b || (a !== Infinity && b !== Infinity && Math.abs(a - b) <= 4e-15 * Math.max(Math.abs(a), Math.abs(b)));
      if (tie ? order[j] < order[best] : a < b) best = j;
    }
    const so = order[t], sv = row[t];
    order[t] = order[best];
    row[t] = row[best];
    order[best] = so;
    row[best] = sv;
    indices[at + t - from] = order[t];
    scores[at + t - from] = row[t];
  }
}
