// klTerms: the kernel's terms, each element it leaves (or every element on the JS backend)
// on the exact path.
import { KLRangeError } from "../errors.js";
import { checkRow, kernelTerms } from "../batch.js";
import { logRatio } from "../exact/log.js";
import { exactTerm, termsRow, total } from "../measures/kl-terms.js";
import { simdKernel } from "./backend.js";
import { resolve, type ScoreOptions } from "./options.js";
import { checkSide, pairRows, rowOf, side, smoothRow } from "./sides.js";
import type { Vector } from "./vector.js";

export function terms(p: Vector, q: Vector, options?: ScoreOptions): Float64Array {
  const o = resolve(options);
  if (o.reduction !== "none" || o.weights !== null) throw new KLRangeError("KL_BAD_OPTION", "klTerms returns every term: options.reduction and options.weights do not apply");
  const ps = side(p, "p", o.inputP, o.dim), qs = side(q, "q", o.inputQ, o.dim);
  const rows = pairRows(ps.shape, qs.shape);
  const dim = ps.shape.dim;
  const fromKernel = kernelTerms(simdKernel(), ps, qs, rows, o);
  const out = fromKernel ?? new Float64Array(rows * dim);
  const fast = fromKernel !== null;
  if (!fast) {
    checkSide(ps);
    checkSide(qs);
  }
  const normalize = o.smoothing !== null ? o.smoothing.mode !== "clip" : o.normalize;
  for (let r = 0; r < rows; r++) {
    if (fast) {
      // only the elements the kernel left (a ≈ b, subnormals, extreme totals), exactly
      let rp: ReturnType<typeof rowOf> | null = null, P = 0, Q = 0, logQP = 0;
      for (let i = r * dim; i < (r + 1) * dim; i++) {
        if (!Number.isNaN(out[i])) continue;
        if (rp === null) {
          checkRow(ps, r);
          checkRow(qs, r);
          rp = rowOf(ps, r, o); // throws for a zero total, as the exact path does
          P = total(rp, true);
          Q = total(rowOf(qs, r, o), true);
          logQP = logRatio(Q, P);
        }
        const j = i - r * dim;
        out[i] = exactTerm(ps.v[(ps.shape.rows === 1 ? 0 : r * dim) + j], qs.v[(qs.shape.rows === 1 ? 0 : r * dim) + j], P, Q, logQP, true);
      }
      continue;
    }
    let rp = rowOf(ps, r, o), rq = rowOf(qs, r, o);
    if (o.smoothing !== null) {
      rp = smoothRow(rp, o, ps, r);
      rq = smoothRow(rq, o, qs, r);
    }
    termsRow(rp, rq, normalize, out, r * dim);
  }
  if (o.scale !== 1) for (let i = 0; i < out.length; i++) out[i] *= o.scale;
  return out;
}
