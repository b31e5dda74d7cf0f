// The SIMD path of batches: which kernel takes a batch, how its rows are composed, and which
// rows go back to the exact JS path (src/measures.ts). One kernel call per chunk of rows;
// each row comes back as [value, status] (src/wasm.ts), and rows whose status says REDO (or
// whose composition here cannot keep full accuracy) are marked in `redo` and done exactly.
import {
  STATUS_INVALID, STATUS_Q_ZERO, STATUS_REDO,
  type Batch, type Kernel, type KernelKind, type RowsOut,
} from "./wasm.js";
import { normalizes, type Resolved } from "./engine/options.js";
import { exactRow } from "./engine/rows.js";
import { checkSide, rowSide, type Side } from "./engine/sides.js";
import { notFound } from "./engine/vector.js";
import { RowEvaluator } from "./measures/evaluator.js";
import { MEASURES, type MeasureName } from "./measures/registry.js";

/** A batch on the kernel `k` (null: no SIMD backend active), or null for the JS path. */
export function kernelRows(k: Kernel | null, measure: MeasureName, p: Side, q: Side | null, rows: number, o: Resolved): Float64Array | null {
  const family = MEASURES[measure].kernel;
  // no kernel, or logits whose 1/T overflows (the kernels take 1/T): the exact path
  if (k === null || family === null || (o.pre !== 1 && (p.kind === "logits" || q?.kind === "logits"))) return null;
  // the 1/T of a side the kernels make probabilities (normalised log-probabilities: 1, raw: NaN)
  const invT = (s: Side | null): number | null => (s === null || s.kind === "probabilities" ? null : s.kind === "logits" ? o.invT : o.normalize ? 1 : NaN);
  if (measure === "kl" && o.smoothing === null && q !== null && p.kind !== "probabilities" && q.kind !== "probabilities") {
    // two sides of logits (or normalised log-probabilities, the same at T = 1)
    if (!(invT(p) === invT(q))) return null;
    const out = k.logitsKL({ p: p.v, q: q.v, rows, dim: p.shape.dim, pRows: p.shape.rows, qRows: q.shape.rows }, invT(p)!);
    // an invalid row, too, goes to the exact path, which names the value
    const redo = new Uint8Array(rows);
    return redoRows(fromRows(out, STATUS_REDO | STATUS_INVALID, redo), redo, measure, p, q, o);
  }
  const dim = p.shape.dim;
  // logits / normalised log-probabilities: the kernels make rows probabilities in the
  // scratch area (softmaxRows) before the probability kernels; raw log-probabilities, and
  // rows longer than a chunk, stay on the exact path
  const invP = invT(p), invQ = invT(q);
  // smoothing, too, happens in the scratch area (smoothRows), after which clip leaves the
  // values unnormalised and the other modes renormalise
  const smoothing = o.smoothing;
  const norm = normalizes(o);
  const converted = invP !== null || invQ !== null || smoothing !== null;
  // rows longer than a chunk: only the pair kernel streams logits (KL has its own path above)
  const streamsLogits = smoothing === null && q !== null && family.family === "pair";
  if (converted && (Number.isNaN(invP) || Number.isNaN(invQ) || (dim > 4096 && !streamsLogits))) return null;
  const smooth = smoothing === null ? null : { mode: ["clip", "replace-zeros", "additive"].indexOf(smoothing.mode), epsilon: smoothing.epsilon };

  const flagged = new Uint8Array(rows);
  const real = (s: Side) => s === p || s === q; // not entropy's uniform row
  const batch = (a: Side, b: Side): Batch => ({
    p: a.v, q: b.v, rows, dim, pRows: a.shape.rows, qRows: b.shape.rows,
    invP: a === p ? invP : a === q ? invQ : null, invQ: b === q ? invQ : b === p ? invP : null, flagged,
    smooth: smooth && { ...smooth, normalizeP: real(a) ? o.normalize : null, normalizeQ: real(b) ? o.normalize : null },
  });
  const f32 = !converted && p.v instanceof Float32Array && q?.v instanceof Float32Array;
  const fail = (): never => {
    checkSide(p);
    if (q !== null) checkSide(q);
    notFound();
  };
  // rows the exact path must decide, by the kernels' status or by the compositions below
  const redo = new Uint8Array(rows);
  // KL of every row (normalised or plain)
  const klOf = (a: Side, b: Side, plainKind: KernelKind | "generalized" | null): Float64Array => {
    const out = k.klRowSums(batch(a, b), plainKind ?? (f32 && a.v instanceof Float32Array && b.v instanceof Float32Array ? "f32" : "f64"));
    if (out.status & STATUS_INVALID) fail();
    return fromRows(out, STATUS_REDO, redo);
  };
  let values: Float64Array;
  switch (measure) {
    case "kl":
    case "generalizedKL":
      values = klOf(p, q!, norm ? null : measure === "kl" ? "plain" : "generalized");
      break;
    case "entropy":
    case "crossEntropy": {
      // made per call: a cached row would keep 8·dim bytes after it
      const ones: Side = { v: new Float64Array(dim).fill(1), name: "uniform", shape: { rows: 1, dim }, kind: "probabilities" };
      // H(p) = ln n − D(p‖uniform) (plain: −Σ p·ln p); kept only where it does not cancel
      const toUniform = klOf(p, ones, norm ? null : "plain");
      values = new Float64Array(rows);
      for (let r = 0; r < rows; r++) {
        const h = norm ? Math.log(dim) - toUniform[r] : -toUniform[r];
        values[r] = h;
        if (norm && !(h >= 0.05 * Math.log(dim))) redo[r] = 1;
      }
      if (measure === "crossEntropy") {
        const entropyRedo = redo.slice();
        const d = klOf(p, q!, norm ? null : "plain");
        for (let r = 0; r < rows; r++) {
          const h = values[r];
          values[r] = d[r] === Infinity && entropyRedo[r] === 0 ? Infinity : h + d[r];
          // unnormalised, H and the plain KL can have opposite signs: a sum that cancels
          // more than 64× (past ~1e-13) is summed directly on the exact path
          if (!norm && !(Math.abs(values[r]) * 64 >= Math.abs(h) + Math.abs(d[r]))) redo[r] = 1;
        }
      }
      break;
    }
    default: {
      if (!norm || family.family !== "pair") return null;
      const alpha = MEASURES[measure].alpha ? o.alpha! : undefined;
      const out = k.pairRowSums(batch(p, q!), family.id, alpha);
      if (out.status & STATUS_INVALID) fail();
      values = fromRows(out, STATUS_REDO, redo);
      for (let r = 0; r < rows; r++) {
        const v = family.compose === undefined ? values[r] : family.compose(values[r], alpha!);
        if (Number.isNaN(v)) redo[r] = 1;
        values[r] = Math.max(v, 0);
      }
      break;
    }
  }
  if (converted) {
    // the unnormalised sums (clip) of signed terms move by ~ε·Σa with the ulp each converted
    // probability carries: under 4e-3 up to ~1e-13 (kl clip: 3.7e-13 at 1e-3, 1.6e-10 at 1e-6)
    const plainSigned = !norm && !MEASURES[measure].termsNonNegative;
    for (let r = 0; r < rows; r++) {
      // probabilities made from logits carry an ulp each (see smallFromLogitsExact)
      if (flagged[r] === 1 || (MEASURES[measure].smallFromLogitsExact && values[r] < 1e-6)) redo[r] = 1;
      if (plainSigned && !(Math.abs(values[r]) >= 4e-3)) redo[r] = 1;
    }
  }
  return redoRows(values, redo, measure, p, q, o);
}

