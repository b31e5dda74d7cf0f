// gaussianKL's rows: the kernel first, its unsettled rows (and any check) on the exact path.
import { gaussianRows } from "../measures/gaussian.js";
import { simdKernel } from "./backend.js";
import { pairRows, type Side } from "./sides.js";

/** Per-row Gaussian KL on the kernel; its NaN rows (and any check) on the exact path. */
export function gaussianValues(sides: readonly [Side, Side, Side, Side]): Float64Array {
  const [m1, v1, m2, v2] = sides;
  const rows = pairRows(
    { rows: pairRows(m1.shape, v1.shape, ["mean1", "var1"]), dim: m1.shape.dim },
    { rows: pairRows(m2.shape, v2.shape, ["mean2", "var2"]), dim: m2.shape.dim },
    ["mean1", "mean2"],
  );
  const fast = simdKernel()?.gaussian([m1.v, v1.v, m2.v, v2.v], sides.map((s) => s.shape.rows), rows, m1.shape.dim) ?? null;
  if (fast === null || fast.some(Number.isNaN)) {
    // the exact path checks every value (and names the bad one) before it computes
    const exact = gaussianRows(m1, v1, m2, v2, rows);
    if (fast === null) return exact;
    for (let r = 0; r < rows; r++) if (Number.isNaN(fast[r])) fast[r] = exact[r];
  }
  return fast;
}
