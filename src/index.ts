// kl-simd: Kullback–Leibler divergence on a WebAssembly SIMD kernel, with a plain-JS fallback.
import { KLRangeError, KLTypeError, type KLErrorCode } from "./errors.js";
import { loadKernel, type Kernel, type KernelKind } from "./wasm.js";
import { simdSupported, type WasmSource } from "./wasm/load.js";
import { checkRow, kernelRows, kernelTerms } from "./batch.js";
import defaultWasm from "./default-wasm.js";
import { finish } from "./engine/finish.js";
import { type BatchOptions, type InputKind, resolve, type Resolved, type ScoreOptions, type ScoreResult, type Smoothing } from "./engine/options.js";
import { checkMeasure, rowValues } from "./engine/rows.js";
import { checkSide, pairRows, rowOf, type Side, side, smoothRow } from "./engine/sides.js";
import { checkPair, type KLOptions, resolveOptions, subVector, throwInvalidElement, type Vector } from "./engine/vector.js";
import { cancels, exactNormalizedKL, normalizedKL, plainKL, type Sums, sumsJS } from "./exact/kl.js";
import { logRatio } from "./exact/log.js";
import { gaussianRows } from "./measures/gaussian.js";
import { exactTerm, termsRow, total } from "./measures/kl-terms.js";
import { MEASURES, measureOf, type MeasureName } from "./measures/registry.js";

export { KLRangeError, KLTypeError };
export type { BatchOptions, InputKind, KLErrorCode, KLOptions, MeasureName, ScoreOptions, ScoreResult, Smoothing, Vector, WasmSource };

/** Which implementation runs: the SIMD kernel or the plain-JS fallback. */
export type Backend = "wasm-simd" | "js";

let kernel: Kernel | null = null;
let active: Backend = "js";
let starting: Promise<Backend> | null = null;
let startingFrom: WasmSource | undefined;

/**
 * Compiles and instantiates the SIMD module once (later calls return the same promise).
 * Resolves to "wasm-simd", or to "js" where WebAssembly or SIMD is missing or the built-in
 * module cannot be compiled (e.g. a CSP without 'wasm-unsafe-eval'). `source` may be a
 * compiled `WebAssembly.Module` (needed on Cloudflare Workers), bytes, a `Response` or a
 * URL; when given, a failure to load it rejects instead of falling back.
 */
export function init(source?: WasmSource): Promise<Backend> {
  if (starting === null) {
    startingFrom = source;
    starting = start(source).catch((error: unknown) => {
      starting = null; // let a corrected call try again
      throw error;
    });
  } else if (source === undefined && startingFrom !== undefined) {
    // another caller's source is loading: a plain init() falls back to the built-in module
    // if that fails, rather than sharing its rejection
    return starting.catch(() => init());
  }
  return starting;
}

async function start(source: WasmSource | undefined): Promise<Backend> {
  if (!simdSupported()) return (active = "js");
  try {
    kernel = await loadKernel(source ?? defaultWasm());
  } catch (error) {
    if (source !== undefined) throw error;
    return (active = "js");
  }
  return (active = "wasm-simd");
}

/** The backend the next call will use. */
export function backend(): Backend {
  return active;
}

/**
 * Forces a backend, e.g. to compare them or to test the fallback. "wasm-simd" needs a
 * resolved `init()` that selected it.
 */
export function useBackend(name: Backend): void {
  if (name === "wasm-simd" && kernel === null) {
    throw new KLRangeError("KL_BAD_OPTION", 'backend "wasm-simd" is not available: await init() first (it may have selected "js")');
  }
  if (name !== "wasm-simd" && name !== "js") {
    throw new KLRangeError("KL_BAD_OPTION", `unknown backend ${JSON.stringify(name)}`);
  }
  active = name;
}

// Re-entrancy: reading an input element can run user code (a Proxy, a getter) that calls
// the library again while this call has data in the kernel's scratch memory. Calls nest
// through `guarded`; only the outermost uses the kernel, nested ones take the JS path.
let depth = 0;

