// The numeric pieces every family shares, once per width: atanh(x) − x, ln(a/b) without
// forming a/b, e^x, e^x − 1, ln(r) − (r − 1), and the exact-addition helpers.
//
// ln(a/b) = k·ln2 + 2·atanh(x), x = (a − b′)/(a + b′), with b′ = b moved into a's binade
// and k the exponent difference where a and b are far apart (3|a − b| > a + b), b′ = b and
// k = 0 near: one division and one series, p/q never formed, no cancellation. Near, x is
// s = (a − b)/(a + b) itself, which the T-form terms of kl.ts use directly.

// ---------------------------------------------------------------------------------------
// Constants

// atanh(x) − x = x³·h(x²) (coefficients from scripts/atanh-poly.py).
// f64: |x| ≤ 1/3, max relative error of h 4.8e-15 (contributes < 6e-16 to a term)
// f32: |x| ≤ 1/2, max relative error of h 6.6e-8 (contributes < 1.2e-8 to a term): F32

export const LN2 = 0.6931471805599453;
export const MIN_NORMAL_F64 = 2.2250738585072014e-308;
export const MIN_NORMAL_F32: f32 = 1.1754943508222875e-38;

// e^x: Cody–Waite reduction in sixteenths of ln 2, 2^(k/16)·e^r with k = round(x·16/ln2) and
// 2^(k/16) = 2^K·2^(j/16), k = 16K + j, 2^(j/16) from a 16-entry table; ln2/16 = LN2_16_HI +
// LN2_16_LO with 21 trailing zero bits in LN2_16_HI (ln 2's top bits over 16), so k·LN2_16_HI is
// exact for |k| < 2^21; x·16/ln2 + 1.5·2^52 leaves k in the low mantissa bits.
// e^r = 1 + r + r²·P(r), |r| ≤ ln2/32, P's coefficients of r⁰..r⁵ at V_P (max relative error
// 2.2e-16, scripts/logits-poly.py); g(d) = d + e^−d − 1 = d²·H(d), |d| ≤ 1/2, H's of d⁰..d¹¹
// at V_H (max relative error 1.6e-17). expF64x2 clamps into [V_EXP_MIN, V_EXP_MAX] = [−746,
// 710] (e^x rounds to 0 below, overflows above); expTableF64x2 holds for (V_EXP_LOW, 709),
// V_EXP_LOW = −704, and e^x rounds to 0 at or below V_EXP_UNDER = −745.2.
// Vector constants live in memory: V8 rebuilds a v128.const with three instructions at every
// use inside a loop, while a load from a fixed address is one (load64_splat: each double is
// stored once, ~75 bytes less than pairs in the default entry). Indexes into F64:
export const V_HALF = 0, V_ONE = 1, V_TWO = 2, V_SQRT2 = 3, V_LN2 = 4, V_ATANH = 5;
const V_LOG2E16 = 14, V_SHIFTER = 15, V_LN2_16_HI = 16, V_LN2_16_LO = 17, V_EXP_MIN = 18, V_EXP_MAX = 19;
const V_EXP_BIAS = 20, V_P = 21, V_H = 27;
export const V_EXP_LOW = 39, V_EXP_UNDER = 40;
// (the exponent bias 1023 as an i64 at V_EXP_BIAS: only its bits matter)
const F64: usize = memory.data<f64>([
  0.5, 1, 2, 1.4142135623730951, LN2, 0.33333333333333487, 0.19999999999780063,
  0.14285714338330496, 0.11111106278964857, 0.09091130554209872, 0.07686637438179002,
  0.0675117123587855, 0.05161334635249541, 0.08435350330548605, 23.083120654223414,
  6755399441055744.0, 0.04332169877307024, 1.1926343307941173e-11, -746.0, 710.0,
  reinterpret<f64>(<i64>1023), 0.5000000000000001, 0.16666666666666669, 0.04166666666359425,
  0.008333333332991954, 0.001388906347556763, 0.00019841463826261545, 0.5, -0.16666666666666666,
  0.04166666666666706, -0.00833333333333336, 0.001388888888870455, -0.00019841269841146993,
  2.4801587616145414e-5, -2.755731943362024e-6, 2.7557076636642725e-7, -2.505194670972162e-8,
  2.0962955815976076e-9, -1.6116496514371548e-10, -704.0, -745.2,
], 8);
// 2^(j/16) for j < 16, each less j·2^48 in its bits: adding k·2^48 (k = 16·K + j) then gives
// 2^(k/16), the exponent K landing in the exponent field (scripts/logits-poly.py)
const EXP_TABLE: usize = memory.data<i64>([
  0x3ff0000000000000, 0x3fefb5586cf9890f, 0x3fef72b83c7d517b, 0x3fef387a6e756238,
  0x3fef06fe0a31b715, 0x3feedea64c123422, 0x3feebfdad5362a27, 0x3feeab07dd485429,
  0x3feea09e667f3bcd, 0x3feea11473eb0187, 0x3feeace5422aa0db, 0x3feec49182a3f090,
  0x3feee89f995ad3ad, 0x3fef199bdd85529c, 0x3fef5818dcfba487, 0x3fefa4afa2a490da,
], 16);
// h's coefficients, then ln 2, as f32 quadruples
const F32: usize = memory.data<f32>([
  0.3333333134651184, 0.3333333134651184, 0.3333333134651184, 0.3333333134651184,
  0.2000047266483307, 0.2000047266483307, 0.2000047266483307, 0.2000047266483307,
  0.14263980090618134, 0.14263980090618134, 0.14263980090618134, 0.14263980090618134,
  0.11469875276088715, 0.11469875276088715, 0.11469875276088715, 0.11469875276088715,
  0.06493489444255829, 0.06493489444255829, 0.06493489444255829, 0.06493489444255829,
  0.15751780569553375, 0.15751780569553375, 0.15751780569553375, 0.15751780569553375,
  0.6931471805599453, 0.6931471805599453, 0.6931471805599453, 0.6931471805599453,
], 16);
const MASKS: usize = memory.data<i64>([
  0x000fffffffffffff, 0x000fffffffffffff, // f64 mantissa
  0x007fffff007fffff, 0x007fffff007fffff, // f32 mantissa
], 16);

