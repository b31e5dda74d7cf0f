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

// atanh(x) − x = x³·h(x²) lane-wise for |x| ≤ 1/3, given u = x² (Estrin: short chains)
// @ts-ignore: decorator
@inline function atanhTailF64x2(x: v128, u: v128): v128 {
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
  return f64x2.mul(f64x2.mul(x, u), h);
}

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
  const tail = atanhTailF64x2(x, u);
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
    // a short last block of whole 16-float steps (rows of 16, 32, 48) runs unmasked
    if (count == BLOCK_F32) blockF32(pb, qb, BLOCK_F32, false);
    else if ((count & 15) == 0) blockF32(pb, qb, count, false);
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

// ---------------------------------------------------------------------------------------
// Batches: many rows per call, row-major with `dim` elements per row; a row step of 0
// repeats one row against every row of the other side (broadcast).

const KL_ROW_BYTES: usize = 16; // [divergence or NaN, status]
const TINY_TOTAL: f64 = 1.1830521861667747e-271; // 2^-900: smaller totals make the terms subnormal

// ln(r) − (r − 1) for r = 1 + u > 0 (src/reference.ts log1pMinusX, the same steps).
function log1pMinusX(u: f64, r: f64): f64 {
  if (Math.abs(u) > 0.5) return Math.log(r) - r + 1;
  if (Math.abs(u) < 9.5367431640625e-7 /* 2^-20 */) return u * u * (u * (1.0 / 3 - u * (0.25 - u * 0.2)) - 0.5);
  const s = u / (2 + u);
  return 2 * atanhTail(s, s * s) - (2 * s * s) / (1 - s);
}

// The divergence of every row (kind 0: normalised, f64; 1: Σ p·ln(p/q), f64; 2: normalised,
// f32; 3: Σ T itself, the generalised KL, f64), composed from the row's sums as src/compose.ts does: T/P + ln(Q/P) − (Q/P − 1).
// A row whose sums cannot settle it to full accuracy (totals out of range, or the
// correction cancelling T/P more than `limit` times) gets NaN: the wrapper redoes it
// exactly. Returns the OR of the rows' status bits, stopping at the first invalid row.
export function klRows(kind: i32, p: usize, q: usize, rows: i32, dim: i32, pStep: i32, qStep: i32, out: usize): i32 {
  const shift: usize = kind == 2 ? 2 : 3;
  const limit: f64 = kind == 2 ? 4 : 16;
  let all = 0;
  for (let r = 0; r < rows; r++) {
    const pr = p + ((<usize>r * <usize>pStep) << shift), qr = q + ((<usize>r * <usize>qStep) << shift);
    // the kernels themselves, called: inlining sumsF64 here with a run-time `plain` would
    // leave that test inside the hot loop (measured 3× slower)
    const status = kind == 2 ? klF32(pr, qr, dim) : kind == 1 ? plainF64(pr, qr, dim) : klF64(pr, qr, dim);
    const t = load<f64>(RESULTS) + load<f64>(RESULTS, 32);
    const P = load<f64>(RESULTS, 8), Q = load<f64>(RESULTS, 16), d = load<f64>(RESULTS, 24);
    let value: f64 = NaN;
    const normalised = kind == 0 || kind == 2;
    // a zero (or subnormal) total first: the exact path reports it or rescales
    if (normalised && !(P > TINY_TOTAL && Q > TINY_TOTAL)) value = NaN;
    else if (status & STATUS_Q_ZERO) value = Infinity;
    else if (t + P + Q - (t + P + Q) != 0) value = NaN; // a sum overflowed
    else if (kind == 1 || kind == 3) value = t;
    else {
      const result = t / P + log1pMinusX(-d / P, Q / P);
      if (result < Infinity && !(t / P > limit * result)) value = Math.max(result, 0);
      else if (kind == 0 && P / Q > TINY_TOTAL && P / Q < 1 / TINY_TOTAL) {
        // same shapes, different totals (counts of different sample sizes): q rescaled by
        // P/Q and summed again, trusted where that rounding cannot show (as klCore does)
        const again = klScaledF64(pr, qr, dim, P / Q);
        const t2 = load<f64>(RESULTS) + load<f64>(RESULTS, 32);
        const P2 = load<f64>(RESULTS, 8), Q2 = load<f64>(RESULTS, 16), d2 = load<f64>(RESULTS, 24);
        const rescaled = t2 / P2 + log1pMinusX(-d2 / P2, Q2 / P2);
        if (!(again & STATUS_LOSSY) && rescaled >= 1e-5 && rescaled < Infinity) value = rescaled;
      }
    }
    const o = out + <usize>r * KL_ROW_BYTES;
    store<f64>(o, value);
    store<f64>(o, <f64>status, 8);
    all |= status;
    if (status & STATUS_INVALID) break;
  }
  return all;
}

