// Per-row values of a call: the kernels first (through `fast`), every row they do not settle
// on the exact path (measures/evaluator.ts).
import { normalizes, type Resolved } from "./options.js";
import { checkSide, pairRows, rowOf, type Side } from "./sides.js";
import type { Vector } from "./vector.js";
import { RowEvaluator } from "../measures/evaluator.js";
import type { MeasureName } from "../measures/registry.js";
import { rowVector } from "../measures/rows.js";

/** Kernels for whole batches: return per-row values (nats, before roots) or null. */
export type FastPath = (measure: MeasureName, p: Side, q: Side | null, rows: number, o: Resolved) => Float64Array | null;

/** Per-row values in nats (squared for jsDistance and hellinger) of a batch. */
export function rowValues(
  measure: MeasureName, p: Side, q: Side | null, o: Resolved, fast: FastPath | null,
  singleKL: ((p: Vector, q: Vector, normalize: boolean) => number) | null = null,
): Float64Array {
  if (measure === "renyi" && o.alpha === 1) measure = "kl"; // its definition at α = 1, on either path
  const rows = q === null ? p.shape.rows : pairRows(p.shape, q.shape);
  const fromKernel = fast?.(measure, p, q, rows, o) ?? null;
  if (fromKernel !== null) return fromKernel;
  checkSide(p);
  if (q !== null) checkSide(q);
  const out = new Float64Array(rows);
  const evaluator = new RowEvaluator(p.shape.dim);
  // KL of probabilities: the single-pair path per row (its exact path only where needed),
  // after the zero-total checks that name the row
  const plainKL = singleKL !== null && measure === "kl" && q !== null && o.smoothing === null &&
    p.kind === "probabilities" && q.kind === "probabilities";
  for (let r = 0; r < rows; r++) {
    if (plainKL) {
      const a = rowOf(p, r, o), b = rowOf(q!, r, o);
      out[r] = singleKL(rowVector(a), rowVector(b), o.normalize);
    } else {
      out[r] = exactRow(evaluator, measure, p, q, r, o);
    }
  }
  return out;
}

/** One row, exactly (the JS path). */
export function exactRow(evaluator: RowEvaluator, measure: MeasureName, p: Side, q: Side | null, r: number, o: Resolved): number {
  const normalize = normalizes(o), rp = rowOf(p, r, o);
  if (measure === "entropy") return evaluator.entropy(rp, normalize);
  return evaluator.measure(measure, rp, rowOf(q!, r, o), normalize, o.alpha);
}