// @ts-ignore: decorator
@inline export function v64(i: i32): v128 {
  return v128.load64_splat(at64(i));
}
// @ts-ignore: decorator
@inline export function v32(i: i32): v128 {
  return v128.load(F32 + (<usize>i << 4));
}
// @ts-ignore: decorator
@inline export function mantissaMask(f32: bool): v128 {
  return v128.load(MASKS + (f32 ? 16 : 0));
}
// The two doubles at x + 8·i, or for an odd last element (i + 1 = n) that one and `fill`: a
// value neutral in the caller's sums, so that the tail runs through the same vector code.
// @ts-ignore: decorator
@inline export function twoAt(x: usize, i: i32, n: i32, fill: f64): v128 {
  const at = x + (<usize>i << 3);
  return i + 1 < n ? v128.load(at) : f64x2.replace_lane(v128.load64_zero(at), 1, fill);
}

// Stores v's two lanes at x + 8·i, or only the first for an odd last element (i + 1 = n).
// @ts-ignore: decorator
@inline export function storeTwo(x: usize, i: i32, n: i32, v: v128): void {
  if (i + 1 < n) v128.store(x + (<usize>i << 3), v);
  else store<f64>(x + (<usize>i << 3), f64x2.extract_lane(v, 0));
}

// The sum of a vector's two f64 lanes.
// @ts-ignore: decorator
@inline export function hsum(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

// a·b + c lane-wise: one relaxed_madd in the relaxed-SIMD build (asconfig.json "relaxed"),
// which the engine may fuse (one rounding) or not (two); mul then add in the SIMD build. Every
// error bound in these kernels holds for both: fusing only drops the rounding of a·b.
// @ts-ignore: decorator
@inline export function maddF64x2(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f64x2.relaxed_madd(a, b, c);
  return f64x2.add(c, f64x2.mul(a, b));
}

// Estrin's scheme pieces over coefficients in memory from address `at` on: c₀ + c₁x,
// and that plus (c₂ + c₃x)·x² (x2 = x²)
// @ts-ignore: decorator
@inline function linear(at: usize, x: v128): v128 {
  return maddF64x2(v128.load64_splat(at, 8), x, v128.load64_splat(at));
}
// @ts-ignore: decorator
@inline function cubic(at: usize, x: v128, x2: v128): v128 {
  return maddF64x2(linear(at + 16, x), x2, linear(at, x));
}
// @ts-ignore: decorator
@inline function at64(i: i32): usize {
  return F64 + (<usize>i << 3);
}

// ---------------------------------------------------------------------------------------
// atanh(x) − x and ln(a/b)

// h's coefficient i (scalar)
// @ts-ignore: decorator
@inline function c64(i: i32): f64 {
  return load<f64>(at64(V_ATANH + i));
}

// atanh(x) − x for |x| ≤ 1/3, given u = x²
// @ts-ignore: decorator
@inline export function atanhTail(x: f64, u: f64): f64 {
  const u2 = u * u, u4 = u2 * u2;
  const h = (c64(0) + c64(1) * u) + (c64(2) + c64(3) * u) * u2 +
    ((c64(4) + c64(5) * u) + (c64(6) + c64(7) * u) * u2) * u4 + c64(8) * (u4 * u4);
  return x * u * h;
}

// The same lane-wise (Estrin: short chains)
// @ts-ignore: decorator
@inline export function atanhTailF64x2(x: v128, u: v128): v128 {
  const u2 = f64x2.mul(u, u);
  const u4 = f64x2.mul(u2, u2);
  const h = maddF64x2(maddF64x2(v64(V_ATANH + 8), u4, cubic(at64(V_ATANH + 4), u, u2)), u4, cubic(at64(V_ATANH), u, u2));
  return f64x2.mul(f64x2.mul(x, u), h);
}

// f32 lanes, |x| ≤ 1/2
// @ts-ignore: decorator
@inline export function atanhTailF32x4(x: v128, u: v128): v128 {
  const u2 = f32x4.mul(u, u);
  const h = f32x4.add(
    f32x4.add(v32(0), f32x4.mul(v32(1), u)),
    f32x4.mul(f32x4.add(f32x4.add(v32(2), f32x4.mul(v32(3), u)), f32x4.mul(f32x4.add(v32(4), f32x4.mul(v32(5), u)), u2)), u2),
  );
  return f32x4.mul(f32x4.mul(x, u), h);
}

// 3|d| ≤ total lane-wise (d = a − b, total = a + b): the near branch, |s| ≤ 1/3 (adds, not
// a constant: every v128 constant costs instructions in a loop)
// @ts-ignore: decorator
@inline export function nearF64x2(d: v128, total: v128): v128 {
  const ad = f64x2.abs(d);
  return f64x2.le(f64x2.add(f64x2.add(ad, ad), ad), total);
}

// x = (a − b′)/(a + b′) for positive normal a, b (see the header): s on near lanes.
// @ts-ignore: decorator
@inline export function ratioArgF64x2(a: v128, b: v128, near: v128): v128 {
  const m = mantissaMask(false);
  const bb = v128.bitselect(b, v128.or(v128.and(b, m), v128.andnot(a, m)), near);
  return f64x2.div(f64x2.sub(a, bb), f64x2.add(a, bb));
}

// ln(a/b) = k·ln2 + 2·y from y = atanh(x) of ratioArgF64x2 (k counts on far lanes only; k·ln2
// rounded once is within an ulp of |ln(a/b)| ≥ ln 2 there). `farOnly`: the caller uses far
// lanes only, so near lanes need not zero k (one instruction less in the KL loop).
// @ts-ignore: decorator
@inline export function lnRatioFromF64x2(a: v128, b: v128, near: v128, y: v128, farOnly: bool = false): v128 {
  let k = i64x2.sub(i64x2.shr_u(a, 52), i64x2.shr_u(b, 52));
  if (!farOnly) k = v128.andnot(k, near);
  const kf = f64x2.convert_low_i32x4_s(v128.shuffle<i32>(k, k, 0, 2, 0, 2));
  return maddF64x2(kf, v64(V_LN2), f64x2.add(y, y));
}

// ln(a/b) lane-wise for positive normal a, b
// @ts-ignore: decorator
@inline export function lnRatioF64x2(a: v128, b: v128, near: v128): v128 {
  const x = ratioArgF64x2(a, b, near);
  return lnRatioFromF64x2(a, b, near, f64x2.add(x, atanhTailF64x2(x, f64x2.mul(x, x))));
}

// The mantissa m ∈ [√½, √2) of positive normal x = 2^k·m, and k as f64 lanes
// @ts-ignore: decorator
@inline export function mantissaOf(x: v128): v128 {
  const m = v128.or(v128.and(x, mantissaMask(false)), v64(V_ONE));
  return v128.bitselect(f64x2.mul(m, v64(V_HALF)), m, f64x2.gt(m, v64(V_SQRT2)));
}
// @ts-ignore: decorator
@inline export function exponentOf(x: v128): v128 {
  const big = f64x2.gt(v128.or(v128.and(x, mantissaMask(false)), v64(V_ONE)), v64(V_SQRT2));
  const e = i64x2.sub(i64x2.sub(i64x2.shr_u(x, 52), i64x2.splat(1023)), big);
  return f64x2.convert_low_i32x4_s(v128.shuffle<i32>(e, e, 0, 2, 0, 2));
}

// ln(p/q) for positive finite p, q (scalar; p/q can overflow or lose bits when subnormal,
// ln p − ln q is then the accurate route)
// The natural logarithm from the host (Math.log, loader-supplied): V8 and the other engines
// call it without leaving compiled code, and the module then needs no copy of the standard
// library's log (~400 B deflated).
// @ts-ignore: decorator
@external("Math", "log") export declare function ln(x: f64): f64;

export function logRatio(p: f64, q: f64): f64 {
  const r = p / q;
  return r == Infinity || r < MIN_NORMAL_F64 ? ln(p) - ln(q) : ln(r);
}

// ln(r) − (r − 1) for r = 1 + u > 0 (src/reference.ts log1pMinusX, the same steps). Called,
// not inlined: once per row or call, from three places. With it, log1p below: the module
// needs no copy of the standard library's log1p (~350 B deflated).
export function log1pMinusX(u: f64, r: f64): f64 {
  if (Math.abs(u) > 0.5) return ln(r) - r + 1;
  if (Math.abs(u) < 9.5367431640625e-7 /* 2^-20 */) return u * u * (u * (1.0 / 3 - u * (0.25 - u * 0.2)) - 0.5);
  const s = u / (2 + u);
  return 2 * atanhTail(s, s * s) - (2 * s * s) / (1 - s);
}

// ln(1 + u) within ~2ε·|ln(1 + u)|: near 0, u plus the series above; else the logarithm of 1 + u
// (exact for u ≤ −1/2; above 1/2 its rounding moves the result by ε/2 of a value > 0.4)
export function log1p(u: f64): f64 {
  return Math.abs(u) > 0.5 ? ln(1 + u) : u + log1pMinusX(u, 1 + u);
}

// The same lane-wise for r = Q/P of positive normal totals, d = P − Q summed apart (so that
// u = −d/P keeps its digits): near r = 1 (|u| ≤ 1/2) from s = −d/(P + Q) as above, else
// ln(Q/P) − u, one series for both.
// @ts-ignore: decorator
@inline export function log1pMinusXF64x2(P: v128, Q: v128, d: v128): v128 {
  // |u| ≤ 1/2 without waiting for the division (2|d| ≤ P)
  const ad = f64x2.abs(d), near = f64x2.le(f64x2.add(ad, ad), P);
  const u = f64x2.div(f64x2.neg(d), P);
  // far: P moved into Q's binade (ratioArgF64x2's x for ln(Q/P))
  const m = mantissaMask(false);
  const pp = v128.bitselect(P, v128.or(v128.and(P, m), v128.andnot(Q, m)), near);
  const x = f64x2.div(v128.bitselect(f64x2.neg(d), f64x2.sub(Q, pp), near), f64x2.add(Q, pp));
  const xx = f64x2.mul(x, x);
  const tail = atanhTailF64x2(x, xx);
  const nearValue = f64x2.sub(f64x2.add(tail, tail), f64x2.div(f64x2.add(xx, xx), f64x2.sub(v64(V_ONE), x)));
  const farValue = f64x2.sub(lnRatioFromF64x2(Q, P, near, f64x2.add(x, tail), true), u);
  return v128.bitselect(nearValue, farValue, near);
}

// ---------------------------------------------------------------------------------------
// e^x, e^x − 1

// The pieces both exponentials share: kf = x·16/ln2 + 1.5·2^52, whose low bits hold k; the
// table entry of j = k mod 16 (2^(j/16) less j·2^48 in its bits); e^r − 1 = r + r²·P(r) for
// r = x − k·ln2/16 (x − k·LN2_16_HI is exact; r rounds once)
// @ts-ignore: decorator
@inline function expShifted(x: v128): v128 {
  return f64x2.add(f64x2.mul(x, v64(V_LOG2E16)), v64(V_SHIFTER));
}
// @ts-ignore: decorator
@inline function expEntry(kf: v128): v128 {
  const j0 = <usize>(<i32>i64x2.extract_lane(kf, 0) & 15), j1 = <usize>(<i32>i64x2.extract_lane(kf, 1) & 15);
  return v128.load64_lane(EXP_TABLE + (j1 << 3), v128.load64_zero(EXP_TABLE + (j0 << 3)), 1);
}
// @ts-ignore: decorator
@inline function expm1Reduced(x: v128, kf: v128): v128 {
  const k = f64x2.sub(kf, v64(V_SHIFTER));
  const r = f64x2.sub(f64x2.sub(x, f64x2.mul(k, v64(V_LN2_16_HI))), f64x2.mul(k, v64(V_LN2_16_LO)));
  const r2 = f64x2.mul(r, r);
  const p = f64x2.add(cubic(at64(V_P), r, r2), f64x2.mul(linear(at64(V_P + 4), r), f64x2.mul(r2, r2)));
  return f64x2.add(r, f64x2.mul(r2, p));
}

// e^x for every x (NaN stays NaN). Max error 1.015 ulps against mpmath over 2^20 points of
// [−745, 709] (scripts/logits-exp-ulps.py; 76% correctly rounded), 0.954 ulps for subnormal
// results, which are rounded once, from 2^(j/16)·e^r.
// @ts-ignore: decorator
@inline export function expF64x2(x: v128): v128 {
  // pmax/pmin keep NaN (a comparison with NaN is false) and send −∞ to the lower clamp
  x = f64x2.pmin(f64x2.pmax(x, v64(V_EXP_MIN)), v64(V_EXP_MAX));
  const kf = expShifted(x);
  // 2^(j/16): the entry plus j·2^48 (kf's low 4 bits moved there)
  const t = i64x2.add(expEntry(kf), i64x2.shr_u(i64x2.shl(kf, 60), 12));
  const e = f64x2.add(t, f64x2.mul(t, expm1Reduced(x, kf)));
  // 2^K in two factors 2^K1·2^K2 (K ∈ [−1077, 1024], so both are normal): e·2^K1 is exact
  // and the second product rounds once, also into the subnormals or to 0 or +∞
  const K = i64x2.shr_s(i64x2.sub(kf, v64(V_SHIFTER)), 4); // the shifter's bits leave k as an integer
  const K1 = i64x2.shr_s(K, 1);
  const s1 = i64x2.shl(i64x2.add(K1, v64(V_EXP_BIAS)), 52);
  const s2 = i64x2.shl(i64x2.add(i64x2.sub(K, K1), v64(V_EXP_BIAS)), 52);
  return f64x2.mul(f64x2.mul(e, s1), s2);
}

// e^x for −704 < x < 709, elsewhere unspecified (the caller masks those lanes or takes
// expF64x2): as expF64x2 with 2^K added into the entry's exponent field (k·2^48, bits shifted
// out above), one integer addition where expF64x2 needs two multiplications and the clamp.
// Max error 1.014 ulps against mpmath (scripts/logits-exp-ulps.py, the 553,883 of its 2^20
// points that logitsStats takes this way; 75% correctly rounded). Below −704, s·(e^r − 1)
// would be subnormal and round coarsely (1.12 ulps at −707).
// @ts-ignore: decorator
@inline export function expTableF64x2(x: v128): v128 {
  const kf = expShifted(x);
  const s = i64x2.add(expEntry(kf), i64x2.shl(kf, 48));
  return f64x2.add(s, f64x2.mul(s, expm1Reduced(x, kf)));
}

// c₀ + c₁x + … + c₁₁x¹¹ with the coefficients at `at` (Estrin)
// @ts-ignore: decorator
@inline export function poly12F64x2(at: usize, x: v128): v128 {
  const x2 = f64x2.mul(x, x);
  const x4 = f64x2.mul(x2, x2);
  return f64x2.add(cubic(at, x, x2), maddF64x2(cubic(at + 32, x, x2), x4, f64x2.mul(cubic(at + 64, x, x2), f64x2.mul(x4, x4))));
}

// e^x as a call: one copy for the passes where the exponential is not the whole cost (an
// inlined copy is ~300 bytes of the module)
export function expCall(x: v128): v128 {
  return expF64x2(x);
}

// g(d) = d + e^−d − 1 for |d| ≤ 1/2, full relative accuracy
// @ts-ignore: decorator
@inline export function gSmallF64x2(d: v128): v128 {
  return f64x2.mul(f64x2.mul(d, d), poly12F64x2(at64(V_H), d));
}

// e^x − 1, full relative accuracy: x + g(−x) for |x| ≤ 1/2 (no cancellation: g ≥ 0 is at
// most x²/1.6), e^x − 1 beyond (which cancels at most 2.6×)
// @ts-ignore: decorator
@inline export function expm1F64x2(x: v128): v128 {
  const small = f64x2.le(f64x2.abs(x), v64(V_HALF));
  return v128.bitselect(f64x2.add(x, gSmallF64x2(f64x2.neg(x))), f64x2.sub(expCall(x), v64(V_ONE)), small);
}

// ---------------------------------------------------------------------------------------
// Results, row records (index.ts) and exact additions

// The status bits (index.ts). A negative, NaN or infinite value in this row: the kernel stops
// there (the rows after it are unspecified) and the wrapper finds and names the value.
export const INVALID: i32 = 1;
// Some q = 0 under p > 0: the divergence is +Infinity by definition (value holds +Infinity).
export const Q_ZERO: i32 = 2;
// A rescaled q under p > 0 became subnormal and lost bits (the sums kernels' return value).
export const LOSSY: i32 = 4;
// The exact JS path must compute this row (the value slot is unspecified).
export const REDO: i32 = 8;

// Results of the last sums call: [Σ T, Σ p, Σ q, Σ (p − q), low part of Σ T] as f64 (kl.ts),
// or a pair pass's (pair.ts).
export const RESULTS: usize = memory.data(40, 16);

// Writes row r's [value, status] at out; returns the status.
// @ts-ignore: decorator
@inline export function putRow(out: usize, r: i32, value: f64, status: i32): i32 {
  store<f64>(out + (<usize>r << 4), value);
  store<f64>(out + (<usize>r << 4), <f64>status, 8);
  return status;
}

// The rounding error of y = a + b (Neumaier's ordering: exact for any magnitudes).
// @ts-ignore: decorator
@inline export function additionError(a: f64, b: f64, y: f64): f64 {
  return Math.abs(a) >= Math.abs(b) ? a - y + b : b - y + a;
}

// Error of the rounded sum s = a + b, lane-wise (Knuth's TwoSum).
// @ts-ignore: decorator
@inline export function twoSumError(a: v128, b: v128, s: v128): v128 {
  const bb = f64x2.sub(s, a);
  return f64x2.add(f64x2.sub(a, f64x2.sub(s, bb)), f64x2.sub(b, bb));
}
