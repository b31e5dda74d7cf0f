// KL divergence kernels over raw pointers into linear memory.
//
// Every kernel sums, over i, the non-negative "generalised" term
//     T(p, q) = p·ln(p/q) − p + q          (0 when p = q, never cancels to garbage)
// and also Σp, Σq and Σ(p − q); src/compose.ts turns those sums into the normalised KL.
// (plainF64 sums p·ln(p/q) itself instead of T, for the unnormalised divergence.)
// Near p = q, with s = (p − q)/(p + q), the term is evaluated as
//     T = (p + q)·(s² + (1 + s)·(atanh(s) − s))
// which keeps full relative accuracy where a plain p·ln(p/q) loses most digits. Far from
// p = q the direct form p·ln(p/q) − (p − q) is well conditioned, and ln(p/q) = k·ln2 +
// 2·atanh(t), t = (p − q')/(p + q'), with q' = q moved into p's binade and k the exponent
// difference: p/q is never formed. Both branches share one division and one polynomial.
//
// Blocks whose values are all positive normal finite numbers take the SIMD path; any
// other block (zeros, subnormals, invalid values) is redone by the scalar path, which is
// exact for every case and reports invalid input through the return value.

// Results of the last call: [Σ T, Σ p, Σ q, Σ (p − q), low part of Σ T] as f64 (the low
// part is the compensation of a plain sum, 0 otherwise; Σ T leaves out the
// +Infinity terms of q = 0 under p > 0, which STATUS_Q_ZERO reports instead).
const RESULTS: usize = memory.data(40, 16);

// Status bits returned by the kernels.
const STATUS_INVALID: i32 = 1; // a negative, NaN or infinite value: the wrapper finds which
const STATUS_Q_ZERO: i32 = 2; // some q = 0 under p > 0: the sum is +Infinity by definition
const STATUS_LOSSY: i32 = 4; // a rescaled q under p > 0 became subnormal and lost bits

export function resultsPtr(): usize {
  return RESULTS;
}

// First free byte after static data; the wrapper keeps its scratch area from here on.
export function scratchPtr(): usize {
  return (__heap_base + 63) & ~63;
}

// ---------------------------------------------------------------------------------------
// Polynomials for atanh(x) − x = x³·h(x²) (coefficients from scripts/atanh-poly.py)

// f64: |x| ≤ 1/3, max relative error of h 4.8e-15 (contributes < 6e-16 to a term)
const HF64_0 = 0.33333333333333487;
const HF64_1 = 0.19999999999780063;
const HF64_2 = 0.14285714338330496;
const HF64_3 = 0.11111106278964857;
const HF64_4 = 0.09091130554209872;
const HF64_5 = 0.07686637438179002;
const HF64_6 = 0.0675117123587855;
const HF64_7 = 0.05161334635249541;
const HF64_8 = 0.08435350330548605;

// f32: |x| ≤ 1/2, max relative error of h 6.6e-8 (contributes < 1.2e-8 to a term)
const HF32_0: f32 = 0.3333333134651184;
const HF32_1: f32 = 0.2000047266483307;
const HF32_2: f32 = 0.14263980090618134;
const HF32_3: f32 = 0.11469875276088715;
const HF32_4: f32 = 0.06493489444255829;
const HF32_5: f32 = 0.15751780569553375;

const LN2 = 0.6931471805599453;
const LN2_F32: f32 = 0.6931471805599453;

// Vector constants live in memory: V8 rebuilds a v128.const with three instructions at every
// use inside a loop, while a load from a fixed address is one.
const VEC64: usize = memory.data<f64>([
  HF64_0, HF64_0, HF64_1, HF64_1, HF64_2, HF64_2, HF64_3, HF64_3, HF64_4, HF64_4,
  HF64_5, HF64_5, HF64_6, HF64_6, HF64_7, HF64_7, HF64_8, HF64_8, LN2, LN2,
], 16);
const VEC32: usize = memory.data<f32>([
  HF32_0, HF32_0, HF32_0, HF32_0, HF32_1, HF32_1, HF32_1, HF32_1, HF32_2, HF32_2, HF32_2, HF32_2,
  HF32_3, HF32_3, HF32_3, HF32_3, HF32_4, HF32_4, HF32_4, HF32_4, HF32_5, HF32_5, HF32_5, HF32_5,
  LN2_F32, LN2_F32, LN2_F32, LN2_F32,
], 16);
const MASKS: usize = memory.data<i64>([
  0x000fffffffffffff, 0x000fffffffffffff, // f64 mantissa
  0x007fffff007fffff, 0x007fffff007fffff, // f32 mantissa
], 16);

