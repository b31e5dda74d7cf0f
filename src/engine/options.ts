// The one options shape of the scoring functions, checked and resolved once per call.
import { describe, type Vector } from "./vector.js";
import { KLRangeError, KLTypeError } from "../errors.js";

/** How a side's numbers are to be read. */
export type InputKind = "probabilities" | "log-probabilities" | "logits";

/** Opt-in smoothing, applied to each side after it is turned into probabilities. */
export interface Smoothing {
  /**
   * "clip": clip to [ε, 1], not renormalised (Keras/tfjs `KLDivergence`);
   * "replace-zeros": zeros become ε, then renormalise (drift tools' empty bins);
   * "additive": add ε to every element, then renormalise (Laplace).
   */
  mode: "clip" | "replace-zeros" | "additive";
  epsilon: number;
}

/** Options shared by every scoring function. */
export interface ScoreOptions {
  /** Divide p and q by their sums first (default true; `generalizedKL`: false). */
  normalize?: boolean;
  /** Logarithm base (default e: nats; 2 gives bits). Measures without logarithms ignore it. */
  base?: number;
  /** Probabilities (default), log-probabilities or logits, for both sides or each. */
  input?: InputKind | { p?: InputKind; q?: InputKind };
  /** Softmax temperature for logits: softmax(z / T); > 0, default 1. */
  temperature?: number;
  /** Off by default: exact semantics (+Infinity where q is 0 under p's mass). */
  smoothing?: Smoothing;
  /** Order α of `renyi` (> 0; 1 is KL, Infinity is ln max pᵢ/qᵢ); required there, rejected elsewhere. */
  alpha?: number;
  /** Row length: p and q are row-major matrices, either may be a single broadcast row. */
  dim?: number;
  /** With `dim`: "none" (default, one result per row), "sum" or "mean" (over rows). */
  reduction?: "none" | "sum" | "mean";
  /** With `dim`: one weight ≥ 0 per row (0 drops a row: a mask). */
  weights?: Vector;
}

/** Options of a batch call: `dim` is set. */
export type BatchOptions = ScoreOptions & { dim: number };

/** What a call returns: a number for one pair or a reduction, per-row results otherwise. */
export type ScoreResult<O> = O extends { dim: number }
  ? O extends { reduction: "sum" | "mean" } ? number : Float64Array
  : number;

/** The options of a call, checked, with their defaults. */
export type Resolved = ReturnType<typeof resolve>;

/** The rows a call's measure sees are normalised: clip leaves them unnormalised (Keras); the other modes always renormalise. */
export const normalizes = (o: Resolved): boolean => (o.smoothing !== null ? o.smoothing.mode !== "clip" : o.normalize);

const KINDS: readonly string[] = ["probabilities", "log-probabilities", "logits"];
const MODES: readonly string[] = ["clip", "replace-zeros", "additive"];
const REDUCTIONS: readonly string[] = ["none", "sum", "mean"];
const KNOWN = ["normalize", "base", "input", "temperature", "smoothing", "dim", "reduction", "weights", "k", "alpha"];

function bad(message: string): never {
  throw new KLRangeError("KL_BAD_OPTION", `options.${message}`);
}

/** klTerms, pairwise and topK give every value: a reduction or weights cannot apply. */
export function noReduction(o: Resolved, what: string): void {
  if (o.reduction !== "none" || o.weights !== null) bad(`reduction and options.weights do not apply to ${what}`);
}

function badType(message: string): never {
  throw new KLTypeError("KL_BAD_OPTION", `options.${message}`);
}

/** ln(base) (1 for the default base e): results in nats are divided by it. */
export function logOfBase(base: unknown): number {
  if (base === undefined || base === Math.E) return 1;
  if (typeof base !== "number") badType(`base must be a number, got ${describe(base)}`);
  // a base ≤ 1 would turn every divergence negative (or infinite): not a base of information
  if (!(base > 1) || base === Infinity) bad(`base must be a finite number > 1, got ${describe(base)}`);
  return Math.log(base);
}

/** Rejects keys of an options object (or of one of its parts) that are not in `known`. */
function onlyKnown(o: object, known: readonly string[], path: string): void {
  for (const key of Object.keys(o)) {
    if (!known.includes(key)) bad(`${path}${key} is not an option (known: ${known.join(", ")})`);
  }
}

