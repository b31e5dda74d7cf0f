// Rows longer than a scratch chunk (LLM vocabularies): the pair measures and the KL of logits,
// streamed chunk by chunk through the Kernel's fixed scratch area (src/wasm.ts).
import { matrixRow, type Vector } from "../engine/vector.js";
import { Sum } from "../exact/sum.js";
import { CHUNK_BYTES, CHUNK_F64, STATUS_INVALID, STATUS_Q_ZERO, STATUS_REDO, copyRows, rowsOut, setStatus, type Batch, type Kernel, type RowsOut } from "../wasm.js";

/** Calls `f(i, m)` for each chunk [i, i + m) of a row of `dim` elements, until it returns true. */
function eachChunk(dim: number, f: (i: number, m: number) => boolean | void): void {
  for (let i = 0; i < dim; i += CHUNK_F64) if (f(i, Math.min(CHUNK_F64, dim - i)) === true) return;
}

/**
 * Pass 1 over a long row (`load` puts elements [i, i + m) of p and q into the input chunks):
 * the totals, and STATUS_INVALID for a negative, NaN or infinite value or STATUS_REDO for
 * totals whose reciprocals leave the range or probabilities below the normal range (the
 * kernel's pairStatus decides, from the totals and the smallest non-zero p and q).
 */
function streamedTotals(k: Kernel, dim: number, load: (i: number, m: number) => void) {
  const r0 = k.results >> 3;
  const P = new Sum(), Q = new Sum();
  let lowest = Infinity, leastP = Infinity, leastQ = Infinity;
  eachChunk(dim, (i, m) => {
    load(i, m);
    k.wasm.pairTotals(k.scratch, k.scratch + CHUNK_BYTES, m);
    P.add(k.f64[r0]);
    Q.add(k.f64[r0 + 1]);
    lowest = Math.min(lowest, k.f64[r0 + 2]);
    leastP = Math.min(leastP, k.f64[r0 + 3]);
    leastQ = Math.min(leastQ, k.f64[r0 + 4]);
  });
  return { P, Q, bits: k.wasm.pairStatus(P.total, Q.total, lowest, leastP, leastQ, -1) };
}

/** Kernel.pairRowSums for rows longer than a chunk: totals first, then the sums (two passes). */
export function pairRowSumsLong(k: Kernel, b: Batch, measure: number, alpha: number | undefined): RowsOut {
  k.views();
  const out = rowsOut(b.rows);
  const r0 = k.results >> 3;
  // logits (LLM vocabularies): each side's max and log-sum-exp first, then every chunk is
  // made probabilities in place right after it is copied
  const ex = k.wasm;
  const softmaxStats = (v: Vector, invT: number | null | undefined): { max: number; log: number } | null => {
    if (invT === null || invT === undefined) return null;
    let max = -Infinity;
    eachChunk(b.dim, (i, m) => {
      copyRows(k.f64, k.scratch >> 3, v, i, m);
      max = Math.max(max, ex.logitsMax(k.scratch, m));
    });
    const sum = new Sum();
    if (Number.isFinite(max)) {
      eachChunk(b.dim, (i, m) => {
        copyRows(k.f64, k.scratch >> 3, v, i, m);
        sum.add(ex.logitsSumExp(k.scratch, m, max, invT));
      });
    }
    return { max, log: Math.log(sum.total) };
  };
  for (let r = 0; r < b.rows; r++) {
    const p = matrixRow(b.p, b.pRows, r, b.dim), q = matrixRow(b.q, b.qRows, r, b.dim);
    const sp = softmaxStats(p, b.invP), sq = softmaxStats(q, b.invQ);
    if (alpha !== undefined || (sp !== null && !Number.isFinite(sp.max)) || (sq !== null && !Number.isFinite(sq.max))) {
      setStatus(out, r, STATUS_REDO);
      (b.flagged ??= new Uint8Array(b.rows))[r] = 1; // no finite logit, or NaN/+∞: exact path
      continue;
    }
    const load = (i: number, m: number): void => {
      k.load(p, q, i, m, false);
      if (sp !== null) ex.logitsSoftmax(k.scratch, k.scratch, m, sp.max, b.invP!, sp.log);
      if (sq !== null) ex.logitsSoftmax(k.scratch + CHUNK_BYTES, k.scratch + CHUNK_BYTES, m, sq.max, b.invQ!, sq.log);
    };
    // pass 1: totals and the smallest elements; pass 2: the sums with the totals known
    let { P, Q, bits } = streamedTotals(k, b.dim, load);
    const sum = new Sum(), tv = new Sum();
    if (bits === 0) {
      eachChunk(b.dim, (i, m) => {
        load(i, m);
        ex.pairSums(measure, k.scratch, k.scratch + CHUNK_BYTES, m, 1 / P.total, 1 / Q.total);
        sum.add(k.f64[r0]);
        tv.add(k.f64[r0 + 1]);
      });
      bits = ex.pairStatus(P.total, Q.total, 0, 1, 1, tv.total);
    }
    out.values[r] = sum.total;
    setStatus(out, r, bits);
    if (bits & STATUS_INVALID) break;
  }
  return out;
}