// @ts-ignore: decorator
@inline function vec64(i: i32): v128 {
  return v128.load(VEC64 + (<usize>i << 4));
}
// @ts-ignore: decorator
@inline function vec32(i: i32): v128 {
  return v128.load(VEC32 + (<usize>i << 4));
}
// @ts-ignore: decorator
@inline function mask(i: i32): v128 {
  return v128.load(MASKS + (<usize>i << 4));
}

const MIN_NORMAL_F64 = 2.2250738585072014e-308;
const MIN_NORMAL_F32: f32 = 1.1754943508222875e-38;

// ---------------------------------------------------------------------------------------
// Scalar path: exact semantics for every input; the SIMD path must agree with it.

// atanh(x) − x for |x| ≤ 1/3, given u = x²
// @ts-ignore: decorator
@inline function atanhTail(x: f64, u: f64): f64 {
  const u2 = u * u;
  const u4 = u2 * u2;
  const h =
    (HF64_0 + HF64_1 * u) + (HF64_2 + HF64_3 * u) * u2 +
    ((HF64_4 + HF64_5 * u) + (HF64_6 + HF64_7 * u) * u2) * u4 + HF64_8 * (u4 * u4);
  return x * u * h;
}

// T(p, q) for finite p, q ≥ 0 (callers reject everything else)
function term(p: f64, q: f64): f64 {
  if (p == 0) return q;
  if (q == 0) return Infinity;
  const a = p + q;
  if (a == Infinity) return 2 * term(p * 0.5, q * 0.5); // halving is exact at this size
  const d = p - q;
  if (Math.abs(d) * 3 <= a) {
    const s = d / a;
    const u = s * s;
    return a * (u + (1 + s) * atanhTail(s, u));
  }
  return p * logRatio(p, q) - d;
}

// p·ln(p/q), the unnormalised sum's term: T + (p − q) near p = q, where that has no
// cancellation, and the direct product elsewhere, where T + (p − q) would have
// (T ≈ q ≫ p·|ln(p/q)| when q ≫ p).
function plainTerm(p: f64, q: f64): f64 {
  if (p == 0) return 0;
  if (q == 0) return Infinity;
  const d = p - q;
  if (Math.abs(d) * 3 <= p + q) return term(p, q) + d;
  return p * logRatio(p, q);
}

// ln(p/q) for positive finite p, q (the far branch: p/q outside [1/2, 2])
function logRatio(p: f64, q: f64): f64 {
  const r = p / q;
  // p/q can overflow or lose bits when subnormal; ln p − ln q is then the accurate route
  return r == Infinity || r < MIN_NORMAL_F64 ? Math.log(p) - Math.log(q) : Math.log(r);
}

let sumT: f64 = 0;
let sumTLow: f64 = 0; // Neumaier compensation of sumT (plain sums only)
let sumP: f64 = 0;
let sumQ: f64 = 0;
let sumD: f64 = 0;

// Adds elements [from, to) of type T (f32 or f64, widened) to the scalar sums (of
// plainTerm instead of term when `plain`); q is multiplied by `scale` first.
// @ts-ignore: decorator
@inline function scalarRange<T>(p: usize, q: usize, from: i32, to: i32, scale: f64, plain: bool): i32 {
  let status = 0;
  for (let i = from; i < to; i++) {
    const pi = <f64>load<T>(p + (<usize>i << alignof<T>()));
    const qi = <f64>load<T>(q + (<usize>i << alignof<T>())) * scale;
    // !(x >= 0) also catches NaN; x == Infinity catches the rest
    if (!(pi >= 0) || !(qi >= 0) || pi == Infinity || qi == Infinity) return status | STATUS_INVALID;
    if (pi > 0 && qi < MIN_NORMAL_F64 && scale != 1) status |= STATUS_LOSSY;
    // the +Infinity term is reported, not summed, so an overflow stays distinguishable
    if (qi == 0 && pi > 0) status |= STATUS_Q_ZERO;
    else if (plain) {
      // the plain sum may cancel: compensated (Neumaier) addition
      const x = plainTerm(pi, qi), y = sumT + x;
      sumTLow += additionError(sumT, x, y);
      sumT = y;
    } else sumT += term(pi, qi);
    sumP += pi;
    sumQ += qi;
    sumD += pi - qi;
  }
  return status;
}

