// KL divergence kernels over raw pointers into linear memory.
//
// Every kernel sums, over i, the non-negative "generalised" term
//     T(p, q) = p·ln(p/q) − p + q          (0 when p = q, never cancels to garbage)
// and also Σp, Σq and Σ(p − q); src/compose.ts turns those sums into the normalised KL.
// (plainF64 sums p·ln(p/q) itself instead of T, for the unnormalised divergence.)
// Near p = q, with s = (p − q)/(p + q), the term is evaluated as
//     T = (p + q)·(s² + (1 + s)·(atanh(s) − s))
// which keeps full relative accuracy where a plain p·ln(p/q) loses most digits. Far from
// p = q the direct form p·ln(p/q) − (p − q) is well conditioned, ln(p/q) as math.ts takes
// it; both branches share one division and one polynomial.
//
// Blocks whose values are all positive normal finite numbers take the SIMD path; any
// other block (zeros, subnormals, invalid values) is redone by the scalar path (kl-scalar.ts),
// which is exact for every case and reports invalid input through the return value.

import {
  atanhTailF32x4, atanhTailF64x2, hsum, INVALID, lnRatioFromF64x2, log1pMinusX, logRatio, LOSSY, maddF64x2, mantissaMask,
  MIN_NORMAL_F32, MIN_NORMAL_F64, nearF64x2, putRow, Q_ZERO, ratioArgF64x2, REDO, RESULTS, v32, v64, V_LN2,
} from "./math";
import { klLanesF32, klLanesF64, LANES_DIM } from "./kl-lanes";
import { resetSums, scalarRange, storeResults } from "./kl-scalar";

// A block's vector sums are trusted when they are finite (a NaN or ±Infinity anywhere makes
// them not) and its smallest input is a positive normal number (zero, subnormal or negative
// would not be); otherwise the scalar path redoes the block.
// @ts-ignore: decorator
@inline function trusted(t: v128, s: v128, r: v128, lowest: f64, minNormal: f64): bool {
  const sum = hsum(f64x2.add(f64x2.add(t, s), r));
  return sum - sum == 0 && lowest >= minNormal;
}

// ---------------------------------------------------------------------------------------
// f64x2 path

// @ts-ignore: decorator
@inline export function termF64x2(p: v128, q: v128, d: v128): v128 {
  const a = f64x2.add(p, q);
  const near = nearF64x2(d, a);
  const x = ratioArgF64x2(p, q, near);
  const u = f64x2.mul(x, x);
  const tail = atanhTailF64x2(x, u);
  // near: (p + q)·(x² + (1 + x)·tail); far: p·ln(p/q) − (p − q)
  const tNear = f64x2.mul(a, f64x2.add(u, maddF64x2(x, tail, tail)));
  const logRatio = lnRatioFromF64x2(p, q, near, f64x2.add(x, tail), true);
  return v128.bitselect(tNear, f64x2.sub(f64x2.mul(p, logRatio), d), near);
}

// The lean term: p·ln(p/q) − (p − q) with q always moved into p's binade (x = (p − q′)/(p + q′),
// |x| < 1/3, ln(p/q) = k·ln2 + 2·atanh(x)): no near branch, no second form.
// @ts-ignore: decorator
@inline function leanF64x2(p: v128, q: v128, d: v128): v128 {
  const e = i64x2.sub(i64x2.shr_u(p, 52), i64x2.shr_u(q, 52));
  const k = f64x2.convert_low_i32x4_s(v128.shuffle<i32>(e, e, 0, 2, 0, 2));
  const m = mantissaMask(false), qq = v128.or(v128.and(q, m), v128.andnot(p, m));
  const x = f64x2.div(f64x2.sub(p, qq), f64x2.add(p, qq));
  const y = f64x2.add(x, atanhTailF64x2(x, f64x2.mul(x, x)));
  return f64x2.sub(f64x2.mul(p, maddF64x2(k, v64(V_LN2), f64x2.add(y, y))), d);
}

