// klTerms on the exact path, on every backend: each term is an output element, so writing
// the array costs about what the logarithms do; the kernel's terms were 1.5× faster (1.6e6
// elements) for 0.4 KB of the default entry's size budget.
import { termsRow } from "../measures/kl-terms.js";
import { normalizes, noReduction, resolve, type ScoreOptions } from "./options.js";
import { overflow } from "../errors.js";
import { checkSide, pairRows, rowOf, side, zeroAt } from "./sides.js";
import type { Vector } from "./vector.js";

export function terms(p: Vector, q: Vector, options?: ScoreOptions): Float64Array {
  const o = resolve(options);
  noReduction(o, "klTerms");
  const ps = side(p, "p", o.inputP, o.dim), qs = side(q, "q", o.inputQ, o.dim);
  const rows = pairRows(ps.shape, qs.shape);
  const dim = ps.shape.dim;
  const out = new Float64Array(rows * dim);
  checkSide(ps);
  checkSide(qs);
  const normalize = normalizes(o);
  for (let r = 0; r < rows; r++) termsRow(rowOf(ps, r, o), rowOf(qs, r, o), normalize, out, r * dim);
  // +Infinity only where q = 0 under p > 0 (termsRow's, exact); a finite term past the double
  // range (1e308·ln 1e308), or its multiple in the caller's base, is KL_OVERFLOW as in kl(), and
  // so is a NaN left by an intermediate overflow (logits 1e308 apart: ∞ − ∞), never returned
  // (row and column only for an infinite term: the loop runs once per output element)
  for (let i = 0, k = 0; i < out.length; i++) {
    const v = (out[i] *= o.scale);
    if (!(Math.abs(v) < Infinity) && !(v === Infinity && zeroAt(qs, (i - (k = i % dim)) / dim, k))) overflow();
  }
  return out;
}