// The rounding error of y = a + b (Neumaier's ordering: exact for any magnitudes).
// @ts-ignore: decorator
@inline function additionError(a: f64, b: f64, y: f64): f64 {
  return Math.abs(a) >= Math.abs(b) ? a - y + b : b - y + a;
}

function resetSums(): void {
  sumT = 0;
  sumTLow = 0;
  sumP = 0;
  sumQ = 0;
  sumD = 0;
}

// Stores scalar sums plus the lanes of the SIMD accumulators; `tLow` holds the lanes'
// compensation of a plain sum.
function storeResults(t: v128, p: v128, q: v128, d: v128, tLow: v128): void {
  // the lanes of t join sumT through compensated additions (only plain sums can cancel)
  let hi = sumT, lo = sumTLow + f64x2.extract_lane(tLow, 0) + f64x2.extract_lane(tLow, 1);
  for (let k = 0; k < 2; k++) {
    const x = k == 0 ? f64x2.extract_lane(t, 0) : f64x2.extract_lane(t, 1);
    const y = hi + x;
    lo += additionError(hi, x, y);
    hi = y;
  }
  store<f64>(RESULTS, hi);
  store<f64>(RESULTS, sumP + f64x2.extract_lane(p, 0) + f64x2.extract_lane(p, 1), 8);
  store<f64>(RESULTS, sumQ + f64x2.extract_lane(q, 0) + f64x2.extract_lane(q, 1), 16);
  store<f64>(RESULTS, sumD + f64x2.extract_lane(d, 0) + f64x2.extract_lane(d, 1), 24);
  store<f64>(RESULTS, lo, 32);
}

// Error of the rounded sum s = a + b, lane-wise (Knuth's TwoSum).
// @ts-ignore: decorator
@inline function twoSumError(a: v128, b: v128, s: v128): v128 {
  const bb = f64x2.sub(s, a);
  return f64x2.add(f64x2.sub(a, f64x2.sub(s, bb)), f64x2.sub(b, bb));
}

// A block's vector sums are trusted when they are finite (a NaN or ±Infinity anywhere makes
// them not) and its smallest input is a positive normal number (zero, subnormal or negative
// would not be); otherwise the scalar path redoes the block.
// @ts-ignore: decorator
@inline function trusted(t: v128, s: v128, r: v128, lowest: f64, minNormal: f64): bool {
  const sum =
    f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1) +
    f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1) +
    f64x2.extract_lane(r, 0) + f64x2.extract_lane(r, 1);
  return sum - sum == 0 && lowest >= minNormal;
}

// ---------------------------------------------------------------------------------------
// f64x2 path