const BLOCK_F64: i32 = 32; // elements per validity check (a multiple of 4)
const BLOCK_F32: i32 = 64; // a multiple of 16
// Σ T, Σ p, Σ q, Σ (p − q) over n doubles at p, q, every q multiplied by `scale` first (1
// but in the rare rescaling pass, where q·1 = q exactly); returns status bits. One kernel for
// both: a second instance cost 1.3 KB of the default entry's budget, the multiply ~nothing.
export function klF64(p: usize, q: usize, n: i32, scale: f64): i32 {
  return sums<f64>(p, q, n, scale);
}

// Σ p·ln(p/q) in place of Σ T (the unnormalised divergence), otherwise as klF64, on the scalar
// path: callers take Σ T + Σ (p − q) from klF64 first and come here only where that sum cancels
// (a SIMD copy of this cost the default entry ~450 B).
export function plainF64(p: usize, q: usize, n: i32): i32 {
  resetSums();
  const status = scalarRange<f64>(p, q, 0, n, 1, true);
  storeResults(f64x2.splat(0), f64x2.splat(0), f64x2.splat(0), f64x2.splat(0));
  return status;
}

// The sums of one block, left in globals (one store per block is cheap; five vectors
// cannot be returned).
let blockT = f64x2(0, 0), blockP = f64x2(0, 0), blockQ = f64x2(0, 0), blockD = f64x2(0, 0);
let blockLowest: f64 = 0;

// Certify, then refine. A block's Σ T comes first from the lean term, with a rigorous bound on
// its rounding error (ε = 2⁻⁵³, first order): x is within 2ε (p − q′ is exact: one binade),
// its series within 5.5e-15 of a tail under |x|/27, so 2y = 2·atanh(x) within 3.6ε; k·ln2
// within 0.8ε·|k|·ln2, the sum and the product within ε/2 of |ln| ≤ (|k| + 1)·ln2 each; p − q
// and the term's subtraction within ε/2 of |p − q| and of |t|: per element under
// ε·(1.3·p·|k| + 4.8·p + 0.5·q + 0.5·|t|), and as p·|k|·ln2 ≤ p·|ln(p/q)| + p·ln2 ≤ |t| + 2p + q
// (2|y| < ln 2), under ε·(2.4·|t| + 8·p + 2.4·q); nine additions per lane and the lanes' sum
// add 10ε·Σ|t|, and Σ|t| ≤ T + 2·(its error) (each true term is ≥ 0). So the block's error
// is under ε·(13·T + 8·Σp + 2.4·Σq), and the block is kept where that is ≤ 2⁻⁴⁵·T = 256ε·T,
// i.e. 8·Σp + 3·Σq ≤ 240·T. Near-identical rows fail (T is then small against the
// cancellation): the T form redoes that block and the rest of the call. With the cancellation
// limit of src/exact/kl.ts (16), a normalised KL stays within 5e-13.
// @ts-ignore: decorator
@inline function blockF64(pb: usize, qb: usize, count: i32, c: v128, lean: bool): bool {
  let t = f64x2.splat(0), s = t, r = t, d = t;
  let lo = f64x2.splat(Infinity);
  for (let j = 0; j < count; j += 4) {
    const pj = pb + (<usize>j << 3), qj = qb + (<usize>j << 3);
    const p0 = v128.load(pj), q0 = f64x2.mul(v128.load(qj), c);
    const p1 = v128.load(pj, 16), q1 = f64x2.mul(v128.load(qj, 16), c);
    lo = f64x2.pmin(lo, f64x2.pmin(f64x2.pmin(p0, q0), f64x2.pmin(p1, q1)));
    const d0 = f64x2.sub(p0, q0), d1 = f64x2.sub(p1, q1);
    if (lean) t = f64x2.add(t, f64x2.add(leanF64x2(p0, q0, d0), leanF64x2(p1, q1, d1)));
    else t = f64x2.add(t, f64x2.add(termF64x2(p0, q0, d0), termF64x2(p1, q1, d1)));
    s = f64x2.add(s, f64x2.add(p0, p1));
    r = f64x2.add(r, f64x2.add(q0, q1));
    d = f64x2.add(d, f64x2.add(d0, d1));
  }
  blockT = t;
  blockP = s;
  blockQ = r;
  blockD = d;
  blockLowest = Math.min(f64x2.extract_lane(lo, 0), f64x2.extract_lane(lo, 1));
  return 8 * hsum(s) + 3 * hsum(r) <= 240 * hsum(t);
}