/**
 * The values of a row kernel's rows, with `redo` marked where a row's status has any of
 * `redoBits`; a row that is not redone and has Q_ZERO is +Infinity. Only a batch with a row
 * status (rowStatus) needs a look at each row.
 */
function fromRows(out: RowsOut, redoBits: number, redo: Uint8Array): Float64Array {
  const { values, rowStatus } = out;
  if (rowStatus === null) return values;
  for (let r = 0; r < values.length; r++) {
    const status = rowStatus[r];
    if (status & redoBits) redo[r] = 1;
    else if (status & STATUS_Q_ZERO) values[r] = Infinity;
  }
  return values;
}

/** The rows marked in `redo`: checked, then exactly, in JS. */
function redoRows(values: Float64Array, redo: Uint8Array, measure: MeasureName, p: Side, q: Side | null, o: Resolved): Float64Array {
  const list: number[] = [];
  for (let r = 0; r < redo.length; r++) if (redo[r]) list.push(r);
  // every row to redo checked first, p's then q's: an invalid value comes before a row that
  // sums to 0 (as on the JS path, which validates before it sums)
  for (const s of [p, q]) for (const r of list) if (s) checkRow(s, r);
  // made only where a row is redone: it holds eight arrays of dim doubles
  let evaluator: RowEvaluator | undefined;
  for (const r of list) values[r] = exactRow((evaluator ??= new RowEvaluator(p.shape.dim)), measure, p, q, r, o);
  return values;
}


/** Checks the values of row r of a side (before the exact path reads them). */
export function checkRow(s: Side, r: number): void {
  try {
    checkSide(rowSide(s, r));
  } catch {
    checkSide(s); // the message with the flat index, row and column
  }
}