// @ts-ignore: decorator
@inline function termF64x2(p: v128, q: v128, d: v128, plain: bool): v128 {
  const a = f64x2.add(p, q);
  // |s| ≤ 1/3 ⇔ 3|p − q| ≤ p + q: decide the branch before dividing (adds, not constants:
  // every v128 constant costs instructions in the loop)
  const ad = f64x2.abs(d);
  const near = f64x2.le(f64x2.add(f64x2.add(ad, ad), ad), a);
  // far lanes: q' is q moved into p's binade, so p/q' ∈ (1/2, 2) and ln(p/q) = k·ln2 +
  // 2·atanh((p − q')/(p + q')) with k the exponent difference (inputs are positive normal)
  const qq = v128.bitselect(q, v128.or(v128.and(q, mask(0)), v128.andnot(p, mask(0))), near);
  const k = i64x2.sub(i64x2.shr_u(p, 52), i64x2.shr_u(q, 52));
  const kf = f64x2.convert_low_i32x4_s(v128.shuffle<i32>(k, k, 0, 2, 0, 2));
  const x = f64x2.div(f64x2.sub(p, qq), f64x2.add(p, qq));
  const u = f64x2.mul(x, x);
  const u2 = f64x2.mul(u, u);
  const u4 = f64x2.mul(u2, u2);
  const h = f64x2.add(
    f64x2.add(
      f64x2.add(vec64(0), f64x2.mul(vec64(1), u)),
      f64x2.mul(f64x2.add(vec64(2), f64x2.mul(vec64(3), u)), u2),
    ),
    f64x2.mul(
      f64x2.add(
        f64x2.add(
          f64x2.add(vec64(4), f64x2.mul(vec64(5), u)),
          f64x2.mul(f64x2.add(vec64(6), f64x2.mul(vec64(7), u)), u2),
        ),
        f64x2.mul(vec64(8), u4),
      ),
      u4,
    ),
  );
  const tail = f64x2.mul(f64x2.mul(x, u), h); // atanh(x) − x
  // near: (p + q)·(x² + (1 + x)·tail)
  const tNear = f64x2.mul(a, f64x2.add(u, f64x2.add(tail, f64x2.mul(x, tail))));
  // far: p·(k·ln2 + 2·atanh(x)) − (p − q)
  // k·ln2 rounded once is within an ulp of |ln(p/q)| ≥ ln 2 on these lanes
  const y = f64x2.add(x, tail);
  const logRatio = f64x2.add(f64x2.mul(kf, vec64(9)), f64x2.add(y, y));
  if (plain) return v128.bitselect(f64x2.add(tNear, d), f64x2.mul(p, logRatio), near);
  return v128.bitselect(tNear, f64x2.sub(f64x2.mul(p, logRatio), d), near);
}

const BLOCK_F64: i32 = 32; // elements per validity check (a multiple of 4)

// Σ T, Σ p, Σ q, Σ (p − q) over n doubles at p, q; returns status bits.
export function klF64(p: usize, q: usize, n: i32): i32 {
  return sumsF64(p, q, n, 1, false, false);
}

// klF64 with every q multiplied by `scale` first (the rare rescaling pass).
export function klScaledF64(p: usize, q: usize, n: i32, scale: f64): i32 {
  return sumsF64(p, q, n, scale, true, false);
}

// Σ p·ln(p/q) in place of Σ T (the unnormalised divergence), otherwise as klF64.
export function plainF64(p: usize, q: usize, n: i32): i32 {
  return sumsF64(p, q, n, 1, false, true);
}

// q·c where the caller rescales q (`scaled`), q otherwise.
// @ts-ignore: decorator
@inline function scaleQ(q: v128, c: v128, scaled: bool): v128 {
  return scaled ? f64x2.mul(q, c) : q;
}
// Lanes outside `valid` become 1.0 (f64 lanes; orZero serves both widths).
// @ts-ignore: decorator
@inline function orOne64(x: v128, valid: v128, masked: bool): v128 {
  return masked ? v128.bitselect(x, f64x2.splat(1), valid) : x;
}

// The sums of one block, left in globals (one store per block is cheap; six vectors
// cannot be returned).
let blockT = f64x2.splat(0);
let blockTLow = f64x2.splat(0);
let blockP = f64x2.splat(0);
let blockQ = f64x2.splat(0);
let blockD = f64x2.splat(0);
let blockLowest: f64 = 0;

