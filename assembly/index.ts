// The kernel module: KL divergence and its relatives over raw pointers into linear memory,
// one file per family, each with its SIMD loop and scalar tail side by side:
//   math.ts      atanh tail, ln(a/b), e^x, e^x − 1, exact additions (once per width)
//   kl.ts        KL sums of f64, f32 and plain Σ p·ln(p/q), and klRows
//   kl-scalar.ts their scalar path: blocks the SIMD path cannot trust, exact for every input
//   kl-lanes.ts  klRows' short rows across lanes (two rows per f64x2, four per f32x4)
//   pair.ts      total variation, Hellinger, Jensen–Shannon, Jeffreys/PSI, Rényi: pairRows
//   logits.ts    KL of softmax rows, streamed in passes; softmaxRows
//   gaussian.ts  KL between diagonal Gaussians
//   smoothing.ts smoothRows
//   matrix.ts    pairwise and topK: row-block products (f64, f32 with per-row shortlists) and
//                the rows' logarithms, lnRows
// Its one import is the host's Math.log (math.ts ln), for the few scalar logarithms.
//
// Outcomes. Every row kernel writes per row [value, status] (two f64, 16 bytes; the status
// a small integer of the bits in math.ts: INVALID, Q_ZERO, LOSSY, REDO) and returns the OR of
// its rows' status words. The wrapper reads only the bits: value is the result where status
// is 0 or Q_ZERO.

// 1 in the relaxed-SIMD build, 0 in the SIMD build (scripts/reoptimize-wasm.mjs): how the
// wrapper names the backend of any module it is given.
export const RELAXED_SIMD: i32 = ASC_FEATURE_RELAXED_SIMD ? 1 : 0;

import { RESULTS } from "./math"; // there, not here: importable without becoming an export (as the status bits)

export function resultsPtr(): usize {
  return RESULTS;
}

// First free byte after static data; the wrapper keeps its scratch area from here on.
export function scratchPtr(): usize {
  return (__heap_base + 63) & ~63;
}

export { klF32, klF64, klRows, plainF64 } from "./kl";
export { pairRows, pairStatus, pairSums, pairTotals, setParameter } from "./pair";
export * from "./logits";
export { gaussianRows } from "./gaussian";
export { smoothRows } from "./smoothing";
export * from "./matrix";