function guarded<T>(f: () => T): T {
  depth++;
  try {
    return f();
  } finally {
    depth--;
  }
}

/** The kernel when the SIMD backend is active and this is the outermost call. */
function simdKernel(): Kernel | null {
  return active === "wasm-simd" && depth === 1 ? kernel : null;
}

function sums(p: Vector, q: Vector, kind: KernelKind, scale = 1): Sums {
  const k = simdKernel();
  const s = k !== null ? k.sums(p, q, kind, scale) : sumsJS(p, q, scale, kind === "plain");
  if (s.invalid) throwInvalidElement(p, q);
  return s;
}

// Totals this small make the terms subnormal; the exact path rescales them first.
const TINY_TOTAL = 2 ** -900;

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
  if (options === undefined || isCoreOptions(options)) return guarded(() => klCore(p, q, options)) as ScoreResult<O>;
  return run("kl", p, q, options) as ScoreResult<O>;
}

/** Options that only the single-pair kernel path needs (the common, fastest case). */
function isCoreOptions(options: ScoreOptions): boolean {
  if (typeof options !== "object" || options === null) return true; // klCore reports it
  for (const key in options) if (key !== "normalize" && key !== "base") return false;
  return true;
}

function klCore(p: Vector, q: Vector, options?: KLOptions): number {
  const { normalize, scale } = resolveOptions(options);
  checkPair(p, q);
  if (!normalize) return plainKL(sums(p, q, "plain")) * scale;
  // Two Float32Arrays run the f32x4 kernel, anything else the f64x2 kernel.
  const f32 = p instanceof Float32Array && q instanceof Float32Array;
  const s = sums(p, q, f32 ? "f32" : "f64");
  let result = normalizedKL(s);
  if (s.qZero) return Infinity;
  if (!(result < Infinity) || !(s.p > TINY_TOTAL && s.q > TINY_TOTAL)) {
    // totals too far apart for T/P or Q/P to exist as doubles, or subnormal totals
    result = exactNormalizedKL(p, q);
  } else if (cancels(s, result, f32 ? 4 : 16)) {
    // Same shapes, different totals: put q on p's scale and sum again in f64; where the
    // divergence is so small that rounding q·(P/Q) would show, or where the rescale pushed
    // a q under p > 0 into the subnormal range, take the exact path.
    const c = s.p / s.q;
    const again = c > 2 ** -900 && c < 2 ** 900 ? sums(p, q, "f64", c) : null;
    const rescaled = again === null || again.lossy ? NaN : normalizedKL(again);
    result = rescaled >= 1e-5 && rescaled < Infinity ? rescaled : exactNormalizedKL(p, q);
  }
  return Math.max(result, 0) * scale;
}

// ---------------------------------------------------------------------------------------
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
    throw new KLTypeError("KL_BAD_OPTION", "entropy takes one distribution: entropy(p, options); for two, crossEntropy(p, q) or kl(p, q)");
  }
  return run("entropy", p, undefined, options) as ScoreResult<O>;
}

/** Cross-entropy H(P, Q) = −Σ pᵢ·ln qᵢ = H(P) + D(P‖Q); +Infinity where qᵢ = 0 under pᵢ > 0. */
export function crossEntropy<O extends ScoreOptions>(p: Vector, q: Vector, options?: O): ScoreResult<O> {
  return run("crossEntropy", p, q, options) as ScoreResult<O>;
}

/**
 * Jensen–Shannon divergence ½·D(P‖M) + ½·D(Q‖M), M = (P + Q)/2: symmetric, always finite,
 * in [0, ln 2] (in [0, 1] with base 2); never NaN or negative, even for near-identical inputs.
 */
export function jsDivergence<O extends ScoreOptions>(p: Vector, q: Vector, options?: O): ScoreResult<O> {
  return run("jsDivergence", p, q, options) as ScoreResult<O>;
}

/** Jensen–Shannon distance √(jsDivergence): a metric; SciPy's `jensenshannon`. */
export function jsDistance<O extends ScoreOptions>(p: Vector, q: Vector, options?: O): ScoreResult<O> {
  return run("jsDistance", p, q, options) as ScoreResult<O>;
}