// A row with a zero total, or a probability that is subnormal after normalising: the
// wrapper evaluates it on the exact path.
const STATUS_RAGGED: i32 = 8;
const PAIR_ROW_BYTES: usize = 24; // [Σ term, Σ |a − b|, status]

// Constants of the pair kernel, loaded from memory (see VEC64).
const VECPAIR: usize = memory.data<f64>([
  0.5, 0.5, 1, 1, 2, 2, 1.4142135623730951, 1.4142135623730951, LN2, LN2,
], 16);

// @ts-ignore: decorator
@inline function vpair(i: i32): v128 {
  return v128.load(VECPAIR + (<usize>i << 4));
}

// The mantissa m ∈ [√½, √2) of positive normal x = 2^k·m (ln x = k·ln2 + 2·atanh((m − 1)/(m + 1)),
// |(m − 1)/(m + 1)| ≤ 0.172).
// @ts-ignore: decorator
@inline function mantissaOf(x: v128): v128 {
  // m ∈ [1, 2) from the mantissa bits with a zero exponent, halved when above √2
  const m = v128.or(v128.and(x, mask(0)), vpair(1));
  return v128.bitselect(f64x2.mul(m, vpair(0)), m, f64x2.gt(m, vpair(3)));
}

// k of x = 2^k·m as above (biased exponent − 1023, + 1 where m was halved), as f64 lanes.
// @ts-ignore: decorator
@inline function exponentOf(x: v128): v128 {
  const m = v128.or(v128.and(x, mask(0)), vpair(1));
  const big = f64x2.gt(m, vpair(3));
  const e = i64x2.sub(i64x2.sub(i64x2.shr_u(x, 52), i64x2.splat(1023)), big);
  return f64x2.convert_low_i32x4_s(v128.shuffle<i32>(e, e, 0, 2, 0, 2));
}

// ln(a/b) lane-wise for positive normal a, b: k·ln2 + 2·atanh(x), x = (a − b′)/(a + b′) with
// b′ = b moved into a's binade where a and b are far apart (|a − b|·3 > a + b) and b′ = b
// near (x = s then, and k = 0): one division, one series, no cancellation.
// @ts-ignore: decorator
@inline function logRatioF64x2(a: v128, b: v128, near: v128): v128 {
  const bb = v128.bitselect(b, v128.or(v128.and(b, mask(0)), v128.andnot(a, mask(0))), near);
  const x = f64x2.div(f64x2.sub(a, bb), f64x2.add(a, bb));
  const y = f64x2.add(x, atanhTailF64x2(x, f64x2.mul(x, x)));
  // the exponent difference counts only where b was moved (far lanes)
  const k = v128.andnot(i64x2.sub(i64x2.shr_u(a, 52), i64x2.shr_u(b, 52)), near);
  const kf = f64x2.convert_low_i32x4_s(v128.shuffle<i32>(k, k, 0, 2, 0, 2));
  return f64x2.add(f64x2.mul(kf, vpair(4)), f64x2.add(y, y));
}

