// The floor: Σ p·ln(p/q) with the same exponent/mantissa reduction as assembly/index.ts,
// and nothing else (no near-p = q branch, no validity checks, no Σp, Σq, Σ(p − q), no
// zero handling). Not shipped: `npm run bench:floor` measures it beside the real kernels to
// show what the accuracy and semantics cost. Positive normal inputs only.

const F32: usize = memory.data<f32>([
  0.3333333134651184, 0.3333333134651184, 0.3333333134651184, 0.3333333134651184,
  0.2000047266483307, 0.2000047266483307, 0.2000047266483307, 0.2000047266483307,
  0.14263980090618134, 0.14263980090618134, 0.14263980090618134, 0.14263980090618134,
  0.6931471805599453, 0.6931471805599453, 0.6931471805599453, 0.6931471805599453,
  1.0, 1.0, 1.0, 1.0,
], 16);
const F64: usize = memory.data<f64>([
  0.33333333333333487, 0.33333333333333487, 0.19999999999780063, 0.19999999999780063,
  0.14285714338330496, 0.14285714338330496, 0.11111106278964857, 0.11111106278964857,
  0.09091130554209872, 0.09091130554209872, 0.07686637438179002, 0.07686637438179002,
  0.0675117123587855, 0.0675117123587855, 0.05161334635249541, 0.05161334635249541,
  0.08435350330548605, 0.08435350330548605, 0.6931471805599453, 0.6931471805599453,
], 16);
// the lowest degree that still keeps ln(p/q) within 1e-13 (what a 1e-12 divergence needs)
const F64_LOW: usize = memory.data<f64>([
  0.33333333333549087, 0.33333333333549087, 0.1999999980990146, 0.1999999980990146,
  0.1428574151703626, 0.1428574151703626, 0.11109655860158806, 0.11109655860158806,
  0.0912765172439636, 0.0912765172439636, 0.07223047417690645, 0.07223047417690645,
  0.09532894472904432, 0.09532894472904432,
], 16);
const MASKS: usize = memory.data<i64>([
  0x007fffff007fffff, 0x007fffff007fffff, 0x3f8000003f800000, 0x3f8000003f800000,
  0x000fffffffffffff, 0x000fffffffffffff, 0x3ff0000000000000, 0x3ff0000000000000,
], 16);

// @ts-ignore: decorator
@inline function c32(i: i32): v128 { return v128.load(F32 + (<usize>i << 4)); }
// @ts-ignore: decorator
@inline function c64(i: i32): v128 { return v128.load(F64 + (<usize>i << 4)); }
// @ts-ignore: decorator
@inline function c64low(i: i32): v128 { return v128.load(F64_LOW + (<usize>i << 4)); }
// @ts-ignore: decorator
@inline function m(i: i32): v128 { return v128.load(MASKS + (<usize>i << 4)); }

// p·ln(p/q), f32 lanes: ln(p/q) = k·ln2 + 2·atanh(t), t from the mantissas, degree-2 series
// (about 1e-4 accurate: cheaper than anything that could meet the package's 1e-6)
// @ts-ignore: decorator
@inline function term32(p: v128, q: v128): v128 {
  const mp = v128.or(v128.and(p, m(0)), m(1)), mq = v128.or(v128.and(q, m(0)), m(1));
  const kf = f32x4.convert_i32x4_s(i32x4.sub(i32x4.shr_u(p, 23), i32x4.shr_u(q, 23)));
  const x = f32x4.div(f32x4.sub(mp, mq), f32x4.add(mp, mq));
  const u = f32x4.mul(x, x);
  const h = f32x4.add(c32(0), f32x4.mul(u, f32x4.add(c32(1), f32x4.mul(u, c32(2)))));
  const y = f32x4.add(x, f32x4.mul(f32x4.mul(x, u), h));
  return f32x4.mul(p, f32x4.add(f32x4.mul(kf, c32(3)), f32x4.add(y, y)));
}

// the same in f64 lanes with the package's degree-8 series (full double accuracy of the
// log), or with the degree-6 one (`low`)
// @ts-ignore: decorator
@inline function term64(p: v128, q: v128, low: bool): v128 {
  const mp = v128.or(v128.and(p, m(2)), m(3)), mq = v128.or(v128.and(q, m(2)), m(3));
  const k = i64x2.sub(i64x2.shr_u(p, 52), i64x2.shr_u(q, 52));
  const kf = f64x2.convert_low_i32x4_s(v128.shuffle<i32>(k, k, 0, 2, 0, 2));
  const x = f64x2.div(f64x2.sub(mp, mq), f64x2.add(mp, mq));
  const u = f64x2.mul(x, x), u2 = f64x2.mul(u, u), u4 = f64x2.mul(u2, u2);
  const h = low
    ? f64x2.add(
      f64x2.add(f64x2.add(c64low(0), f64x2.mul(c64low(1), u)), f64x2.mul(f64x2.add(c64low(2), f64x2.mul(c64low(3), u)), u2)),
      f64x2.mul(f64x2.add(f64x2.add(c64low(4), f64x2.mul(c64low(5), u)), f64x2.mul(c64low(6), u2)), u4),
    )
    : f64x2.add(
      f64x2.add(f64x2.add(c64(0), f64x2.mul(c64(1), u)), f64x2.mul(f64x2.add(c64(2), f64x2.mul(c64(3), u)), u2)),
      f64x2.mul(f64x2.add(f64x2.add(f64x2.add(c64(4), f64x2.mul(c64(5), u)),
        f64x2.mul(f64x2.add(c64(6), f64x2.mul(c64(7), u)), u2)), f64x2.mul(c64(8), u4)), u4),
    );
  const y = f64x2.add(x, f64x2.mul(f64x2.mul(x, u), h));
  return f64x2.mul(p, f64x2.add(f64x2.mul(kf, c64(9)), f64x2.add(y, y)));
}

// @ts-ignore: decorator
@inline function widen(v: v128): v128 {
  return f64x2.add(f64x2.promote_low_f32x4(v), f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)));
}

export function strippedF32(p: usize, q: usize, n: i32): f64 {
  let a = f64x2.splat(0), b = f64x2.splat(0);
  for (let i: usize = 0; i < (<usize>n << 2); i += 32) {
    a = f64x2.add(a, widen(term32(v128.load(p + i), v128.load(q + i))));
    b = f64x2.add(b, widen(term32(v128.load(p + i, 16), v128.load(q + i, 16))));
  }
  const s = f64x2.add(a, b);
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}

// @ts-ignore: decorator
@inline function sum64(p: usize, q: usize, n: i32, low: bool): f64 {
  let a = f64x2.splat(0), b = f64x2.splat(0);
  for (let i: usize = 0; i < (<usize>n << 3); i += 32) {
    a = f64x2.add(a, term64(v128.load(p + i), v128.load(q + i), low));
    b = f64x2.add(b, term64(v128.load(p + i, 16), v128.load(q + i, 16), low));
  }
  const s = f64x2.add(a, b);
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}

export function strippedF64(p: usize, q: usize, n: i32): f64 {
  return sum64(p, q, n, false);
}

export function strippedF64Low(p: usize, q: usize, n: i32): f64 {
  return sum64(p, q, n, true);
}
