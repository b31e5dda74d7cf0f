// Vectors: the accepted argument types, their checks, views of parts of them.
import { logOfBase, type InputKind } from "./options.js";
import { KLRangeError, KLTypeError } from "../errors.js";

/** Accepted input: a typed array of floats or a plain array of numbers. */
export type Vector = Float32Array | Float64Array | readonly number[];

/** Options shared by the divergence functions. */
export interface KLOptions {
  /** Divide p and q by their sums first (default true), so counts and histograms work. */
  normalize?: boolean;
  /** Logarithm base (default e: nats; 2 gives bits, 10 gives bans). */
  base?: number;
}

// scale: 1 / ln(base)
const DEFAULTS = { normalize: true, scale: 1 };

export function resolveOptions(options: KLOptions | undefined): typeof DEFAULTS {
  if (options === undefined) return DEFAULTS;
  if (typeof options !== "object" || options === null) {
    throw new KLTypeError("KL_BAD_OPTION", `options must be an object, got ${describe(options)}`);
  }
  const { normalize = true, base } = options;
  if (typeof normalize !== "boolean") {
    throw new KLTypeError("KL_BAD_OPTION", `options.normalize must be a boolean, got ${describe(normalize)}`);
  }
  const scale = 1 / logOfBase(base);
  return normalize && scale === 1 ? DEFAULTS : { normalize, scale };
}

/** Elements [from, to) of v: v itself when that is all of it, else a view (typed arrays) or a copy. */
export function subVector(v: Vector, from: number, to: number): Vector {
  if (from === 0 && to === v.length) return v;
  return ArrayBuffer.isView(v) ? (v as Float64Array).subarray(from, to) : v.slice(from, to);
}

/** Row r of a row-major matrix of `rows` rows of `dim` (rows = 1: the broadcast row) as a vector of its own. */
export function matrixRow(v: Vector, rows: number, r: number, dim: number): Vector {
  const at = rows === 1 ? 0 : r * dim;
  return subVector(v, at, at + dim);
}

/** Checks the argument shapes; element values are checked by the kernels. */
export function checkPair(p: unknown, q: unknown): void {
  checkVectorType(p, "p");
  checkVectorType(q, "q");
  if (p.length !== q.length) {
    throw new KLRangeError("KL_LENGTH_MISMATCH", `p and q must have the same length, got ${p.length} and ${q.length}`);
  }
  if (p.length === 0) throw new KLRangeError("KL_EMPTY", "p and q are empty");
}

export function checkVectorType(v: unknown, name: string): asserts v is Vector {
  if (v instanceof Float64Array || v instanceof Float32Array) {
    // a Proxy of one (or an object inheriting from one) passes instanceof, but typed-array
    // methods, its length first, throw on it
    if (!ArrayBuffer.isView(v)) {
      throw new KLTypeError("KL_NOT_ARRAY", `${name} is a Proxy of a typed array: pass the array itself`);
    }
    // a transferred buffer reads as length 0: say so rather than "empty" or a length mismatch
    if (v.length === 0 && detached(v.buffer)) {
      throw new KLTypeError("KL_DETACHED", `${name} is a ${v.constructor.name} whose buffer is detached (transferred to a worker or structuredClone)`);
    }
    return;
  }
  if (!Array.isArray(v)) {
    throw new KLTypeError("KL_NOT_ARRAY", `${name} must be a Float32Array, Float64Array or array of numbers, got ${describe(v)}`);
  }
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== "number") {
      throw new KLTypeError("KL_NOT_NUMBER", `${name}[${i}] must be a number, got ${describe(v[i])}`);
    }
  }
}

function detached(buffer: ArrayBufferLike): boolean {
  if (!(buffer instanceof ArrayBuffer)) return false; // a SharedArrayBuffer cannot be detached
  try {
    new Uint8Array(buffer); // throws on a detached buffer (ArrayBuffer.prototype.detached is newer than Node 20)
    return false;
  } catch {
    return true;
  }
}

/** Finds the first invalid element (called only after a kernel flagged one) and throws. */
export function throwInvalidElement(p: Vector, q: Vector): never {
  for (let i = 0; i < p.length; i++) {
    const x = p[i], y = q[i];
    if (!(x >= 0 && x !== Infinity)) badValue(x, `p[${i}]`);
    if (!(y >= 0 && y !== Infinity)) badValue(y, `q[${i}]`);
  }
  notFound();
}

/** A kernel flagged an invalid element that the search for it did not find. */
export function notFound(): never {
  throw new Error("kl-simd internal error: invalid input flagged but not found");
}

/** The error for an invalid element of its kind, `where` naming it. */
export function badValue(x: number, where: string, kind: InputKind = "probabilities"): never {
  if (Number.isNaN(x)) throw new KLRangeError("KL_NAN", `${where} is NaN`);
  if (kind !== "probabilities") {
    throw new KLRangeError("KL_INFINITE", `${where} is ${x}; ${kind} must be < Infinity (−Infinity means probability 0)`);
  }
  if (x === Infinity || x === -Infinity) throw new KLRangeError("KL_INFINITE", `${where} is ${x}; values must be finite`);
  throw new KLRangeError("KL_NEGATIVE", `${where} is ${x}; values must be ≥ 0`);
}

export function describe(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  if (Array.isArray(x)) return "an array";
  if (typeof x === "object") return (x as object).constructor?.name ?? "an object";
  if (typeof x === "string") return JSON.stringify(x.length > 20 ? x.slice(0, 20) + "…" : x);
  return `${typeof x} ${String(x)}`;
}