// One vector of a normalised pair: a, b ≥ 0 (a + b > 0 on live lanes; lanes with a = b = 0
// return 0). measure 0: ½|a − b|; 1: ½(√a − √b)²; 2: the Jensen–Shannon term; 3: the
// Jeffreys term (a − b)·ln(a/b), +Infinity where exactly one of a, b is 0.
// @ts-ignore: decorator
@inline function pairTerm(measure: i32, a: v128, b: v128): v128 {
  const total = f64x2.add(a, b);
  const diff = f64x2.sub(a, b);
  const live = f64x2.gt(total, f64x2.splat(0));
  if (measure == 0) return f64x2.mul(f64x2.abs(diff), vpair(0));
  if (measure == 1) {
    // ½(√a − √b)² = ½(a − b)²/(√a + √b)²: no cancellation near a = b, nor where a ≫ b
    const r = f64x2.add(f64x2.sqrt(a), f64x2.sqrt(b));
    const h = f64x2.div(diff, r); // √a − √b
    return v128.and(f64x2.mul(f64x2.mul(h, h), vpair(0)), live);
  }
  if (measure == 3) {
    // (a − b)·ln(a/b): the product never cancels
    const ad = f64x2.abs(diff);
    const logAB = logRatioF64x2(a, b, f64x2.le(f64x2.add(f64x2.add(ad, ad), ad), total));
    const oneZero = v128.or(f64x2.eq(a, f64x2.splat(0)), f64x2.eq(b, f64x2.splat(0)));
    const t = v128.bitselect(f64x2.splat(Infinity), f64x2.mul(diff, logAB), oneZero);
    return v128.and(t, live);
  }
  // Jensen–Shannon: ½·m·g(s), g(s) = (1+s)ln(1+s) + (1−s)ln(1−s) = s·ln(a/b) + ln(1 − s²).
  // Near (|s| ≤ 1/3): g/2 = s²(1−s²)/(2−s²) + s·(atanh(s) − s) − (atanh(x) − x) with
  // x = s²/(2 − s²), since ln(1 − s²) = −2·atanh(x): no cancellation at all.
  // Far: ln(a/b) through b moved into a's binade, ln(1 − s²) = ln((1 + s)(1 − s)) with
  // both factors divided out directly (one is tiny where |s| → 1).
  const ad = f64x2.abs(diff);
  const near = f64x2.le(f64x2.add(f64x2.add(ad, ad), ad), total);
  const bb = v128.bitselect(b, v128.or(v128.and(b, mask(0)), v128.andnot(a, mask(0))), near);
  const x1 = f64x2.div(f64x2.sub(a, bb), f64x2.add(a, bb)); // s on near lanes
  const u1 = f64x2.mul(x1, x1);
  const tail1 = atanhTailF64x2(x1, u1);
  // 1 ± s = 2a/(a + b), 2b/(a + b), each formed directly: where one is tiny, 2 − the other
  // would have lost it
  const inv = f64x2.div(vpair(2), total);
  const ra = f64x2.mul(a, inv), rb = f64x2.mul(b, inv);
  const w = f64x2.mul(ra, rb);
  // one division for the second series argument: x = s²/(2 − s²) near, (m − 1)/(m + 1) of
  // w's mantissa far
  const mw = mantissaOf(w);
  const x2 = f64x2.div(
    v128.bitselect(u1, f64x2.sub(mw, vpair(1)), near),
    v128.bitselect(f64x2.sub(vpair(2), u1), f64x2.add(mw, vpair(1)), near),
  );
  const tail2 = atanhTailF64x2(x2, f64x2.mul(x2, x2));
  const m = f64x2.mul(total, vpair(0));
  // s²(1 − s²)/(2 − s²) = (1 − s²)·x on near lanes
  const gNear = f64x2.sub(f64x2.add(f64x2.mul(f64x2.sub(vpair(1), u1), x2), f64x2.mul(x1, tail1)), tail2);
  const k1 = i64x2.sub(i64x2.shr_u(a, 52), i64x2.shr_u(b, 52));
  const k1f = f64x2.convert_low_i32x4_s(v128.shuffle<i32>(k1, k1, 0, 2, 0, 2));
  const y1 = f64x2.add(x1, tail1), y2 = f64x2.add(x2, tail2);
  const logAB = f64x2.add(f64x2.mul(k1f, vpair(4)), f64x2.add(y1, y1));
  const logW = f64x2.add(f64x2.mul(exponentOf(w), vpair(4)), f64x2.add(y2, y2));
  const s = v128.bitselect(f64x2.sub(vpair(1), rb), f64x2.sub(ra, vpair(1)), f64x2.le(rb, ra));
  const gFar = f64x2.mul(f64x2.add(f64x2.mul(s, logAB), logW), vpair(0));
  // one side 0: the term is m·ln 2; both 0: nothing
  const oneZero = v128.or(f64x2.eq(a, f64x2.splat(0)), f64x2.eq(b, f64x2.splat(0)));
  const t = f64x2.mul(m, v128.bitselect(gNear, gFar, near));
  return v128.and(v128.bitselect(f64x2.mul(m, vpair(4)), t, oneZero), live);
}

