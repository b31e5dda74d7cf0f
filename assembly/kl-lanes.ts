// Short rows across lanes: a vector holds the same element of two rows (f64x2) or of four
// (f32x4), so a row's sums need no horizontal add and the normalisation (composedKL in
// kl.ts) runs in lanes too. klRows takes normalised rows of up to LANES_DIM elements a group
// at a time here; a row whose lanes cannot settle it (an element zero, subnormal or invalid,
// a tiny total, an overflow, a correction that cancels) is left to its per-row path, as a
// bit in the returned mask. A last group past `rows` repeats the last row and stores nothing
// for it; a broadcast row (step 0) is the same address in every lane.

import { F32_UNDERFLOW_PER_ELEMENT, termF32x4, termF64x2, TINY_TOTAL } from "./kl";
import { log1pMinusXF64x2, MIN_NORMAL_F32, MIN_NORMAL_F64 } from "./math";

export const LANES_DIM: i32 = 32;

// Address of row min(r, rows − 1) of a side with `step` elements per row
// @ts-ignore: decorator
@inline function rowAt(x: usize, r: i32, rows: i32, step: i32, shift: usize): usize {
  return x + ((<usize>min(r, rows - 1) * <usize>step) << shift);
}

// Lanes of rows r, r + 1 (f64) from their sums: values stored as [value, 0] for the lanes
// that settle (totals above `least`), and the mask of those that do not (within `rows`).
// Called, not inlined: once per two rows, and three copies would cost the module more than
// the calls cost.
function settle(t: v128, P: v128, Q: v128, d: v128, trusted: v128, limit: f64, least: f64, leastT: f64, out: usize, r: i32, rows: i32): i32 {
  const tp = f64x2.div(t, P), tiny = f64x2.splat(least);
  const value = f64x2.add(tp, log1pMinusXF64x2(P, Q, d));
  // trusted elements, finite sums, totals above `least`, Σ T at least `leastT`, and a
  // correction that cancels T/P less than `limit` times
  const sum = f64x2.add(f64x2.add(t, P), Q);
  let ok = v128.and(trusted, f64x2.eq(f64x2.sub(sum, sum), f64x2.splat(0)));
  ok = v128.and(ok, v128.and(v128.and(f64x2.gt(P, tiny), f64x2.gt(Q, tiny)), f64x2.ge(t, f64x2.splat(leastT))));
  ok = v128.and(ok, v128.andnot(f64x2.lt(value, f64x2.splat(Infinity)), f64x2.gt(tp, f64x2.mul(f64x2.splat(limit), value))));
  const v = f64x2.pmax(f64x2.splat(0), value), zero = f64x2.splat(0);
  v128.store(out + (<usize>r << 4), v128.shuffle<f64>(v, zero, 0, 2));
  if (r + 1 < rows) v128.store(out + (<usize>r << 4), v128.shuffle<f64>(v, zero, 1, 2), 16);
  return ~i64x2.bitmask(ok) & 3;
}

// Rows r, r + 1 of doubles; returns the rows left to the per-row path (bit k: row r + k).
// Two elements per step from one load per row, transposed (two independent terms); past an
// odd dim, a pad of p = q = MIN_NORMAL_F64: its term and its difference are exactly 0, and it
// moves totals above TINY_TOTAL (those that settle here) by less than 2^-120 of themselves.
export function klLanesF64(p: usize, q: usize, r: i32, rows: i32, dim: i32, pStep: i32, qStep: i32, out: usize): i32 {
  const p0 = rowAt(p, r, rows, pStep, 3), p1 = rowAt(p, r + 1, rows, pStep, 3);
  const q0 = rowAt(q, r, rows, qStep, 3), q1 = rowAt(q, r + 1, rows, qStep, 3);
  let t = f64x2.splat(0), s = t, u = t, d = t, lo = f64x2.splat(Infinity);
  for (let j = 0; j < dim; j += 2) {
    const at = <usize>j << 3;
    const a0 = v128.load(p0 + at), a1 = v128.load(p1 + at), b0 = v128.load(q0 + at), b1 = v128.load(q1 + at);
    const pv = v128.shuffle<f64>(a0, a1, 0, 2), qv = v128.shuffle<f64>(b0, b1, 0, 2);
    let pw = v128.shuffle<f64>(a0, a1, 1, 3), qw = v128.shuffle<f64>(b0, b1, 1, 3);
    if (j + 1 == dim) pw = qw = f64x2.splat(MIN_NORMAL_F64);
    const dv = f64x2.sub(pv, qv), dw = f64x2.sub(pw, qw);
    lo = f64x2.pmin(lo, f64x2.pmin(f64x2.pmin(pv, qv), f64x2.pmin(pw, qw)));
    t = f64x2.add(t, f64x2.add(termF64x2(pv, qv, dv), termF64x2(pw, qw, dw)));
    s = f64x2.add(s, f64x2.add(pv, pw));
    u = f64x2.add(u, f64x2.add(qv, qw));
    d = f64x2.add(d, f64x2.add(dv, dw));
  }
  return settle(t, s, u, d, f64x2.ge(lo, f64x2.splat(MIN_NORMAL_F64)), 16, TINY_TOTAL, 0, out, r, rows);
}

// f32x4 → its lanes 0, 1 and 2, 3 as f64x2
// @ts-ignore: decorator
@inline function low(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}
// @ts-ignore: decorator
@inline function high(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
}

