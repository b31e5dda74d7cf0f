// KL between diagonal Gaussians on the exact path.
import { at, checkFinite, rowStart, type Side } from "../engine/sides.js";
import { KLRangeError } from "../errors.js";
import { log1pMinusX, logRatio, MIN_NORMAL } from "../exact/log.js";
import { Sum } from "../exact/sum.js";

/**
 * KL between diagonal Gaussians, per dimension ½[(μ₁ − μ₂)²/σ₂² − (ln r − (r − 1))] with
 * r = σ₁²/σ₂²: the bracket is ≥ 0 and computed from r − 1 = (σ₁² − σ₂²)/σ₂², exact where
 * the variances agree to many digits.
 */
export function gaussianRows(m1: Side, v1: Side, m2: Side, v2: Side, rows: number): Float64Array {
  for (const s of [m1, m2]) checkFinite(s);
  for (const s of [v1, v2]) {
    checkFinite(s);
    for (let i = 0; i < s.v.length; i++) {
      if (s.v[i] <= 0) throw new KLRangeError("KL_BAD_VARIANCE", `${at(s.name, i, s.shape.rows === 1 ? null : s.shape.dim)} is ${s.v[i]}; variances must be > 0`);
    }
  }
  const dim = m1.shape.dim;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const a = rowStart(m1, r), b = rowStart(v1, r), c = rowStart(m2, r), e = rowStart(v2, r);
    const sum = new Sum();
    for (let i = 0; i < dim; i++) {
      const s1 = v1.v[b + i], s2 = v2.v[e + i];
      const dm = m1.v[a + i] - m2.v[c + i];
      const u = (s1 - s2) / s2;
      const ratio = s1 / s2;
      // ln r − (r − 1), with ln r from the raw variances where r over/underflows
      const logTerm = ratio === Infinity || ratio < MIN_NORMAL ? logRatio(s1, s2) - u : log1pMinusX(u, ratio);
      // ½x² with x = dm/σ₂, the half taken first: fits wherever the term does (dm = 1.4e154)
      const x = dm / Math.sqrt(s2);
      sum.add(0.5 * x * x - 0.5 * logTerm);
    }
    out[r] = sum.total;
  }
  return out;
}