// Σ p, Σ q and the smallest element over n doubles, into RESULTS[0..2] (pass 1 of a pair).
// @ts-ignore: decorator
@inline function pairTotalsAt(p: usize, q: usize, n: i32): void {
  const whole = n & ~1;
  let sp = f64x2.splat(0), sq = f64x2.splat(0), lo = f64x2.splat(Infinity);
  // the smallest non-zero p and q: scaled by 1/P and 1/Q they must stay normal (pass 2's logs)
  let lp = f64x2.splat(Infinity), lq = lp;
  const inf = f64x2.splat(Infinity), zero = f64x2.splat(0);
  for (let i = 0; i < whole; i += 2) {
    const a = v128.load(p + (<usize>i << 3)), b = v128.load(q + (<usize>i << 3));
    sp = f64x2.add(sp, a);
    sq = f64x2.add(sq, b);
    lo = f64x2.pmin(lo, f64x2.pmin(a, b));
    lp = f64x2.pmin(lp, v128.bitselect(inf, a, f64x2.eq(a, zero)));
    lq = f64x2.pmin(lq, v128.bitselect(inf, b, f64x2.eq(b, zero)));
  }
  let P = f64x2.extract_lane(sp, 0) + f64x2.extract_lane(sp, 1);
  let Q = f64x2.extract_lane(sq, 0) + f64x2.extract_lane(sq, 1);
  let lowest = Math.min(f64x2.extract_lane(lo, 0), f64x2.extract_lane(lo, 1));
  let leastP = Math.min(f64x2.extract_lane(lp, 0), f64x2.extract_lane(lp, 1));
  let leastQ = Math.min(f64x2.extract_lane(lq, 0), f64x2.extract_lane(lq, 1));
  if (whole < n) {
    const a = load<f64>(p + (<usize>whole << 3)), b = load<f64>(q + (<usize>whole << 3));
    P += a;
    Q += b;
    lowest = Math.min(lowest, Math.min(a, b));
    if (a != 0) leastP = Math.min(leastP, a);
    if (b != 0) leastQ = Math.min(leastQ, b);
  }
  store<f64>(RESULTS, P);
  store<f64>(RESULTS, Q, 8);
  store<f64>(RESULTS, lowest, 16);
  store<f64>(RESULTS, leastP, 24);
  store<f64>(RESULTS, leastQ, 32);
}

export function pairTotals(p: usize, q: usize, n: i32): void {
  pairTotalsAt(p, q, n);
}