// The f32 lanes settle only rows whose totals exceed 2^-80: the pads (MIN_NORMAL_F32, three at
// most) then move a total by less than 2^-44 of itself
const TINY_TOTAL_F32: f64 = 8.271806125530277e-25;

// Four rows' vectors of four elements, transposed in place: xk becomes element k of rows 0 … 3
// @ts-ignore: decorator
@inline function transpose(x0: v128, x1: v128, x2: v128, x3: v128): void {
  const a = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5), b = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
  const c = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5), d = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
  e0 = v128.shuffle<f64>(a, c, 0, 2);
  e1 = v128.shuffle<f64>(a, c, 1, 3);
  e2 = v128.shuffle<f64>(b, d, 0, 2);
  e3 = v128.shuffle<f64>(b, d, 1, 3);
}
let e0 = f32x4(0, 0, 0, 0), e1 = f32x4(0, 0, 0, 0), e2 = f32x4(0, 0, 0, 0), e3 = f32x4(0, 0, 0, 0);

// Rows r … r + 3 of floats: four elements per step, one load per row and side, transposed;
// terms in f32 lanes, summed four at a time in f32 (as blockF32 does, terms are ≥ 0) and then
// in f64 lanes, two rows per vector. Past dim, pads of p = q = MIN_NORMAL_F32 (terms and differences 0).
export function klLanesF32(p: usize, q: usize, r: i32, rows: i32, dim: i32, pStep: i32, qStep: i32, out: usize): i32 {
  const p0 = rowAt(p, r, rows, pStep, 2), p1 = rowAt(p, r + 1, rows, pStep, 2);
  const p2 = rowAt(p, r + 2, rows, pStep, 2), p3 = rowAt(p, r + 3, rows, pStep, 2);
  const q0 = rowAt(q, r, rows, qStep, 2), q1 = rowAt(q, r + 1, rows, qStep, 2);
  const q2 = rowAt(q, r + 2, rows, qStep, 2), q3 = rowAt(q, r + 3, rows, qStep, 2);
  let t0 = f64x2.splat(0), t1 = t0, s0 = t0, s1 = t0, u0 = t0, u1 = t0, d0 = t0, d1 = t0;
  let lo = f32x4.splat(Infinity);
  for (let j = 0; j < dim; j += 4) {
    const at = <usize>j << 2;
    let a0 = v128.load(p0 + at), a1 = v128.load(p1 + at), a2 = v128.load(p2 + at), a3 = v128.load(p3 + at);
    let b0 = v128.load(q0 + at), b1 = v128.load(q1 + at), b2 = v128.load(q2 + at), b3 = v128.load(q3 + at);
    transpose(a0, a1, a2, a3);
    a0 = e0; a1 = e1; a2 = e2; a3 = e3;
    transpose(b0, b1, b2, b3);
    b0 = e0; b1 = e1; b2 = e2; b3 = e3;
    if (j + 4 > dim) {
      // elements past dim (1 to 3 of them; vector 0 is element j < dim): pads
      const pad = f32x4.splat(MIN_NORMAL_F32), left = dim - j;
      a1 = left > 1 ? a1 : pad;
      b1 = left > 1 ? b1 : pad;
      a2 = left > 2 ? a2 : pad;
      b2 = left > 2 ? b2 : pad;
      a3 = b3 = pad;
    }
    let tt = f32x4.splat(0);
    // one element vector per pass, the next moved up (one copy of the term in the module)
    for (let k = 0; k < 4; k++) {
      const pv = a0, qv = b0;
      a0 = a1; a1 = a2; a2 = a3;
      b0 = b1; b1 = b2; b2 = b3;
      lo = f32x4.pmin(lo, f32x4.pmin(pv, qv));
      tt = f32x4.add(tt, termF32x4(pv, qv, f32x4.sub(pv, qv)));
      // Σp, Σq, Σ(p − q) in f64 lanes (exact values and differences): their f32 rounding would
      // not cancel in the composition
      const pl = low(pv), ph = high(pv), ql = low(qv), qh = high(qv);
      s0 = f64x2.add(s0, pl);
      s1 = f64x2.add(s1, ph);
      u0 = f64x2.add(u0, ql);
      u1 = f64x2.add(u1, qh);
      d0 = f64x2.add(d0, f64x2.sub(pl, ql));
      d1 = f64x2.add(d1, f64x2.sub(ph, qh));
    }
    t0 = f64x2.add(t0, low(tt));
    t1 = f64x2.add(t1, high(tt));
  }
  // limit 2 (the per-row f32 path allows 2.5): the terms' f32 error, up to ~3e-7 of T, grows by
  // T/P over the value, and 2 keeps that within 1e-6 at every dim
  // and, as klF32 (kl.ts), only where the terms that may have fallen into the subnormals
  // (within dim·2^-149 together) stay under 2^-29 of the row's Σ T: dim·2^-120 (rows below it,
  // identical ones too, go per row)
  const trusted = f32x4.ge(lo, f32x4.splat(MIN_NORMAL_F32)), limit: f64 = 2, leastT = <f64>dim * F32_UNDERFLOW_PER_ELEMENT;
  const left = settle(t0, s0, u0, d0, i64x2.extend_low_i32x4_s(trusted), limit, TINY_TOTAL_F32, leastT, out, r, rows);
  const trustedHigh = i64x2.extend_high_i32x4_s(trusted);
  return left | (r + 2 < rows ? settle(t1, s1, u1, d1, trustedHigh, limit, TINY_TOTAL_F32, leastT, out, r + 2, rows) << 2 : 0);
}