// Sums `count` doubles of a block, two vectors per step. `masked` (the last, partial block)
// turns lanes at or past `count` into p = q = 1, whose term is 0, and masks them out of the
// plain sums; `plain` sums p·ln(p/q) with compensation instead of T.
// @ts-ignore: decorator
@inline function blockF64(pb: usize, qb: usize, count: i32, c: v128, scaled: bool, plain: bool, masked: bool): void {
  let t = f64x2.splat(0), tLow = f64x2.splat(0);
  let s = f64x2.splat(0), r = f64x2.splat(0), d = f64x2.splat(0);
  let lo = f64x2.splat(Infinity);
  for (let j = 0; j < count; j += 4) {
    const pj = pb + (<usize>j << 3), qj = qb + (<usize>j << 3);
    let v0 = i64x2.splat(-1), v1 = i64x2.splat(-1);
    if (masked) {
      v0 = i64x2.lt_s(i64x2.add(i64x2.splat(j), i64x2(0, 1)), i64x2.splat(count));
      v1 = i64x2.lt_s(i64x2.add(i64x2.splat(j), i64x2(2, 3)), i64x2.splat(count));
    }
    // lanes past count read as p = q = 1 (a zero term) here, as 0 in the plain sums below
    const p0 = orOne64(v128.load(pj), v0, masked), q0 = orOne64(scaleQ(v128.load(qj), c, scaled), v0, masked);
    const p1 = orOne64(v128.load(pj, 16), v1, masked), q1 = orOne64(scaleQ(v128.load(qj, 16), c, scaled), v1, masked);
    lo = f64x2.pmin(lo, f64x2.pmin(f64x2.pmin(p0, q0), f64x2.pmin(p1, q1)));
    const x0 = termF64x2(p0, q0, f64x2.sub(p0, q0), plain), x1 = termF64x2(p1, q1, f64x2.sub(p1, q1), plain);
    if (plain) {
      let y = f64x2.add(t, x0);
      tLow = f64x2.add(tLow, twoSumError(t, x0, y));
      t = y;
      y = f64x2.add(t, x1);
      tLow = f64x2.add(tLow, twoSumError(t, x1, y));
      t = y;
    } else {
      t = f64x2.add(t, f64x2.add(x0, x1));
    }
    // the plain sums from a reload (L1): fewer live vectors across the terms
    const a0 = orZero(v128.load(pj), v0, masked), b0 = orZero(scaleQ(v128.load(qj), c, scaled), v0, masked);
    const a1 = orZero(v128.load(pj, 16), v1, masked), b1 = orZero(scaleQ(v128.load(qj, 16), c, scaled), v1, masked);
    s = f64x2.add(s, f64x2.add(a0, a1));
    r = f64x2.add(r, f64x2.add(b0, b1));
    d = f64x2.add(d, f64x2.add(f64x2.sub(a0, b0), f64x2.sub(a1, b1)));
  }
  blockT = t;
  blockTLow = tLow;
  blockP = s;
  blockQ = r;
  blockD = d;
  blockLowest = Math.min(f64x2.extract_lane(lo, 0), f64x2.extract_lane(lo, 1));
}

// @ts-ignore: decorator
@inline function sumsF64(p: usize, q: usize, n: i32, scale: f64, scaled: bool, plain: bool): i32 {
  resetSums();
  let status = 0;
  let accT = f64x2.splat(0), accTLow = f64x2.splat(0);
  let accP = f64x2.splat(0), accQ = f64x2.splat(0), accD = f64x2.splat(0);
  const c = f64x2.splat(scale);
  for (let i = 0; i < n; i += BLOCK_F64) {
    const count = min(BLOCK_F64, n - i);
    const pb = p + (<usize>i << 3), qb = q + (<usize>i << 3);
    // full blocks with a constant trip count (V8 keeps that loop tight); a short last block
    // unmasked when it is whole vector pairs (n = 16 in 10% less time), masked otherwise
    if (count == BLOCK_F64) blockF64(pb, qb, BLOCK_F64, c, scaled, plain, false);
    else if ((count & 3) == 0) blockF64(pb, qb, count, c, scaled, plain, false);
    else blockF64(pb, qb, count, c, scaled, plain, true);
    if (trusted(blockT, blockP, blockQ, blockLowest, MIN_NORMAL_F64)) {
      if (plain) {
        const y = f64x2.add(accT, blockT);
        accTLow = f64x2.add(accTLow, f64x2.add(twoSumError(accT, blockT, y), blockTLow));
        accT = y;
      } else {
        accT = f64x2.add(accT, blockT);
      }
      accP = f64x2.add(accP, blockP);
      accQ = f64x2.add(accQ, blockQ);
      accD = f64x2.add(accD, blockD);
    } else {
      status |= scalarRange<f64>(p, q, i, i + count, scale, plain);
      if (status & STATUS_INVALID) return status;
    }
  }
  storeResults(accT, accP, accQ, accD, accTLow);
  return status;
}

