// From per-row values to what the caller asked for: the documented range, the base, roots,
// one overflow rule, weights and the reduction.
import { normalizes, type Resolved } from "./options.js";
import { checkValues, type Side, zeroAt } from "./sides.js";
import { checkVectorType, type Vector } from "./vector.js";
import { KLRangeError, overflow } from "../errors.js";
import { Sum } from "../exact/sum.js";
import { type MeasureName, type MeasureRecord, MEASURES } from "../measures/registry.js";

/**
 * From per-row values (nats, before roots) to what the caller asked for: the documented
 * range, base, roots, weights, reduction. +Infinity stays only where it is the exact value
 * (the zeros of `sides` say so); any other value beyond the double range is KL_OVERFLOW.
 */
export function finish(measure: MeasureName, values: Float64Array, o: Resolved, single: boolean, sides: Side[]): number | Float64Array {
  const m = MEASURES[measure];
  const scale = m.usesBase ? o.scale : 1;
  // the documented range holds for distributions (normalised sides, softmaxed logits), in
  // the caller's base: ln 2 / ln 2 is exactly 1
  const normalized = normalizes(o) || (o.smoothing === null && sides.every((s) => s.kind === "logits"));
  const min = normalized || m.termsNonNegative ? 0 : -Infinity;
  const max = !normalized ? Infinity : m.usesBase ? m.max / o.logBase : m.max;
  const asIs = scale === 1 && !m.root;
  for (let r = 0; r < values.length; r++) {
    let v = values[r];
    // the usual row needs nothing: finite, inside the range, no base or root to apply
    if (asIs && v > min && v <= max && v < Infinity) continue;
    if (!Number.isFinite(v)) overflowUnlessInfinite(m, v, sides, r, o);
    // in a base near 1 a finite value may leave the range (the caller's bits of 1.5e308 nats)
    v = Math.min(Math.max(finite(v * scale, v), min), max);
    values[r] = m.root ? Math.sqrt(v) : v;
  }
  const out = reduce(values, o, single);
  // a (weighted) mean of values in the range rounds into it too (it came out 1 ulp past √ln 2)
  return typeof out === "number" && o.reduction === "mean" ? Math.min(Math.max(out, min), m.root ? Math.sqrt(max) : max) : out;
}

/** Weights and the reduction over rows (`single`: the one value of an unbatched call). */
export function reduce(values: Float64Array, o: Resolved, single: boolean): number | Float64Array {
  if (single) return values[0];
  const w = o.weights;
  if (w !== null) checkWeights(w, values.length);
  // weights are used relative to the largest, so that their sum cannot overflow
  let wMax = 0;
  if (w !== null) for (let r = 0; r < values.length; r++) wMax = Math.max(wMax, w[r]);
  // (at least the least double: a weight 1e-320 of the largest still counts, an Infinity row too)
  const weight = (r: number): number => (w === null ? 1 : w[r] === 0 ? 0 : Math.max(w[r] / wMax, 5e-324));
  if (o.reduction === "none") {
    if (w !== null) for (let r = 0; r < values.length; r++) values[r] = w[r] === 0 ? 0 : finite(values[r] * w[r], values[r]);
    return values;
  }
  // a masked row (weight 0) counts as nothing, even when it is Infinity; the mean sums each
  // row times its share of the weights, so that rows whose sum overflows still have their mean
  const sum = new Sum(), weights = new Sum();
  let infinite = 0;
  for (let r = 0; r < values.length; r++) weights.add(weight(r));
  if (o.reduction === "mean" && weights.total === 0) throw new KLRangeError("KL_ZERO_SUM", "options.weights are all 0: the mean is undefined");
  const share = o.reduction === "sum" ? 1 : 1 / weights.total;
  for (let r = 0; r < values.length; r++) {
    const wr = weight(r);
    if (wr > 0) sum.add(values[r] * wr * share); // (v·w first: an Infinity row of a tiny weight stays Infinity)
    if (wr > 0 && values[r] === Infinity) infinite = Infinity;
  }
  // a sum of finite rows past the double range is KL_OVERFLOW, as a row's is
  return finite(sum.total * (o.reduction === "mean" || w === null ? 1 : wMax), infinite);
}

/** A product or reduction of finite values must be finite, either sign: else KL_OVERFLOW (an Infinity row stays Infinity). */
export function finite(result: number, from: number): number {
  if (Math.abs(result) === Infinity && from !== Infinity) overflow();
  return result;
}

/** Row r's value is +Infinity or NaN: fine only for +Infinity that the zeros of the inputs explain. */
function overflowUnlessInfinite(m: MeasureRecord, v: number, sides: Side[], r: number, o: Resolved): void {
  if (v !== Infinity || sides.length !== 2 || o.smoothing !== null) overflow();
  const [p, q] = sides;
  let pOnly = false, qOnly = false, both = false;
  for (let i = 0; i < p.shape.dim; i++) {
    const zp = zeroAt(p, r, i), zq = zeroAt(q, r, i);
    if (!zp && zq) pOnly = true;
    else if (zp && !zq) qOnly = true;
    else if (!zp && !zq) both = true;
  }
  const alpha = o.alpha ?? 1;
  const infinite =
    m.infinite === "q-zero-under-p" ? pOnly :
    m.infinite === "either-zero" ? pOnly || qOnly :
    m.infinite === "renyi" ? (alpha >= 1 ? pOnly : !both) : false;
  if (!infinite) overflow();
}

function checkWeights(w: Vector, rows: number): void {
  checkVectorType(w, "options.weights");
  if (w.length !== rows) {
    throw new KLRangeError("KL_BAD_SHAPE", `options.weights has ${w.length} entries for ${rows} rows`);
  }
  checkValues(w, "options.weights", "probabilities", null);
}