// Σ pairTerm(p·ia, q·ib), Σ |p·ia − q·ib| and the smallest non-zero scaled value over n
// doubles, into RESULTS[0..2] (pass 2 of a pair, once the totals are known).
// @ts-ignore: decorator
@inline function pairSumsAt(measure: i32, p: usize, q: usize, n: i32, ia: f64, ib: f64): void {
  const whole = n & ~1;
  const va = f64x2.splat(ia), vb = f64x2.splat(ib);
  let sum = f64x2.splat(0), tv = f64x2.splat(0);
  for (let i = 0; i < n; i += 2) {
    let rawP: v128, rawQ: v128;
    if (i < whole) {
      rawP = v128.load(p + (<usize>i << 3));
      rawQ = v128.load(q + (<usize>i << 3));
    } else {
      // the odd last element, paired with a = b = 0 (which adds nothing)
      rawP = f64x2.replace_lane(f64x2.splat(0), 0, load<f64>(p + (<usize>i << 3)));
      rawQ = f64x2.replace_lane(f64x2.splat(0), 0, load<f64>(q + (<usize>i << 3)));
    }
    const a = f64x2.mul(rawP, va), b = f64x2.mul(rawQ, vb);
    sum = f64x2.add(sum, pairTerm(measure, a, b));
    tv = f64x2.add(tv, f64x2.abs(f64x2.sub(a, b)));
  }
  store<f64>(RESULTS, f64x2.extract_lane(sum, 0) + f64x2.extract_lane(sum, 1));
  store<f64>(RESULTS, f64x2.extract_lane(tv, 0) + f64x2.extract_lane(tv, 1), 8);
}

export function pairSums(measure: i32, p: usize, q: usize, n: i32, ia: f64, ib: f64): void {
  if (measure == 0) pairSumsAt(0, p, q, n, ia, ib);
  else if (measure == 1) pairSumsAt(1, p, q, n, ia, ib);
  else if (measure == 2) pairSumsAt(2, p, q, n, ia, ib);
  else pairSumsAt(3, p, q, n, ia, ib);
}

// Per row: P = Σ p, Q = Σ q, then Σ pairTerm(p/P, q/Q) and Σ |p/P − q/Q| into out;
// returns the OR of the status bits (stops at an invalid row).
export function pairRows(measure: i32, p: usize, q: usize, rows: i32, dim: i32, pStep: i32, qStep: i32, out: usize): i32 {
  let all = 0;
  for (let r = 0; r < rows; r++) {
    const pr = p + ((<usize>r * <usize>pStep) << 3), qr = q + ((<usize>r * <usize>qStep) << 3);
    pairTotalsAt(pr, qr, dim);
    const P = load<f64>(RESULTS), Q = load<f64>(RESULTS, 8), lowest = load<f64>(RESULTS, 16);
    let status = 0;
    const o = out + <usize>r * PAIR_ROW_BYTES;
    if (!(lowest >= 0) || P - P != 0 || Q - Q != 0) status = STATUS_INVALID;
    else if (!(P >= 1e-290 && P <= 1e290 && Q >= 1e-290 && Q <= 1e290)) status = STATUS_RAGGED; // 1/P, 1/Q in range
    else if (load<f64>(RESULTS, 24) / P < MIN_NORMAL_F64 * 2 || load<f64>(RESULTS, 32) / Q < MIN_NORMAL_F64 * 2) {
      // a probability below the normal range (or flushed to 0): the logs would go wrong
      status = STATUS_RAGGED;
    } else {
      // one loop per measure, so the measure is a constant inside it
      if (measure == 0) pairSumsAt(0, pr, qr, dim, 1 / P, 1 / Q);
      else if (measure == 1) pairSumsAt(1, pr, qr, dim, 1 / P, 1 / Q);
      else if (measure == 2) pairSumsAt(2, pr, qr, dim, 1 / P, 1 / Q);
      else pairSumsAt(3, pr, qr, dim, 1 / P, 1 / Q);
      store<f64>(o, load<f64>(RESULTS));
      store<f64>(o, load<f64>(RESULTS, 8), 8);
    }
    store<f64>(o, <f64>status, 16);
    all |= status;
    if (status & STATUS_INVALID) break;
  }
  return all;
}