// The last n % 16 floats of an f32 call (three or more), padded to 16 with bytes of 1 in p and
// q alike: pads of 2.3694278e-38 (a normal f32) whose terms and differences are exactly 0, and
// their sum is taken off Σp and Σq again (exactly where those are small enough to matter). The
// scalar path took them one logarithm each, through the imported Math.log: 10 floats cost more
// than 16 (a rows batch cannot be padded in place: the next row follows).
const TAIL: usize = memory.data(128, 16);
const KEEP: usize = memory.data<i32>([-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const PAD: f64 = 2.3694278276172396e-38;
const F32_NO_UNDERFLOW: f64 = 6.617444900424222e-24; // 2^-77
export const F32_UNDERFLOW_PER_ELEMENT: f64 = 7.52316384526264e-37; // 2^-120

// The sums over n elements of type T (f64: of T, q·scale; f32: of T) into RESULTS: vector
// steps block by block on the SIMD path (f64: lean while its blocks are certified), a block it
// cannot trust and an f64 call's last n % 4 elements on the scalar one.
// @ts-ignore: decorator
@inline function sums<T>(p: usize, q: usize, n: i32, scale: f64): i32 {
  resetSums();
  let status = 0;
  let accT = f64x2.splat(0), accP = f64x2.splat(0), accQ = f64x2.splat(0), accD = f64x2.splat(0);
  const c = f64x2.splat(scale);
  const f32 = sizeof<T>() == 4, block = f32 ? BLOCK_F32 : BLOCK_F64;
  const whole = n & (f32 ? ~15 : ~3);
  // a tail of three floats or more is the iteration past the last block (whose i, a multiple
  // of block, is below whole + block); one or two cost less on the scalar path (~14 ns each
  // against ~35 for a padded block)
  const end = f32 && n - whole > 2 ? whole + block : whole;
  let lean = true;
  for (let i = 0; i < end; i += block) {
    let count = min(block, whole - i);
    let pb = p + (<usize>i << alignof<T>()), qb = q + (<usize>i << alignof<T>());
    if (f32 && count <= 0) {
      i = whole;
      count = n - i;
      // four vectors a side, the lanes past the tail replaced by pads (bulk memory.copy and
      // memory.fill of a few bytes cost V8 ~15 ns a call: more than the terms). The loads may
      // read up to 60 bytes past an input: the scratch area has them (src/wasm.ts)
      for (let k: usize = 0; k < 64; k += 16) {
        // lanes below count: all ones, from 16 words of them before 16 of 0
        const keep = v128.load(KEEP + 64 - (<usize>count << 2) + k);
        v128.store(TAIL + k, v128.bitselect(v128.load(p + (<usize>i << 2) + k), i32x4.splat(0x01010101), keep));
        v128.store(TAIL + 64 + k, v128.bitselect(v128.load(q + (<usize>i << 2) + k), i32x4.splat(0x01010101), keep));
      }
      pb = TAIL;
      qb = TAIL + 64;
    }
    if (f32) {
      // one call site: a second one for full blocks (a constant trip count) measured within
      // ±2% of it on Node 20 and cost the module 60–68 B deflated
      blockF32(pb, qb, count);
      if (pb == TAIL) {
        const pads = f64x2.splat(<f64>(16 - count) * (PAD / 2));
        blockP = f64x2.sub(blockP, pads);
        blockQ = f64x2.sub(blockQ, pads);
      }
    } else if (lean && !blockF64(pb, qb, count, c, true) && blockLowest >= MIN_NORMAL_F64) {
      // not certified, an untrusted block aside (the scalar path takes that as it is)
      lean = false;
    }
    // one call site of each form: they are inlined
    if (!f32 && !lean) blockF64(pb, qb, count, c, false);
    // f32: the term of two floats below 2^-77 can fall into the subnormals (near p = q it is about
    // (p + q)·x², and x² ≥ 2^-50 for two distinct floats), each then within 2^-149 absolute, not
    // 2^-24 relative: a block with such an element is kept where count·2^-149 is under 2^-29 of its
    // Σ T (tiny near-identical rows were 17% off), else the scalar path takes it. Pads: T = 0 exactly.
    if (trusted(blockT, blockP, blockQ, blockLowest, f32 ? <f64>MIN_NORMAL_F32 : MIN_NORMAL_F64) && (!f32 || blockLowest >= F32_NO_UNDERFLOW || hsum(blockT) >= <f64>count * F32_UNDERFLOW_PER_ELEMENT)) {
      accT = f64x2.add(accT, blockT);
      accP = f64x2.add(accP, blockP);
      accQ = f64x2.add(accQ, blockQ);
      accD = f64x2.add(accD, blockD);
    } else {
      status |= scalarRange<T>(p, q, i, i + count, scale, false);
      if (status & INVALID) return status;
    }
  }
  // f64's last n % 4, f32's last one or two
  if (end == whole && whole < n) status |= scalarRange<T>(p, q, whole, n, scale, false);
  if (status & INVALID) return status;
  storeResults(accT, accP, accQ, accD);
  return status;
}

// ---------------------------------------------------------------------------------------
// f32x4 path: the term in f32 lanes (its error stays near 1e-7 relative, see the header),
// sums in f64 lanes after a short f32 pairwise tree.

// @ts-ignore: decorator
@inline export function termF32x4(p: v128, q: v128, d: v128): v128 {
  const a = f32x4.add(p, q);
  // |s| ≤ 1/2 ⇔ 2|p − q| ≤ p + q (a wider near branch than f64: f32 cannot afford the
  // cancellation of the far form close to p = q)
  const near = f32x4.le(f32x4.add(f32x4.abs(d), f32x4.abs(d)), a);
  const m = mantissaMask(true);
  const qq = v128.bitselect(q, v128.or(v128.and(q, m), v128.andnot(p, m)), near);
  const kf = f32x4.convert_i32x4_s(i32x4.sub(i32x4.shr_u(p, 23), i32x4.shr_u(q, 23)));
  const x = f32x4.div(f32x4.sub(p, qq), f32x4.add(p, qq));
  const u = f32x4.mul(x, x);
  const tail = atanhTailF32x4(x, u);
  const tNear = f32x4.mul(a, f32x4.add(u, f32x4.add(tail, f32x4.mul(x, tail))));
  const y = f32x4.add(x, tail);
  // k·ln2 rounded once: an ulp of |ln(p/q)| ≥ ln 3 on far lanes, under a term's error budget
  const logRatio = f32x4.add(f32x4.mul(kf, v32(6)), f32x4.add(y, y));
  const tFar = f32x4.sub(f32x4.mul(p, logRatio), d);
  return v128.bitselect(tNear, tFar, near);
}

// The term of the four floats at p, q
// @ts-ignore: decorator
@inline function termF32At(p: usize, q: usize): v128 {
  const pv = v128.load(p), qv = v128.load(q);
  return termF32x4(pv, qv, f32x4.sub(pv, qv));
}

// f32x4 → f64x2 sum of its four lanes, pairwise
// @ts-ignore: decorator
@inline function widenSum(v: v128): v128 {
  return f64x2.add(f64x2.promote_low_f32x4(v), f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)));
}