// ---------------------------------------------------------------------------------------
// f32x4 path: the term in f32 lanes (its error stays near 1e-7 relative, see the header),
// sums in f64 lanes after a short f32 pairwise tree.

// @ts-ignore: decorator
@inline function termF32x4(p: v128, q: v128, d: v128): v128 {
  const a = f32x4.add(p, q);
  // |s| ≤ 1/2 ⇔ 2|p − q| ≤ p + q (a wider near branch than f64: f32 cannot afford the
  // cancellation of the far form close to p = q)
  const near = f32x4.le(f32x4.add(f32x4.abs(d), f32x4.abs(d)), a);
  const qq = v128.bitselect(q, v128.or(v128.and(q, mask(1)), v128.andnot(p, mask(1))), near);
  const kf = f32x4.convert_i32x4_s(i32x4.sub(i32x4.shr_u(p, 23), i32x4.shr_u(q, 23)));
  const x = f32x4.div(f32x4.sub(p, qq), f32x4.add(p, qq));
  const u = f32x4.mul(x, x);
  const u2 = f32x4.mul(u, u);
  const h = f32x4.add(
    f32x4.add(vec32(0), f32x4.mul(vec32(1), u)),
    f32x4.mul(
      f32x4.add(
        f32x4.add(vec32(2), f32x4.mul(vec32(3), u)),
        f32x4.mul(f32x4.add(vec32(4), f32x4.mul(vec32(5), u)), u2),
      ),
      u2,
    ),
  );
  const tail = f32x4.mul(f32x4.mul(x, u), h);
  const tNear = f32x4.mul(a, f32x4.add(u, f32x4.add(tail, f32x4.mul(x, tail))));
  const y = f32x4.add(x, tail);
  // k·ln2 rounded once: an ulp of |ln(p/q)| ≥ ln 3 on far lanes, under a term's error budget
  const logRatio = f32x4.add(f32x4.mul(kf, vec32(6)), f32x4.add(y, y));
  const tFar = f32x4.sub(f32x4.mul(p, logRatio), d);
  return v128.bitselect(tNear, tFar, near);
}

// f32x4 → f64x2 sum of its four lanes, pairwise
// @ts-ignore: decorator
@inline function widenSum(v: v128): v128 {
  return f64x2.add(f64x2.promote_low_f32x4(v), f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)));
}

const BLOCK_F32: i32 = 64; // a multiple of 16

// Mask of the lanes j..j+3 that lie below count (all lanes when not `masked`).
// @ts-ignore: decorator
@inline function lanesBelow(j: i32, count: i32, masked: bool): v128 {
  return masked ? i32x4.lt_s(i32x4.add(i32x4.splat(j), i32x4(0, 1, 2, 3)), i32x4.splat(count)) : i32x4.splat(-1);
}

// Lanes outside `valid` become 1 (p = q = 1 has a zero term) / 0 (for the plain sums).
// @ts-ignore: decorator
@inline function orOne(x: v128, valid: v128, masked: bool): v128 {
  return masked ? v128.bitselect(x, f32x4.splat(1), valid) : x;
}
// @ts-ignore: decorator
@inline function orZero(x: v128, valid: v128, masked: bool): v128 {
  return masked ? v128.and(x, valid) : x;
}