export function resolve(options: ScoreOptions | undefined, normalizeDefault = true, takesAlpha = false) {
  const o = (options ?? {}) as Record<string, unknown>;
  if (typeof o !== "object" || o === null || ArrayBuffer.isView(o) || Array.isArray(o)) {
    throw new KLTypeError("KL_BAD_OPTION", `options must be an object, got ${describe(options)}`);
  }
  onlyKnown(o, KNOWN, "");
  const { normalize = normalizeDefault, base, input = "probabilities", temperature = 1, smoothing, dim, reduction, weights, alpha } = o;
  if (typeof normalize !== "boolean") badType(`normalize must be a boolean, got ${describe(normalize)}`);
  const logBase = logOfBase(base);
  let inputP: unknown = input, inputQ: unknown = input;
  if (typeof input === "object" && input !== null) {
    onlyKnown(input, ["p", "q"], "input.");
    ({ p: inputP = "probabilities", q: inputQ = "probabilities" } = input as { p?: unknown; q?: unknown });
  }
  for (const [side, kind] of [["p", inputP], ["q", inputQ]] as const) {
    if (typeof kind !== "string" || !KINDS.includes(kind)) {
      bad(`input${typeof input === "object" ? "." + side : ""} must be "probabilities", "log-probabilities" or "logits", got ${describe(kind)}`);
    }
  }
  if (typeof temperature !== "number") badType(`temperature must be a number, got ${describe(temperature)}`);
  if (!(temperature > 0) || temperature === Infinity) bad(`temperature must be a finite number > 0, got ${describe(temperature)}`);
  if (o.temperature !== undefined && inputP !== "logits" && inputQ !== "logits") bad("temperature applies to logits only");
  let smooth: Smoothing | null = null;
  if (smoothing !== undefined) {
    if (typeof smoothing !== "object" || smoothing === null) badType(`smoothing must be { mode, epsilon }, got ${describe(smoothing)}`);
    onlyKnown(smoothing, ["mode", "epsilon"], "smoothing.");
    const { mode, epsilon } = smoothing as { mode?: unknown; epsilon?: unknown };
    if (typeof mode !== "string" || !MODES.includes(mode)) bad(`smoothing.mode must be "clip", "replace-zeros" or "additive", got ${describe(mode)}`);
    // ε·t stays normal for every row total t the smoothing sees (scaled into [2^-500, 2^500]):
    // below, ε·t rounds onto the subnormal grid or to 0 (1e-290 of a row of 1e-30: 1.7e-8 off)
    if (typeof epsilon !== "number" || !(epsilon >= 2 ** -500) || !(epsilon < 1)) bad(`smoothing.epsilon must be a number in [2^-500, 1), got ${describe(epsilon)}`);
    smooth = { mode: mode as Smoothing["mode"], epsilon };
  }
  if (dim !== undefined && (typeof dim !== "number" || !Number.isInteger(dim) || dim < 1)) {
    bad(`dim must be a positive integer, got ${describe(dim)}`);
  }
  if (reduction !== undefined && (typeof reduction !== "string" || !REDUCTIONS.includes(reduction))) {
    bad(`reduction must be "none", "sum" or "mean", got ${describe(reduction)}`);
  }
  if ((reduction !== undefined || weights !== undefined) && dim === undefined) {
    bad(`${reduction !== undefined ? "reduction" : "weights"} needs options.dim (the row length of a batch)`);
  }
  if (alpha !== undefined && !takesAlpha) bad("alpha is an option of renyi only");
  if (takesAlpha) {
    if (alpha === undefined) bad("alpha is required by renyi");
    if (typeof alpha !== "number") badType(`alpha must be a number, got ${describe(alpha)}`);
    if (!(alpha > 0)) bad(`alpha must be > 0 (Infinity allowed), got ${describe(alpha)}`);
  }
  // logits become (z − max)·pre·invT: pre = 1, invT = 1/T, except where 1/T overflows
  // (T < 2^-1024), where pre = 2^64 and invT = 1/(T·2^64), so that z − max = 0 stays 0
  const pre = 1 / temperature === Infinity ? 2 ** 64 : 1;
  return {
    normalize,
    scale: 1 / logBase,
    logBase,
    inputP: inputP as InputKind,
    inputQ: inputQ as InputKind,
    invT: 1 / (temperature * pre),
    pre,
    alpha: (alpha as number | undefined) ?? null,
    smoothing: smooth,
    dim: (dim as number | undefined) ?? null,
    reduction: (reduction as ScoreOptions["reduction"]) ?? "none",
    weights: (weights as Vector | undefined) ?? null,
  };
}
