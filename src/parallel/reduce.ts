// Weights and reductions over the per-row values the workers computed, by score() itself, so
// that they follow its rules (masked rows, the compensated sum, its errors) bit for bit.
import { score, type Vector } from "../index.js";

/**
 * score()'s reduction of per-row values `v`: generalizedKL(0‖v) of a one-element row is
 * v exactly (0·ln 0 − 0 + v, correctly rounded), so generalizedKL of zeros against `v` as
 * rows of one, with the caller's weights and reduction, reduces `v` as score() reduces the
 * rows of any measure. Null where a value is not a finite number ≥ 0 (+Infinity rows, a
 * base < 1), which the caller then leaves to score() whole.
 */
export function reduceRows(values: Float64Array, reduction: "none" | "sum" | "mean" | undefined, weights: Vector | undefined): number | Float64Array | null {
  for (let r = 0; r < values.length; r++) if (!(values[r] >= 0 && values[r] < Infinity)) return null;
  return score("generalizedKL", new Float64Array(values.length), values, { dim: 1, normalize: false, reduction, weights });
}