/** Jeffreys divergence Σ (pᵢ − qᵢ)·ln(pᵢ/qᵢ) = D(P‖Q) + D(Q‖P) (symmetric KL). */
export function jeffreys<O extends ScoreOptions>(p: Vector, q: Vector, options?: O): ScoreResult<O> {
  return run("jeffreys", p, q, options) as ScoreResult<O>;
}

/**
 * Population stability index Σ (aᵢ − eᵢ)·ln(aᵢ/eᵢ) of actual against expected bin shares —
 * the same number as `jeffreys`. Customary reading: < 0.1 stable, 0.1–0.25 a moderate
 * shift, > 0.25 a major shift. Empty bins make it +Infinity unless smoothed, e.g.
 * `{ smoothing: { mode: "replace-zeros", epsilon: 1e-4 } }`.
 */
export function psi<O extends ScoreOptions>(actual: Vector, expected: Vector, options?: O): ScoreResult<O> {
  return run("psi", actual, expected, options) as ScoreResult<O>;
}

/**
 * Generalised KL Σ pᵢ·ln(pᵢ/qᵢ) − pᵢ + qᵢ for unnormalised measures (SciPy's `kl_div`,
 * summed). `normalize` defaults to false here; with it, the result is `kl`.
 */
export function generalizedKL<O extends ScoreOptions>(p: Vector, q: Vector, options?: O): ScoreResult<O> {
  return run("generalizedKL", p, q, options) as ScoreResult<O>;
}

/** Hellinger distance √(½·Σ (√pᵢ − √qᵢ)²), in [0, 1]. No logarithm: `base` does not apply. */
export function hellinger<O extends ScoreOptions>(p: Vector, q: Vector, options?: O): ScoreResult<O> {
  return run("hellinger", p, q, options) as ScoreResult<O>;
}

/** Total variation distance ½·Σ |pᵢ − qᵢ|, in [0, 1]. No logarithm: `base` does not apply. */
export function totalVariation<O extends ScoreOptions>(p: Vector, q: Vector, options?: O): ScoreResult<O> {
  return run("totalVariation", p, q, options) as ScoreResult<O>;
}

/**
 * Rényi divergence of order α, D_α(P‖Q) = 1/(α−1)·ln Σ pᵢᵅ·qᵢ¹⁻ᵅ (`options.alpha` > 0,
 * required): α = 1 is `kl`, α = Infinity is ln max pᵢ/qᵢ, α = ½ is −2·ln of the
 * Bhattacharyya coefficient. +Infinity where qᵢ = 0 under pᵢ > 0 (α ≥ 1), or where p and q
 * share no support (α < 1). Accurate also for near-identical pairs (no ln Σ cancellation).
 */
export function renyi<O extends ScoreOptions & { alpha: number }>(p: Vector, q: Vector, options: O): ScoreResult<O> {
  return run("renyi", p, q, options) as ScoreResult<O>;
}

/** Any measure by name, e.g. from a configuration: `score("psi", actual, expected, opts)`. */
export function score<O extends ScoreOptions>(measure: MeasureName, p: Vector, q: Vector | null, options?: O): ScoreResult<O> {
  checkMeasure(measure);
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
  const o = resolve(options);
  // a number stands for that value in every element (the prior N(0, 1) is `0, 1`)
  const length = o.dim ?? [mean1, var1, mean2, var2].find((a) => typeof a !== "number")?.length ?? 1;
  const arg = (a: Vector | number, name: string): Side =>
    side(typeof a === "number" ? new Float64Array(length).fill(a) : a, name, "probabilities", o.dim);
  const sides = [arg(mean1, "mean1"), arg(var1, "var1"), arg(mean2, "mean2"), arg(var2, "var2")] as const;
  return finish("kl", guarded(() => gaussianValues(sides)), o, o.dim === null, []) as ScoreResult<O>;
}