/** Kernel.logitsKL for rows longer than a chunk. */
export function logitsKLLong(k: Kernel, b: Batch, invT: number): RowsOut {
  const ex = k.wasm;
  // long rows (LLM vocabularies): one streamed pass gives both rows' maxima and sums of
  // exponentials (rescaled chunk by chunk onto the running maxima) and the direct KL; where
  // that KL is small next to the magnitudes it sums, a second pass takes the T-form
  k.views();
  const out = rowsOut(b.rows), values = out.values;
  const qAt = k.scratch + CHUNK_BYTES;
  const stats = ex.logitsStatsPtr() >> 3, side2 = ex.logitsResultsPtr() >> 3;
  const rescale = (from: number, to: number): number => (from === -Infinity ? 0 : Math.exp((from - to) * invT));
  for (let r = 0; r < b.rows; r++) {
    const p = matrixRow(b.p, b.pRows, r, b.dim), q = matrixRow(b.q, b.qRows, r, b.dim);
    let ma = -Infinity, mb = -Infinity, sa = 0, sb = 0, w = 0, abs = 0, qZero = false;
    eachChunk(b.dim, (i, m) => {
      k.load(p, q, i, m, false);
      // the running maxima are the chunk's shifts (the kernel's own where −∞)
      ex.logitsStats(k.scratch, qAt, m, invT, ma, mb);
      const f = k.f64;
      if (f[stats + 6] & STATUS_INVALID) {
        ma = NaN;
        return true;
      }
      // q = 0 under a finite logit of p: +Infinity once every chunk is known to be valid
      if (f[stats + 6] & STATUS_Q_ZERO) qZero = true;
      const na = Math.max(ma, f[stats + 7]), nb = Math.max(mb, f[stats + 8]);
      if (na > ma) {
        const k = rescale(ma, na);
        sa *= k;
        w *= k;
        abs *= k;
        ma = na;
      }
      if (nb > mb) {
        sb *= rescale(mb, nb);
        mb = nb;
      }
      const ka = rescale(f[stats], ma), kb = rescale(f[stats + 1], mb);
      sa += f[stats + 2] * ka;
      sb += f[stats + 3] * kb;
      w += f[stats + 4] * ka;
      abs += f[stats + 5] * ka;
    });
    if (!Number.isFinite(ma) || !Number.isFinite(mb)) {
      setStatus(out, r, STATUS_REDO); // invalid values or no finite logit: the exact path reports it
      continue;
    }
    if (qZero) {
      values[r] = Infinity;
      continue;
    }
    const dm = (ma - mb) * invT, ls = Math.log(sa / sb);
    const direct = w / sa - dm - ls;
    // rounding moves the direct form by a few ulps of the magnitudes it sums, and ln(sa/sb)
    // by a few ulps of 1 (sa's and sb's relative errors): where the KL is small next to
    // those, the T-form (as ln sa − ln sb, that floor was missed: 1.9e-12 relative on a
    // near row with −∞ entries)
    if (direct === Infinity || direct >= 0.05 * (abs / sa + Math.abs(dm) + Math.abs(ls) + 1)) {
      values[r] = direct;
      continue;
    }
    const terms = new Sum(), pd = new Sum();
    eachChunk(b.dim, (i, m) => {
      k.load(p, q, i, m, false);
      terms.add(ex.logitsKL(k.scratch, qAt, m, ma, mb, invT, Math.log(sa), Math.log(sb)));
      pd.add(k.f64[side2]);
    });
    values[r] = ex.logitsFinish(terms.total, pd.total);
  }
  return out;
}