// The terms a·ln(a/b) of n elements, a = p·ia, b = q·ib, into out: 0 where a = 0,
// +Infinity where b = 0 < a, and NaN where a and b agree to better than 1/1024 relative
// (there the rounding of p·ia and q·ib would show in the term: the wrapper redoes those
// elements exactly). Far elements take ln(a/b) = k·ln2 + 2·atanh(x) as in termF64x2.
// @ts-ignore: decorator
@inline function klTermsAt(p: usize, q: usize, n: i32, ia: f64, ib: f64, out: usize): void {
  const va = f64x2.splat(ia), vb = f64x2.splat(ib);
  const whole = n & ~1;
  for (let i = 0; i < whole; i += 2) {
    const a = f64x2.mul(v128.load(p + (<usize>i << 3)), va);
    const b = f64x2.mul(v128.load(q + (<usize>i << 3)), vb);
    const diff = f64x2.sub(a, b), total = f64x2.add(a, b);
    const ad = f64x2.abs(diff);
    let t = f64x2.mul(a, logRatioF64x2(a, b, f64x2.le(f64x2.add(f64x2.add(ad, ad), ad), total)));
    // too close to call here (1024·|a − b| < a + b), or subnormal a or b: NaN
    const tooClose = f64x2.lt(f64x2.mul(ad, f64x2.splat(1024)), total);
    const tiny = v128.or(f64x2.lt(a, f64x2.splat(MIN_NORMAL_F64)), f64x2.lt(b, f64x2.splat(MIN_NORMAL_F64)));
    t = v128.bitselect(f64x2.splat(NaN), t, v128.or(tooClose, tiny));
    // zeros by the inputs: a tiny input that flushed to 0 stays NaN (the exact path)
    t = v128.bitselect(f64x2.splat(Infinity), t, f64x2.eq(v128.load(q + (<usize>i << 3)), f64x2.splat(0)));
    t = v128.bitselect(f64x2.splat(0), t, f64x2.eq(v128.load(p + (<usize>i << 3)), f64x2.splat(0)));
    v128.store(out + (<usize>i << 3), t);
  }
  if (whole < n) {
    const a = load<f64>(p + (<usize>whole << 3)) * ia, b = load<f64>(q + (<usize>whole << 3)) * ib;
    let t: f64 = NaN;
    if (load<f64>(p + (<usize>whole << 3)) == 0) t = 0;
    else if (load<f64>(q + (<usize>whole << 3)) == 0) t = Infinity;
    else if (Math.abs(a - b) * 1024 >= a + b && a >= MIN_NORMAL_F64 && b >= MIN_NORMAL_F64) t = a * logRatio(a, b);
    store<f64>(out + (<usize>whole << 3), t);
  }
}

export function klTermsRange(p: usize, q: usize, n: i32, ia: f64, ib: f64, out: usize): void {
  klTermsAt(p, q, n, ia, ib, out);
}

