// kl-simd: Kullback–Leibler divergence on a WebAssembly SIMD kernel, with a plain-JS fallback.
import { cancels, normalizedKL, plainKL } from "./compose.js";
import { KLRangeError, KLTypeError, type KLErrorCode } from "./errors.js";
import { exactNormalizedKL, sumsJS, type Sums } from "./reference.js";
import { checkPair, resolveOptions, throwInvalidElement, type KLOptions, type Vector } from "./vector.js";
import { loadKernel, simdSupported, type Kernel, type KernelKind, type WasmSource } from "./wasm.js";
import defaultWasm from "./default-wasm.js";

export { KLRangeError, KLTypeError };
export type { KLErrorCode, KLOptions, Vector, WasmSource };

/** Which implementation runs: the SIMD kernel or the plain-JS fallback. */
export type Backend = "wasm-simd" | "js";

let kernel: Kernel | null = null;
let active: Backend = "js";
let starting: Promise<Backend> | null = null;

/**
 * Compiles and instantiates the SIMD module once (later calls return the same promise).
 * Resolves to "wasm-simd", or to "js" where WebAssembly or SIMD is missing or the built-in
 * module cannot be compiled (e.g. a CSP without 'wasm-unsafe-eval'). `source` may be a
 * compiled `WebAssembly.Module` (needed on Cloudflare Workers), bytes, a `Response` or a
 * URL; when given, a failure to load it rejects instead of falling back.
 */
export function init(source?: WasmSource): Promise<Backend> {
  starting ??= start(source).catch((error: unknown) => {
    starting = null; // let a corrected call try again
    throw error;
  });
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

function sums(p: Vector, q: Vector, kind: KernelKind, scale = 1): Sums {
  const s = active === "wasm-simd" && kernel !== null ? kernel.sums(p, q, kind, scale) : sumsJS(p, q, scale, kind === "plain");
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
export function kl(p: Vector, q: Vector, options?: KLOptions): number {
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
