// One record per measure: everything the API, the engine, the kernels' dispatch, pairwise,
// top-k, kl-simd/parallel and the CLI need to know about it. Adding a measure is a row here,
// a term (or twin) in the exact JS path and, where it has one, a kernel id.
import { KLRangeError } from "../errors.js";

/** Every measure name `score`, `pairwise` and `topK` accept. */
export type MeasureName =
  | "kl"
  | "crossEntropy"
  | "jsDivergence"
  | "jsDistance"
  | "jeffreys"
  | "psi"
  | "generalizedKL"
  | "hellinger"
  | "totalVariation"
  | "renyi"
  | "entropy";

/** Which zeros make the exact value +Infinity (anything else that overflows is KL_OVERFLOW). */
export type InfiniteWhen =
  | "q-zero-under-p" // some qᵢ = 0 < pᵢ
  | "either-zero" // some element is 0 on exactly one side
  | "renyi" // α ≥ 1: as q-zero-under-p; α < 1: no element positive on both sides
  | "never";

export interface MeasureRecord {
  /** false for entropy, which takes one distribution */
  twoSided: boolean;
  /** the measure has a logarithm: options.base applies */
  usesBase: boolean;
  /** the result is the square root of the summed value (a distance) */
  root: boolean;
  /** options.normalize when not given */
  normalize: boolean;
  /** documented range [0, max] in nats (before the root) for two distributions */
  max: number;
  /** every term is ≥ 0, so the value is ≥ 0 even for unnormalised inputs */
  termsNonNegative: boolean;
  infinite: InfiniteWhen;
  /**
   * The SIMD kernel: "kl" (the KL family: Σ T and the normalised composition, also
   * entropy and cross-entropy through it), "pair" with the pair kernel's measure id, or none
   */
  kernel: { family: "kl" } | { family: "pair"; id: number; compose?: (value: number, alpha: number) => number } | null;
  /** the measure takes options.alpha (required) */
  alpha?: true;
  /**
   * The kernel's value is exact for the probabilities it was given: where those were made
   * from logits (an ulp each), a value under 1e-6 could be that rounding: the exact path
   */
  smallFromLogitsExact?: true;
}

const divergence = { twoSided: true, usesBase: true, root: false, normalize: true, max: Infinity, termsNonNegative: false } as const;

export const MEASURES: Readonly<Record<MeasureName, MeasureRecord>> = {
  kl: { ...divergence, infinite: "q-zero-under-p", kernel: { family: "kl" }, smallFromLogitsExact: true },
  entropy: { ...divergence, twoSided: false, infinite: "never", kernel: { family: "kl" } },
  crossEntropy: { ...divergence, infinite: "q-zero-under-p", kernel: { family: "kl" } },
  generalizedKL: { ...divergence, normalize: false, termsNonNegative: true, infinite: "q-zero-under-p", kernel: { family: "kl" }, smallFromLogitsExact: true },
  jsDivergence: { ...divergence, max: Math.LN2, infinite: "never", kernel: { family: "pair", id: 2 } },
  jsDistance: { ...divergence, root: true, max: Math.LN2, infinite: "never", kernel: { family: "pair", id: 2 } },
  jeffreys: { ...divergence, termsNonNegative: true, infinite: "either-zero", kernel: { family: "pair", id: 3 } },
  psi: { ...divergence, termsNonNegative: true, infinite: "either-zero", kernel: { family: "pair", id: 3 } },
  hellinger: { ...divergence, termsNonNegative: true, usesBase: false, root: true, max: 1, infinite: "never", kernel: { family: "pair", id: 1 } },
  totalVariation: { ...divergence, termsNonNegative: true, usesBase: false, max: 1, infinite: "never", kernel: { family: "pair", id: 0 } },
  // the pair kernel returns H = (Σ aᵅb¹⁻ᵅ − 1)/(−α(1 − α)); NaN (a redo) where 1 + S ≤ 0
  renyi: { ...divergence, infinite: "renyi", kernel: { family: "pair", id: 4, compose: renyiFromH }, alpha: true, smallFromLogitsExact: true },
};

export const MEASURE_NAMES = Object.keys(MEASURES) as readonly MeasureName[];

/** The record of a measure name, or a typed error naming the known ones. */
export function measureOf(name: unknown): MeasureRecord {
  if (typeof name === "string" && Object.hasOwn(MEASURES, name)) return MEASURES[name as MeasureName];
  throw new KLRangeError("KL_BAD_OPTION", `measure must be one of ${MEASURE_NAMES.join(", ")}, got ${JSON.stringify(name)}`);
}

/** D_α = ln(1 + S)/(α − 1) from H, S = −α(1 − α)·H, with the 1/(α − 1) cancelled analytically. */
function renyiFromH(h: number, alpha: number): number {
  const s = -alpha * (1 - alpha) * h;
  if (!(s > -0.5)) return NaN; // 1 + S near 0 has lost its digits: the exact path (log-sum-exp)
  return s === 0 ? alpha * h : alpha * h * (Math.log1p(s) / s);
}