// Sums `count` floats of a block (a multiple of 16), four vectors per step.
// @ts-ignore: decorator
@inline function blockF32(pb: usize, qb: usize, count: i32): void {
  let t = f64x2.splat(0), s = f64x2.splat(0), r = f64x2.splat(0);
  let lo = f32x4.splat(Infinity);
  for (let j = 0; j < count; j += 16) {
    // Loads sit next to their use, to keep few vectors live. Terms are ≥ 0, so the short
    // f32 chain adds at most 3 ulps of relative error.
    const pj = pb + (<usize>j << 2), qj = qb + (<usize>j << 2);
    let tt = termF32At(pj, qj);
    tt = f32x4.add(tt, termF32At(pj + 16, qj + 16));
    tt = f32x4.add(tt, termF32At(pj + 32, qj + 32));
    tt = f32x4.add(tt, termF32At(pj + 48, qj + 48));
    t = f64x2.add(t, widenSum(tt));
    // Σp and Σq of the same four vectors, reloaded from L1: cheaper than keeping them in
    // registers (V8 has 16 and spills). Widened before any addition, so both are exact to
    // f64 rounding and Σ(p − q) = Σp − Σq is too: the unnormalised sum ΣT + Σ(p − q) needs it.
    const p0 = v128.load(pj), q0 = v128.load(qj);
    const p1 = v128.load(pj, 16), q1 = v128.load(qj, 16);
    const p2 = v128.load(pj, 32), q2 = v128.load(qj, 32);
    const p3 = v128.load(pj, 48), q3 = v128.load(qj, 48);
    lo = f32x4.pmin(lo, f32x4.pmin(f32x4.pmin(f32x4.pmin(p0, q0), f32x4.pmin(p1, q1)), f32x4.pmin(f32x4.pmin(p2, q2), f32x4.pmin(p3, q3))));
    s = f64x2.add(s, f64x2.add(f64x2.add(widenSum(p0), widenSum(p1)), f64x2.add(widenSum(p2), widenSum(p3))));
    r = f64x2.add(r, f64x2.add(f64x2.add(widenSum(q0), widenSum(q1)), f64x2.add(widenSum(q2), widenSum(q3))));
  }
  blockT = t;
  blockP = s;
  blockQ = r;
  blockD = f64x2.sub(s, r);
  const m = f32x4.pmin(lo, v128.shuffle<f32>(lo, lo, 2, 3, 0, 1));
  blockLowest = Math.min(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1));
}