/** Per-row Gaussian KL on the kernel; its NaN rows (and any check) on the exact path. */
function gaussianValues(sides: readonly [Side, Side, Side, Side]): Float64Array {
  const [m1, v1, m2, v2] = sides;
  const rows = pairRows(
    { rows: pairRows(m1.shape, v1.shape, ["mean1", "var1"]), dim: m1.shape.dim },
    { rows: pairRows(m2.shape, v2.shape, ["mean2", "var2"]), dim: m2.shape.dim },
    ["mean1", "mean2"],
  );
  const fast = simdKernel()?.gaussian([m1.v, v1.v, m2.v, v2.v], sides.map((s) => s.shape.rows), rows, m1.shape.dim) ?? null;
  if (fast === null || fast.some(Number.isNaN)) {
    // the exact path checks every value (and names the bad one) before it computes
    const exact = gaussianRows(m1, v1, m2, v2);
    if (fast === null) return exact;
    for (let r = 0; r < rows; r++) if (Number.isNaN(fast[r])) fast[r] = exact[r];
  }
  return fast;
}

/**
 * The terms aᵢ·ln(aᵢ/bᵢ) of D(P‖Q) (normalised unless `normalize: false`), for plots and
 * explanations: their sum is `kl(p, q)`; a term is negative where qᵢ > pᵢ. With `dim`, a
 * flat matrix of the same shape as the larger input.
 */
export function klTerms(p: Vector, q: Vector, options?: ScoreOptions): Float64Array {
  return guarded(() => terms(p, q, options));
}

function terms(p: Vector, q: Vector, options?: ScoreOptions): Float64Array {
  const o = resolve(options);
  if (o.reduction !== "none" || o.weights !== null) throw new KLRangeError("KL_BAD_OPTION", "klTerms returns every term: options.reduction and options.weights do not apply");
  const ps = side(p, "p", o.inputP, o.dim), qs = side(q, "q", o.inputQ, o.dim);
  const rows = pairRows(ps.shape, qs.shape);
  const dim = ps.shape.dim;
  const fromKernel = kernelTerms(simdKernel(), ps, qs, rows, o);
  const out = fromKernel ?? new Float64Array(rows * dim);
  const fast = fromKernel !== null;
  if (!fast) {
    checkSide(ps);
    checkSide(qs);
  }
  const normalize = o.smoothing !== null ? o.smoothing.mode !== "clip" : o.normalize;
  for (let r = 0; r < rows; r++) {
    if (fast) {
      // only the elements the kernel left (a ≈ b, subnormals, extreme totals), exactly
      let rp: ReturnType<typeof rowOf> | null = null, P = 0, Q = 0, logQP = 0;
      for (let i = r * dim; i < (r + 1) * dim; i++) {
        if (!Number.isNaN(out[i])) continue;
        if (rp === null) {
          checkRow(ps, r);
          checkRow(qs, r);
          rp = rowOf(ps, r, o); // throws for a zero total, as the exact path does
          P = total(rp, true);
          Q = total(rowOf(qs, r, o), true);
          logQP = logRatio(Q, P);
        }
        const j = i - r * dim;
        out[i] = exactTerm(ps.v[(ps.shape.rows === 1 ? 0 : r * dim) + j], qs.v[(qs.shape.rows === 1 ? 0 : r * dim) + j], P, Q, logQP, true);
      }
      continue;
    }
    let rp = rowOf(ps, r, o), rq = rowOf(qs, r, o);
    if (o.smoothing !== null) {
      rp = smoothRow(rp, o, ps, r);
      rq = smoothRow(rq, o, qs, r);
    }
    termsRow(rp, rq, normalize, out, r * dim);
  }
  if (o.scale !== 1) for (let i = 0; i < out.length; i++) out[i] *= o.scale;
  return out;
}

/**
 * Every row of `a` against every row of `b`: an a-rows × b-rows matrix, row-major
 * (`[i·n + j]` = measure(aᵢ, bⱼ)). Needs `options.dim`; reduction and weights do not apply.
 */