// Per row: the totals, then the terms (see klTermsAt) into out + 8·r·dim; returns the OR of
// the status bits (STATUS_INVALID stops; STATUS_RAGGED marks totals out of range, whose
// terms the wrapper computes exactly).
export function klTermsRows(p: usize, q: usize, rows: i32, dim: i32, pStep: i32, qStep: i32, out: usize): i32 {
  let all = 0;
  for (let r = 0; r < rows; r++) {
    const pr = p + ((<usize>r * <usize>pStep) << 3), qr = q + ((<usize>r * <usize>qStep) << 3);
    const o = out + ((<usize>r * <usize>dim) << 3);
    pairTotalsAt(pr, qr, dim);
    const P = load<f64>(RESULTS), Q = load<f64>(RESULTS, 8), lowest = load<f64>(RESULTS, 16);
    if (!(lowest >= 0) || P - P != 0 || Q - Q != 0) return all | STATUS_INVALID;
    if (!(P >= 1e-290 && P <= 1e290 && Q >= 1e-290 && Q <= 1e290)) {
      for (let i = 0; i < dim; i++) store<f64>(o + (<usize>i << 3), NaN);
      all |= STATUS_RAGGED;
      continue;
    }
    klTermsAt(pr, qr, dim, 1 / P, 1 / Q, o);
  }
  return all;
}

export * from "./logits";

// ---------------------------------------------------------------------------------------
// Smoothing, in place on rows of `dim` contiguous probabilities (after softmaxRows for
// logits), before the probability kernels: a = x/Σx (when `normalize`, else x), then
// mode 0 clip to [ε, 1], 1 zeros → ε, 2 a + ε. Renormalising is left to the kernels, which
// divide by the totals anyway. flags[r]: 1 for a row with a negative, NaN or infinite value
// or a zero total (zero-filled: the wrapper reports or redoes it), 0 otherwise.
export function smoothRows(x: usize, rows: i32, dim: i32, mode: i32, eps: f64, normalize: bool, flags: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = x + ((<usize>r * <usize>dim) << 3);
    let total: f64 = 0, lowest: f64 = Infinity;
    for (let i = 0; i < dim; i++) {
      const v = load<f64>(row + (<usize>i << 3));
      total += v;
      lowest = Math.min(lowest, v);
    }
    if (!(lowest >= 0) || total - total != 0 || (normalize && total == 0)) {
      memory.fill(row, 0, <usize>dim << 3);
      store<f64>(flags + (<usize>r << 3), 1);
      continue;
    }
    store<f64>(flags + (<usize>r << 3), 0);
    const scale = f64x2.splat(normalize ? 1 / total : 1), e = f64x2.splat(eps);
    const whole = dim & ~1;
    for (let i = 0; i < whole; i += 2) {
      const at = row + (<usize>i << 3);
      const a = f64x2.mul(v128.load(at), scale);
      let s: v128;
      if (mode == 0) s = f64x2.min(f64x2.max(a, e), f64x2.splat(1));
      else if (mode == 1) s = v128.bitselect(e, a, f64x2.eq(a, f64x2.splat(0)));
      else s = f64x2.add(a, e);
      v128.store(at, s);
    }
    if (whole < dim) {
      const at = row + (<usize>whole << 3);
      const a = load<f64>(at) * (normalize ? 1 / total : 1);
      store<f64>(at, mode == 0 ? Math.min(Math.max(a, eps), 1) : mode == 1 ? (a == 0 ? eps : a) : a + eps);
    }
  }
}

