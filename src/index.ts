// kl-simd: Kullback–Leibler divergence on a WebAssembly SIMD kernel, with a plain-JS fallback.
import { KLRangeError, KLTypeError, type KLErrorCode } from "./errors.js";
import { guarded, simdRows } from "./engine/backend.js";
import { finish } from "./engine/finish.js";
import { gaussianValues } from "./engine/gaussian.js";
import { resolve, type BatchOptions, type InputKind, type ScoreOptions, type ScoreResult, type Smoothing } from "./engine/options.js";
import { decomposes, pairwiseMatrix } from "./engine/matrix.js";
import { selectK, topKMatrix } from "./engine/matrix-topk.js";
import { matrixPair, pairEvaluator } from "./engine/pairs.js";
import { rowValues } from "./engine/rows.js";
import { side, type Side } from "./engine/sides.js";
import { isCoreOptions, klCore } from "./engine/single.js";
import { terms } from "./engine/terms.js";
import type { KLOptions, Vector } from "./engine/vector.js";
import { MEASURE_NAMES, MEASURES, measureOf, type MeasureName } from "./measures/registry.js";
import type { WasmSource } from "./wasm/load.js";

export { backend, init, kernelModule, useBackend, type Backend } from "./engine/backend.js";
export { KLRangeError, KLTypeError };
/** Every measure name `score`, `pairwise`, `topK` and kl-simd/parallel accept. */
export const measureNames: readonly MeasureName[] = MEASURE_NAMES;
export type { BatchOptions, InputKind, KLErrorCode, KLOptions, MeasureName, ScoreOptions, ScoreResult, Smoothing, Vector, WasmSource };

/** A two-sided measure: a number for one pair, per-row values or their reduction with `dim`. */
export type TwoSided = <O extends ScoreOptions>(p: Vector, q: Vector, options?: O) => ScoreResult<O>;
/** A measure with a required parameter (`renyi`'s `alpha`). */
export type WithAlpha = <O extends ScoreOptions & { alpha: number }>(p: Vector, q: Vector, options: O) => ScoreResult<O>;

/** The API function of a registry measure. */
function measure(name: MeasureName): TwoSided & WithAlpha {
  return ((p: Vector, q: Vector, options?: ScoreOptions) => run(name, p, q, options)) as TwoSided & WithAlpha;
}

/**
 * Kullback–Leibler divergence D(P‖Q) = Σ pᵢ·ln(pᵢ/qᵢ), in nats unless `base` says otherwise.
 * Reverse KL is `kl(q, p)`.
 *
 * - pᵢ = 0 contributes 0; pᵢ > 0 with qᵢ = 0 gives `Infinity`.
 * - With `normalize` (default) p and q are divided by their sums first.
 * - Negative, NaN or infinite elements, different lengths, empty input or a zero sum throw
 *   `KLRangeError`; anything but a Float32Array, Float64Array or number[] throws `KLTypeError`.
 *
 * Synchronous; runs on the SIMD kernel once `init()` has resolved, on plain JS before.
 */
export function kl<O extends ScoreOptions>(p: Vector, q: Vector, options?: O): ScoreResult<O> {
  if (options === undefined || isCoreOptions(options)) return guarded(klCore, p, q, options as KLOptions | undefined) as ScoreResult<O>;
  return run("kl", p, q, options) as ScoreResult<O>;
}

// The scoring API: every measure takes the same options (see ScoreOptions). Without
// `options.dim` p and q are single distributions and the result is a number; with it they
// are row-major matrices (either may be one row, broadcast) and the result is one value per
// row, or their "sum" / "mean" (the mean over rows: torch's "batchmean").

function run(measure: MeasureName, p: unknown, q: unknown, options: ScoreOptions | undefined): number | Float64Array {
  const m = MEASURES[measure];
  const o = resolve(options, m.normalize, m.alpha === true);
  if ((options as { k?: unknown } | undefined)?.k !== undefined) {
    throw new KLRangeError("KL_BAD_OPTION", "options.k is an option of topK only");
  }
  const ps = side(p, "p", o.inputP, o.dim);
  const qs = m.twoSided ? side(q, "q", o.inputQ, o.dim) : null;
  const values = guarded(() => rowValues(measure, ps, qs, o, simdRows, (a, b, normalize) => klCore(a, b, { normalize })));
  return finish(measure, values, o, o.dim === null, qs === null ? [ps] : [ps, qs]);
}