// Sums `count` floats of a block, four vectors per step; see blockF64 for `masked`.
// @ts-ignore: decorator
@inline function blockF32(pb: usize, qb: usize, count: i32, masked: bool): void {
  let t = f64x2.splat(0), s = f64x2.splat(0), r = f64x2.splat(0), d = f64x2.splat(0);
  let lo = f32x4.splat(Infinity);
  for (let j = 0; j < count; j += 16) {
    // Loads sit next to their use, to keep few vectors live. Terms are ≥ 0, so the short
    // f32 chain adds at most 3 ulps of relative error.
    const pj = pb + (<usize>j << 2), qj = qb + (<usize>j << 2);
    const v0 = lanesBelow(j, count, masked), v1 = lanesBelow(j + 4, count, masked);
    const v2 = lanesBelow(j + 8, count, masked), v3 = lanesBelow(j + 12, count, masked);
    let pv = orOne(v128.load(pj), v0, masked), qv = orOne(v128.load(qj), v0, masked);
    lo = f32x4.pmin(lo, f32x4.pmin(pv, qv));
    let tt = termF32x4(pv, qv, f32x4.sub(pv, qv));
    pv = orOne(v128.load(pj, 16), v1, masked);
    qv = orOne(v128.load(qj, 16), v1, masked);
    lo = f32x4.pmin(lo, f32x4.pmin(pv, qv));
    tt = f32x4.add(tt, termF32x4(pv, qv, f32x4.sub(pv, qv)));
    pv = orOne(v128.load(pj, 32), v2, masked);
    qv = orOne(v128.load(qj, 32), v2, masked);
    lo = f32x4.pmin(lo, f32x4.pmin(pv, qv));
    tt = f32x4.add(tt, termF32x4(pv, qv, f32x4.sub(pv, qv)));
    pv = orOne(v128.load(pj, 48), v3, masked);
    qv = orOne(v128.load(qj, 48), v3, masked);
    lo = f32x4.pmin(lo, f32x4.pmin(pv, qv));
    tt = f32x4.add(tt, termF32x4(pv, qv, f32x4.sub(pv, qv)));
    t = f64x2.add(t, widenSum(tt));
    // Σp, Σq, Σ(p − q) of the same four vectors, reloaded from L1: cheaper than keeping
    // them in registers (V8 has 16 and spills).
    const p0 = orZero(v128.load(pj), v0, masked), q0 = orZero(v128.load(qj), v0, masked);
    const p1 = orZero(v128.load(pj, 16), v1, masked), q1 = orZero(v128.load(qj, 16), v1, masked);
    const p2 = orZero(v128.load(pj, 32), v2, masked), q2 = orZero(v128.load(qj, 32), v2, masked);
    const p3 = orZero(v128.load(pj, 48), v3, masked), q3 = orZero(v128.load(qj, 48), v3, masked);
    s = f64x2.add(s, widenSum(f32x4.add(f32x4.add(p0, p1), f32x4.add(p2, p3))));
    r = f64x2.add(r, widenSum(f32x4.add(f32x4.add(q0, q1), f32x4.add(q2, q3))));
    d = f64x2.add(d, widenSum(f32x4.add(
      f32x4.add(f32x4.sub(p0, q0), f32x4.sub(p1, q1)),
      f32x4.add(f32x4.sub(p2, q2), f32x4.sub(p3, q3)),
    )));
  }
  blockT = t;
  blockP = s;
  blockQ = r;
  blockD = d;
  const m = f32x4.pmin(lo, v128.shuffle<f32>(lo, lo, 2, 3, 0, 1));
  blockLowest = Math.min(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1));
}

// Σ T, Σ p, Σ q, Σ (p − q) over n floats at p, q; returns status bits.
export function klF32(p: usize, q: usize, n: i32): i32 {
  resetSums();
  let status = 0;
  let accT = f64x2.splat(0), accP = f64x2.splat(0), accQ = f64x2.splat(0), accD = f64x2.splat(0);
  for (let i = 0; i < n; i += BLOCK_F32) {
    const count = min(BLOCK_F32, n - i);
    const pb = p + (<usize>i << 2), qb = q + (<usize>i << 2);
    if (count == BLOCK_F32) blockF32(pb, qb, BLOCK_F32, false);
    else blockF32(pb, qb, count, true);
    if (trusted(blockT, blockP, blockQ, blockLowest, MIN_NORMAL_F32)) {
      accT = f64x2.add(accT, blockT);
      accP = f64x2.add(accP, blockP);
      accQ = f64x2.add(accQ, blockQ);
      accD = f64x2.add(accD, blockD);
    } else {
      status |= scalarRange<f32>(p, q, i, i + count, 1, false);
      if (status & STATUS_INVALID) return status;
    }
  }
  storeResults(accT, accP, accQ, accD, f64x2.splat(0));
  return status;
}
export * from "./logits";