// ---------------------------------------------------------------------------------------
// KL between diagonal Gaussians, per row Σ ½[(μ₁ − μ₂)²/σ₂² + (r − 1) − ln r], r = σ₁²/σ₂².
// With d = σ₁² − σ₂² and t = d/(σ₁² + σ₂²): (r − 1) − ln r = d²/((σ₁² + σ₂²)·σ₂²) −
// 2·(atanh t − t) near r = 1 (|t| ≤ 1/3: no cancellation), and (r − 1) − (k·ln2 + 2·atanh x)
// elsewhere (σ₂² moved into σ₁²'s binade, as in termF64x2). Rows of means and variances at
// m1, v1, m2, v2 with their own row steps (0: one row broadcast); per row at out:
// [Σ, status] with STATUS_INVALID for a variance ≤ 0 or a value not finite and STATUS_RAGGED
// for subnormal variances (the wrapper checks or redoes those rows).
export function gaussianRows(m1: usize, v1: usize, m2: usize, v2: usize, rows: i32, dim: i32,
  s1: i32, s2: i32, s3: i32, s4: i32, out: usize): void {
  const half = f64x2.splat(0.5), zero = f64x2.splat(0), inf = f64x2.splat(Infinity);
  for (let r = 0; r < rows; r++) {
    const a = m1 + ((<usize>r * <usize>s1) << 3), va = v1 + ((<usize>r * <usize>s2) << 3);
    const b = m2 + ((<usize>r * <usize>s3) << 3), vb = v2 + ((<usize>r * <usize>s4) << 3);
    let sum = f64x2.splat(0), lowest = inf, check = f64x2.splat(0);
    for (let i = 0; i < dim; i += 2) {
      const at = <usize>i << 3;
      let x1: v128, x2: v128, y1: v128, y2: v128;
      if (i + 1 < dim) {
        x1 = v128.load(va + at); x2 = v128.load(vb + at); y1 = v128.load(a + at); y2 = v128.load(b + at);
      } else {
        // the odd last element, paired with σ² = 1, μ = 0 on both sides (a zero term)
        x1 = f64x2.replace_lane(f64x2.splat(1), 0, load<f64>(va + at));
        x2 = f64x2.replace_lane(f64x2.splat(1), 0, load<f64>(vb + at));
        y1 = f64x2.replace_lane(zero, 0, load<f64>(a + at));
        y2 = f64x2.replace_lane(zero, 0, load<f64>(b + at));
      }
      lowest = f64x2.pmin(lowest, f64x2.pmin(x1, x2));
      const dm = f64x2.sub(y1, y2);
      const d = f64x2.sub(x1, x2), s = f64x2.add(x1, x2);
      const inv2 = f64x2.div(vpair(1), x2);
      const u = f64x2.mul(d, inv2); // r − 1
      const ad = f64x2.abs(d);
      const near = f64x2.le(f64x2.add(f64x2.add(ad, ad), ad), s);
      const bb = v128.bitselect(x2, v128.or(v128.and(x2, mask(0)), v128.andnot(x1, mask(0))), near);
      const x = f64x2.div(f64x2.sub(x1, bb), f64x2.add(x1, bb)); // t on near lanes
      const tail = atanhTailF64x2(x, f64x2.mul(x, x));
      const k = v128.andnot(i64x2.sub(i64x2.shr_u(x1, 52), i64x2.shr_u(x2, 52)), near);
      const kf = f64x2.convert_low_i32x4_s(v128.shuffle<i32>(k, k, 0, 2, 0, 2));
      const y = f64x2.add(x, tail);
      const logR = f64x2.add(f64x2.mul(kf, vpair(4)), f64x2.add(y, y));
      const bracketNear = f64x2.sub(f64x2.div(f64x2.mul(d, u), s), f64x2.add(tail, tail));
      const bracket = v128.bitselect(bracketNear, f64x2.sub(u, logR), near);
      const t = f64x2.mul(f64x2.add(f64x2.mul(f64x2.mul(dm, dm), inv2), bracket), half);
      sum = f64x2.add(sum, t);
      // every input finite: their sum is (NaN or ±∞ otherwise)
      check = f64x2.add(check, f64x2.add(f64x2.add(x1, x2), f64x2.add(y1, y2)));
    }
    const o = out + (<usize>r << 4);
    const low = Math.min(f64x2.extract_lane(lowest, 0), f64x2.extract_lane(lowest, 1));
    const c = f64x2.extract_lane(check, 0) + f64x2.extract_lane(check, 1);
    let status = 0;
    if (!(low > 0) || c - c != 0) status = STATUS_INVALID;
    else if (low < MIN_NORMAL_F64) status = STATUS_RAGGED;
    store<f64>(o, f64x2.extract_lane(sum, 0) + f64x2.extract_lane(sum, 1));
    store<f64>(o, <f64>status, 8);
  }
}
export * from "./matrix";