/** Shannon entropy H(P) = −Σ pᵢ·ln pᵢ. */
export function entropy<O extends ScoreOptions>(p: Vector, options?: O): ScoreResult<O> {
  if (Array.isArray(options) || ArrayBuffer.isView(options)) {
    throw new KLTypeError("KL_BAD_OPTION", "entropy takes one distribution, entropy(p, options); for two: crossEntropy, kl");
  }
  return run("entropy", p, undefined, options) as ScoreResult<O>;
}

/** Cross-entropy H(P, Q) = −Σ pᵢ·ln qᵢ = H(P) + D(P‖Q); +Infinity where qᵢ = 0 under pᵢ > 0. */
export const crossEntropy: TwoSided = measure("crossEntropy");

/**
 * Jensen–Shannon divergence ½·D(P‖M) + ½·D(Q‖M), M = (P + Q)/2: symmetric, always finite,
 * in [0, ln 2] (in [0, 1] with base 2); never NaN or negative, even for near-identical inputs.
 */
export const jsDivergence: TwoSided = measure("jsDivergence");

/** Jensen–Shannon distance √(jsDivergence): a metric; SciPy's `jensenshannon`. */
export const jsDistance: TwoSided = measure("jsDistance");

/** Jeffreys divergence Σ (pᵢ − qᵢ)·ln(pᵢ/qᵢ) = D(P‖Q) + D(Q‖P) (symmetric KL). */
export const jeffreys: TwoSided = measure("jeffreys");

/**
 * Population stability index Σ (aᵢ − eᵢ)·ln(aᵢ/eᵢ) of actual against expected bin shares —
 * the same number as `jeffreys`. Customary reading: < 0.1 stable, 0.1–0.25 a moderate
 * shift, > 0.25 a major shift. Empty bins make it +Infinity unless smoothed, e.g.
 * `{ smoothing: { mode: "replace-zeros", epsilon: 1e-4 } }`.
 */
export const psi: TwoSided = measure("psi");

/**
 * Generalised KL Σ pᵢ·ln(pᵢ/qᵢ) − pᵢ + qᵢ for unnormalised measures (SciPy's `kl_div`,
 * summed). `normalize` defaults to false here; with it, the result is `kl`.
 */
export const generalizedKL: TwoSided = measure("generalizedKL");

/** Hellinger distance √(½·Σ (√pᵢ − √qᵢ)²), in [0, 1]. No logarithm: `base` does not apply. */
export const hellinger: TwoSided = measure("hellinger");

/** Total variation distance ½·Σ |pᵢ − qᵢ|, in [0, 1]. No logarithm: `base` does not apply. */
export const totalVariation: TwoSided = measure("totalVariation");

/**
 * Rényi divergence of order α, D_α(P‖Q) = 1/(α−1)·ln Σ pᵢᵅ·qᵢ¹⁻ᵅ (`options.alpha` > 0,
 * required): α = 1 is `kl`, α = Infinity is ln max pᵢ/qᵢ, α = ½ is −2·ln of the
 * Bhattacharyya coefficient. +Infinity where qᵢ = 0 under pᵢ > 0 (α ≥ 1), or where p and q
 * share no support (α < 1). Accurate also for near-identical pairs (no ln Σ cancellation).
 */
export const renyi: WithAlpha = measure("renyi");

/** Any measure by name, e.g. from a configuration: `score("psi", actual, expected, opts)`. */
export function score<O extends ScoreOptions>(measure: MeasureName, p: Vector, q: Vector | null, options?: O): ScoreResult<O> {
  measureOf(measure); // an unknown name: the typed error naming the known ones
  if (measure === "kl") return kl(p, q as Vector, options);
  return run(measure, p, q, options) as ScoreResult<O>;
}

/**
 * KL between diagonal Gaussians N(mean1, var1) and N(mean2, var2) (variances, not standard
 * deviations), as in a VAE's loss against the prior N(0, 1). Options: base, dim (each of
 * the four may be a single broadcast row), reduction, weights.
 */
