// kl() of one pair with the core options (normalize, base): the fastest path, one kernel
// call on the sums and the normalised-KL composition, the exact path only where needed.
import { cancels, exactNormalizedKL, normalizedKL, plainFromT, plainKL, sumsJS, type Sums } from "../exact/kl.js";
import type { KernelKind } from "../wasm.js";
import { simdKernel } from "./backend.js";
import { finite } from "./finish.js";
import type { ScoreOptions } from "./options.js";
import { checkPair, resolveOptions, throwInvalidElement, type KLOptions, type Vector } from "./vector.js";

function sums(p: Vector, q: Vector, kind: KernelKind, scale = 1): Sums {
  const k = simdKernel();
  const s = k !== null ? k.sums(p, q, kind, scale) : sumsJS(p, q, scale, kind === "plain");
  if (s.invalid) throwInvalidElement(p, q);
  return s;
}

// Totals this small make the terms subnormal; the exact path rescales them first.
const TINY_TOTAL = 2 ** -900;

/** Options that only the single-pair kernel path needs (the common, fastest case). */
export function isCoreOptions(options: ScoreOptions): boolean {
  if (typeof options !== "object" || options === null) return true; // klCore reports it
  for (const key in options) if (key !== "normalize" && key !== "base") return false;
  return true;
}

export function klCore(p: Vector, q: Vector, options?: KLOptions): number {
  const plain = options !== undefined && plainOnly(options);
  if (options === undefined || plain) {
    // the commonest calls, kl(p, q) and kl(p, q, { normalize: false }) of two typed arrays of
    // one type within a chunk, kept short: no option or shape checks (what they would reject
    // the kernel cannot take); a plain sum the T sums cannot settle takes the path below
    const f32 = p instanceof Float32Array && q instanceof Float32Array;
    const k = f32 || (p instanceof Float64Array && q instanceof Float64Array) ? simdKernel() : null;
    const s = k !== null ? k.shortSums(p as Float64Array, q as Float64Array, f32) : null;
    const value = s === null ? NaN : plain ? plainFromT(s, f32) : normalized(p, q, s, f32);
    if (value === value) return value;
  }
  const { normalize, scale } = resolveOptions(options);
  checkPair(p, q);
  // Two Float32Arrays run the f32x4 kernel, anything else the f64x2 kernel.
  const f32 = p instanceof Float32Array && q instanceof Float32Array;
  if (!normalize) {
    // in bits (or a base near 1) a finite sum may leave the double range: KL_OVERFLOW
    const value = plainSum(p, q, f32);
    return finite(value * scale, value);
  }
  return normalized(p, q, sums(p, q, f32 ? "f32" : "f64"), f32) * scale;
}

/** Options that are exactly { normalize: false }. */
function plainOnly(options: KLOptions): boolean {
  if (typeof options !== "object" || options === null || options.normalize !== false) return false;
  for (const key in options) if (key !== "normalize") return false;
  return true;
}

/** Σ p·ln(p/q): from the kernel's T sums where their rounding cannot show (see plainFromT), else summed itself. */
function plainSum(p: Vector, q: Vector, f32: boolean): number {
  const value = simdKernel() !== null ? plainFromT(sums(p, q, f32 ? "f32" : "f64"), f32) : NaN;
  return value === value ? value : plainKL(sums(p, q, "plain"));
}

/** The normalised KL from the sums `s` of p and q (of the f32 kernel when `f32`). */
function normalized(p: Vector, q: Vector, s: Sums, f32: boolean): number {
  let result = normalizedKL(s);
  if (s.qZero) return Infinity;
  if (!(result < Infinity) || !(s.p > TINY_TOTAL && s.q > TINY_TOTAL)) {
    // totals too far apart for T/P or Q/P to exist as doubles, or subnormal totals
    result = exactNormalizedKL(p, q);
  } else if (cancels(s, result, f32)) {
    // Same shapes, different totals: put q on p's scale and sum again in f64; where the
    // divergence is so small that rounding q·(P/Q) would show, or where the rescale pushed
    // a q under p > 0 into the subnormal range, take the exact path.
    const c = s.p / s.q;
    const again = c > 2 ** -900 && c < 2 ** 900 ? sums(p, q, "f64", c) : null;
    const rescaled = again === null || again.lossy ? NaN : normalizedKL(again);
    result = rescaled >= 1e-5 && rescaled < Infinity ? rescaled : exactNormalizedKL(p, q);
  }
  return Math.max(result, 0);
}