// Σ T, Σ p, Σ q, Σ (p − q) over n floats at p, q; returns status bits.
export function klF32(p: usize, q: usize, n: i32): i32 {
  return sums<f32>(p, q, n, 1);
}

// ---------------------------------------------------------------------------------------
// Batches: many rows per call, row-major with `dim` elements per row; a row step of 0
// repeats one row against every row of the other side (broadcast).

export const TINY_TOTAL: f64 = 1.1830521861667747e-271; // 2^-900: smaller totals make the terms subnormal

// The normalised KL from the sums in RESULTS, as src/compose.ts composes it:
// T/P + ln(Q/P) − (Q/P − 1); `limit` bounds how far the correction may cancel T/P (NaN beyond).
function composedKL(limit: f64): f64 {
  const t = load<f64>(RESULTS) + load<f64>(RESULTS, 32);
  const P = load<f64>(RESULTS, 8), Q = load<f64>(RESULTS, 16), d = load<f64>(RESULTS, 24);
  const result = t / P + log1pMinusX(-d / P, Q / P);
  return result < Infinity && !(t / P > limit * result) ? Math.max(result, 0) : NaN;
}

// The divergence of every row (kind 0: normalised, f64; 1: Σ p·ln(p/q), f64; 2: normalised,
// f32; 3: Σ T itself, the generalised KL, f64) into [value, status] per row (index.ts).
// REDO where the sums cannot settle the row to full accuracy (a zero or tiny total, a sum
// that overflowed, the correction cancelling T/P more than `limit` times); Q_ZERO with
// value +Infinity. Returns the OR of the rows' status bits, stopping at the first invalid row.
// Normalised rows of up to LANES_DIM elements go across lanes (kl-lanes.ts), a group of
// rows per vector; the rows a group leaves come here one by one.
export function klRows(kind: i32, p: usize, q: usize, rows: i32, dim: i32, pStep: i32, qStep: i32, out: usize): i32 {
  const shift: usize = kind == 2 ? 2 : 3;
  const width = dim > LANES_DIM || kind & 1 ? 1 : kind == 2 ? 4 : 2;
  let all = 0;
  for (let r = 0; r < rows; r += width) {
    // a row is left to klRow when it has a bit in `left`
    const left = width == 1 ? 1 : kind == 2 ? klLanesF32(p, q, r, rows, dim, pStep, qStep, out) : klLanesF64(p, q, r, rows, dim, pStep, qStep, out);
    for (let k = 0; k < width && r + k < rows; k++) {
      if (!(left & (1 << k))) continue;
      const i = r + k, pr = p + ((<usize>i * <usize>pStep) << shift), qr = q + ((<usize>i * <usize>qStep) << shift);
      all |= klRow(kind, pr, qr, dim, out, i);
      if (all & INVALID) return all;
    }
  }
  return all;
}

