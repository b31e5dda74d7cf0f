// pairwise and topK: every query row against the candidate rows, as a batch with the query
// row broadcast.
import { KLRangeError } from "../errors.js";
import { measureOf, type MeasureName } from "../measures/registry.js";
import { simdRows } from "./backend.js";
import { finish } from "./finish.js";
import { noReduction, resolve, type BatchOptions, type Resolved } from "./options.js";
import { rowValues } from "./rows.js";
import { checkSide, rowSide, side, type Side } from "./sides.js";

export function matrixPair(measure: MeasureName, a: unknown, b: unknown, options: BatchOptions | undefined, names = ["a", "b"]) {
  const m = measureOf(measure);
  if (!m.twoSided) throw new KLRangeError("KL_BAD_OPTION", `${measure} has one argument: pairwise and topK need a two-sided measure`);
  const o = resolve(options, m.normalize, m.alpha === true);
  if (o.dim === null) throw new KLRangeError("KL_BAD_OPTION", "options.dim (the row length) is required");
  noReduction(o, "pairwise and topK");
  // values: checked by the product path's row totals (src/engine/matrix.ts), else by pairEvaluator
  return { o, A: side(a, names[0], o.inputP, o.dim), B: side(b, names[1], o.inputQ, o.dim) };
}

/** Fills one query row's scores against every candidate: one batch of the query row broadcast. */
export function pairEvaluator(measure: MeasureName, A: Side, B: Side, o: Resolved) {
  checkSide(A);
  checkSide(B);
  return (i: number, out: Float64Array, at0: number): void => {
    // the query row as doubles: the f64 kernels for every pair (1e-12, so that ties between
    // candidates survive as ties; two Float32Arrays would take the 1e-6 f32 kernel)
    const query = rowSide(A, i, true);
    const values = rowValues(measure, query, B, o, simdRows);
    out.set(finish(measure, values, o, false, [query, B]) as Float64Array, at0);
  };
}