export function pairwise(measure: MeasureName, a: Vector, b: Vector, options: BatchOptions): Float64Array {
  const { o, A, B } = matrixPair(measure, a, b, options);
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
  const k = (options as { k?: unknown } | undefined)?.k;
  const { k: _k, ...rest } = (options ?? {}) as BatchOptions & { k?: number };
  const { o, A, B } = matrixPair(measure, queries, candidates, rest as BatchOptions, ["queries", "candidates"]);
  const n = B.shape.rows;
  if (typeof k !== "number" || !Number.isInteger(k) || k < 1 || k > n) {
    throw new KLRangeError("KL_BAD_OPTION", `options.k must be an integer in [1, ${n}] (the candidate rows), got ${String(k)}`);
  }
  const m = A.shape.rows;
  const indices = new Int32Array(m * k), scores = new Float64Array(m * k);
  const row = new Float64Array(n);
  const order = new Int32Array(n);
  const each = pairEvaluator(measure, A, B, o);
  for (let i = 0; i < m; i++) {
    guarded(() => each(i, row, 0));
    for (let j = 0; j < n; j++) order[j] = j;
    // partial selection: k passes of the smallest remaining (k is small), ties to lower index
    for (let t = 0; t < k; t++) {
      let best = t;
      for (let j = t + 1; j < n; j++) {
        const a = row[order[j]], b = row[order[best]];
        // equal to rounding (a few ulps) is a tie, which the lower index wins: candidates
        // that tie exactly (a row and a scaled copy) may differ in the last bits here
        const tie = a === b || Math.abs(a - b) <= 4e-15 * Math.max(Math.abs(a), Math.abs(b));
        if (tie ? order[j] < order[best] : a < b) best = j;
      }
      const swap = order[t];
      order[t] = order[best];
      order[best] = swap;
      indices[i * k + t] = order[t];
      scores[i * k + t] = row[order[t]];
    }
  }
  return { indices, scores };
}

function matrixPair(measure: MeasureName, a: unknown, b: unknown, options: BatchOptions | undefined, names = ["a", "b"]) {
  const m = measureOf(measure);
  if (!m.twoSided) throw new KLRangeError("KL_BAD_OPTION", `${measure} has one argument: pairwise and topK need a two-sided measure`);
  const o = resolve(options, m.normalize, m.alpha === true);
  if (o.dim === null) throw new KLRangeError("KL_BAD_OPTION", "options.dim (the row length) is required");
  if (o.reduction !== "none" || o.weights !== null) throw new KLRangeError("KL_BAD_OPTION", "options.reduction and options.weights do not apply here");
  const A = side(a, names[0], o.inputP, o.dim), B = side(b, names[1], o.inputQ, o.dim);
  checkSide(A);
  checkSide(B);
  return { o, A, B };
}

/** Fills one query row's scores against every candidate: one batch of the query row broadcast. */
function pairEvaluator(measure: MeasureName, A: Side, B: Side, o: Resolved) {
  return (i: number, out: Float64Array, at0: number): void => {
    // the query row as doubles: the f64 kernels for every pair (1e-12, so that ties between
    // candidates survive as ties; two Float32Arrays would take the 1e-6 f32 kernel)
    const query = rowSide(A, i);
    if (query.v instanceof Float32Array) query.v = Float64Array.from(query.v);
    const values = rowValues(measure, query, B, o, simdRows);
    out.set(finish(measure, values, o, false, [query, B]) as Float64Array, at0);
  };
}

/** Row r of a matrix side as a one-row side (for pair loops). */
function rowSide(s: Side, r: number): Side {
  const dim = s.shape.dim;
  const v = subVector(s.v, r * dim, (r + 1) * dim);
  return { v, name: s.name, shape: { rows: 1, dim }, kind: s.kind };
}


/** rowValues's kernel path, on the active backend. */
function simdRows(measure: MeasureName, p: Side, q: Side | null, rows: number, o: Resolved): Float64Array | null {
  return kernelRows(simdKernel(), measure, p, q, rows, o);
}
