/** Stable machine-readable codes carried by every error this package throws. */
export type KLErrorCode =
  | "KL_NOT_ARRAY" // argument is not a Float32Array, Float64Array or array of numbers
  | "KL_NOT_NUMBER" // an array element is not of type number
  | "KL_NEGATIVE" // an element is < 0
  | "KL_NAN" // an element is NaN
  | "KL_INFINITE" // an element is ±Infinity
  | "KL_LENGTH_MISMATCH" // p and q differ in length
  | "KL_EMPTY" // zero-length input
  | "KL_ZERO_SUM" // normalising a vector whose sum is 0
  | "KL_OVERFLOW" // a sum or term exceeds the f64 range
  | "KL_BAD_SHAPE" // a length is not a multiple of options.dim, or row counts disagree
  | "KL_BAD_VARIANCE" // a Gaussian variance is ≤ 0
  | "KL_BAD_OPTION" // an option has an invalid value
  | "KL_DETACHED" // a typed array whose buffer was transferred (detached)
  | "KL_BAD_MODULE"; // init() was given something that is not kl-simd's kernel module

/** Invalid values: negative, NaN, infinite, mismatched lengths, empty, zero sum. */
export class KLRangeError extends RangeError {
  readonly code: KLErrorCode;
  constructor(code: KLErrorCode, message: string) {
    super(message);
    this.name = "KLRangeError";
    this.code = code;
  }
}

/** Arguments of the wrong type. */
export class KLTypeError extends TypeError {
  readonly code: KLErrorCode;
  constructor(code: KLErrorCode, message: string) {
    super(message);
    this.name = "KLTypeError";
    this.code = code;
  }
}

/** KL_OVERFLOW: one rule and one message for every measure and reduction (docs/semantics.md). */
export function overflow(): never {
  throw new KLRangeError("KL_OVERFLOW", "the result exceeds the double range (about 1.8e308); scale the inputs down");
}