// Σ p·ln(p/q) = Σ T + Σ (p − q) from klF64's sums, into RESULTS in place of Σ T, where their
// rounding cannot reach 1e-12 of it (as src/exact/kl.ts's plainFromT): Σ T is within 2⁻⁴⁴ of
// itself (blockF64), Σ (p − q) within 2⁻⁴⁵ of Σp + Σq (≤ 140 additions per lane). False where
// it may (the sum cancels: near-identical rows) or a sum overflowed.
function plainFromT(): bool {
  const t = load<f64>(RESULTS) + load<f64>(RESULTS, 32), P = load<f64>(RESULTS, 8), Q = load<f64>(RESULTS, 16);
  const value = t + load<f64>(RESULTS, 24);
  if (!(5.684341886080802e-14 * t + 2.842170943040401e-14 * (P + Q) <= 1e-12 * Math.abs(value))) return false;
  store<f64>(RESULTS, value);
  store<f64>(RESULTS, 0, 32);
  return true;
}

// Row r of klRows, whose rows start at pr and qr; returns its status.
function klRow(kind: i32, pr: usize, qr: usize, dim: i32, out: usize, r: i32): i32 {
  // the kernels themselves, called (inlined here, sums' per-width branches would sit in one
  // hot loop); kind 1 (Σ p·ln(p/q)) from klF64's sums where plainFromT certifies them
  let status = kind == 2 ? klF32(pr, qr, dim) : klF64(pr, qr, dim, 1);
  if (kind == 1 && !(status & (INVALID | Q_ZERO)) && !plainFromT()) status = plainF64(pr, qr, dim);
  const t = load<f64>(RESULTS) + load<f64>(RESULTS, 32), P = load<f64>(RESULTS, 8), Q = load<f64>(RESULTS, 16);
  let value: f64 = Infinity;
  const normalised = kind == 0 || kind == 2;
  // a zero (or subnormal) total first: the exact path reports it or rescales
  if (normalised && !(P > TINY_TOTAL && Q > TINY_TOTAL)) status |= REDO;
  else if (status & Q_ZERO) value = Infinity;
  else if (t + P + Q - (t + P + Q) != 0) status |= REDO; // a sum overflowed
  else if (!normalised) value = t;
  else {
    value = composedKL(kind == 2 ? 2.5 : 16); // as src/exact/kl.ts's cancels()
    if (value != value && kind == 0 && P / Q > TINY_TOTAL && P / Q < 1 / TINY_TOTAL) {
      // same shapes, different totals (counts of different sample sizes): q rescaled by
      // P/Q and summed again, trusted where that rounding cannot show (as klCore does)
      const lossy = klF64(pr, qr, dim, P / Q) & LOSSY;
      value = composedKL(Infinity);
      if (lossy || !(value >= 1e-5 && value < Infinity)) value = NaN;
    }
    if (value != value) status |= REDO;
  }
  return putRow(out, r, value, status);
}