export function gaussianKL<O extends ScoreOptions>(
  mean1: Vector | number, var1: Vector | number, mean2: Vector | number, var2: Vector | number, options?: O,
): ScoreResult<O> {
  const other = ["normalize", "input", "temperature", "smoothing"].find((key) => (options as Record<string, unknown> | undefined)?.[key] !== undefined);
  if (other) throw new KLRangeError("KL_BAD_OPTION", `options.${other} is not an option of gaussianKL`);
  const o = resolve(options);
  // a number stands for that value in every element (the prior N(0, 1) is `0, 1`)
  const length = o.dim ?? [mean1, var1, mean2, var2].find((a) => typeof a !== "number")?.length ?? 1;
  const arg = (a: Vector | number, name: string): Side =>
    side(typeof a === "number" ? new Float64Array(length).fill(a) : a, name, "probabilities", o.dim);
  const sides = [arg(mean1, "mean1"), arg(var1, "var1"), arg(mean2, "mean2"), arg(var2, "var2")] as const;
  return finish("kl", guarded(() => gaussianValues(sides)), o, o.dim === null, []) as ScoreResult<O>;
}

/**
 * The terms aᵢ·ln(aᵢ/bᵢ) of D(P‖Q) (normalised unless `normalize: false`), for plots and
 * explanations: their sum is `kl(p, q)`; a term is negative where qᵢ > pᵢ. With `dim`, a
 * flat matrix of the same shape as the larger input.
 */
export function klTerms(p: Vector, q: Vector, options?: ScoreOptions): Float64Array {
  return guarded(() => terms(p, q, options));
}

/**
 * Every row of `a` against every row of `b`: an a-rows × b-rows matrix, row-major
 * (`[i·n + j]` = measure(aᵢ, bⱼ)). Needs `options.dim`; reduction and weights do not apply.
 */
export function pairwise(measure: MeasureName, a: Vector, b: Vector, options: BatchOptions): Float64Array {
  const { o, A, B } = matrixPair(measure, a, b, options);
  // measures that decompose: one matrix product, exact per-pair redo where it cancels
  const product = guarded(() => (decomposes(measure, A, B, o) ? pairwiseMatrix(measure, A, B, o) : null));
  if (product !== null) return product;
  const out = new Float64Array(A.shape.rows * B.shape.rows);
  const each = pairEvaluator(measure, A, B, o);
  guarded(() => {
    for (let i = 0; i < A.shape.rows; i++) each(i, out, i * B.shape.rows);
  });
  return out;
}

/** The k best matches of each query among the candidates. */
export interface TopK {
  /** queries × k candidate row indices, best (smallest divergence) first; ties: lower index */
  indices: Int32Array;
  /** the matching divergences */
  scores: Float64Array;
}

/**
 * For each query row, the `k` candidate rows with the smallest divergence (nearest first),
 * without materialising the full matrix. Needs `options.dim` and `options.k`.
 */
export function topK(measure: MeasureName, queries: Vector, candidates: Vector, options: BatchOptions & { k: number }): TopK {
  const { k, ...rest } = (options ?? {}) as BatchOptions & { k?: unknown };
  const { o, A, B } = matrixPair(measure, queries, candidates, rest as BatchOptions, ["queries", "candidates"]);
  const n = B.shape.rows;
  if (typeof k !== "number" || !Number.isInteger(k) || k < 1 || k > n) {
    throw new KLRangeError("KL_BAD_OPTION", `options.k must be an integer in [1, ${n}] (the candidate rows), got ${String(k)}`);
  }
  const product = guarded(() => (decomposes(measure, A, B, o) ? topKMatrix(measure, A, B, o, k) : null));
  if (product !== null) return product;
  const m = A.shape.rows;
  const indices = new Int32Array(m * k), scores = new Float64Array(m * k);
  const row = new Float64Array(n), order = new Int32Array(n);
  const each = pairEvaluator(measure, A, B, o);
  for (let i = 0; i < m; i++) {
    guarded(() => each(i, row, 0));
    for (let j = 0; j < n; j++) order[j] = j;
    // equal to rounding is a tie, which the lower index wins: candidates that tie exactly
    // (a row and a scaled copy) may differ in the last bits here
    selectK(row, order, 0, n, k, indices, scores, i * k);
  }
  return { indices, scores };
}
