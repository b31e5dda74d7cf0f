// The exact row evaluation of every measure, in plain JS: the fallback where WebAssembly
// SIMD is missing, the path the kernels hand back the rows they cannot do to full accuracy,
// and the readable specification of the semantics.
//
// Each element pair is reduced to m = (a + b)/2, s = (a − b)/(a + b) ∈ [−1, 1] and
// L = ln(a/b), where a, b are the (normalised) probabilities. Every measure is a sum of
// functions of those three, chosen so that no term cancels: near a = b (|s| ≤ 1/3) the terms
// come from s alone through series, and s itself is exact to rounding because a − b is
// computed from double-double values (probabilities) or from the log-ratio (log inputs).
import { exactNormalizedKL, plainTerm, scaledTotal, term } from "../exact/kl.js";
import { plainCrossEntropy } from "./kl-terms.js";
import { atanhTail, dPlusExpm1, log1pMinusX, logRatio, MIN_NORMAL } from "../exact/log.js";
import { Sum, twoProductError } from "../exact/sum.js";
import type { MeasureName } from "./registry.js";
import { hasZeroUnderMass, impliedB, lnAt, logPair, logRow, logShift, type Row, rowVector } from "./rows.js";
import { renyiTerm, termOf } from "./terms.js";

/** The measures of two distributions (entropy takes one). */
export type Measure = Exclude<MeasureName, "entropy">;

/**
 * A side's probabilities as double-doubles hi + lo (exactly vᵢ/Σv to ~2^-106 when
 * normalising), plus the raw scaled value and the total for logs of extreme ratios.
 */
class Probabilities {
  hi: Float64Array;
  lo: Float64Array;
  raw: Float64Array;
  /** the scaled low parts of a double-double row (0 for others) */
  rawLo: Float64Array;
  /** ln of the total the values are divided by (0 when not normalising), unscaled */
  logTotal = 0;
  /** the row last filled (its original values decide zeros and far logarithms) */
  row: Row | null = null;
  total = 1;
  totalLo = 0;
  constructor(n: number) {
    this.hi = new Float64Array(n);
    this.lo = new Float64Array(n);
    this.raw = new Float64Array(n);
    this.rawLo = new Float64Array(n);
  }

  fill(row: Row, normalize: boolean): void {
    const { v, off, n } = row;
    const { hi, lo, raw } = this;
    this.row = row;
    this.total = 1;
    this.totalLo = 0;
    this.logTotal = 0;
    const given = row.log === null ? row.lo : undefined; // a double-double row's low parts
    if (row.log !== null || !normalize) {
      // log rows: already normalised by the log-sum-exp (or raw log-probabilities)
      const log = row.log;
      for (let i = 0; i < n; i++) raw[i] = hi[i] = log === null ? v[off + i] : Math.exp(lnAt(row, i));
      if (given !== undefined) lo.set(given.subarray(0, n));
      else lo.fill(0, 0, n);
      return;
    }
    // totals into [2^-500, 2^500] by powers of two, so no quotient or product overflows (also
    // a total beyond the double range: counts of 1e308)
    const [, s1, s2] = scaledTotal(v, off, n);
    const sum2 = new Sum();
    const rawLo = this.rawLo;
    for (let i = 0; i < n; i++) {
      sum2.add((raw[i] = v[off + i] * s1 * s2));
      sum2.add((rawLo[i] = given === undefined ? 0 : given[i] * s1 * s2));
    }
    const T = sum2.hi, TLo = sum2.lo;
    const total = T + TLo;
    for (let i = 0; i < n; i++) {
      const x = raw[i];
      const a = x / total;
      const product = a * total;
      // (x − a·T − a·TLo)/T: the part of x/(T + TLo) the rounded quotient misses
      hi[i] = a;
      lo[i] = (x - product - twoProductError(a, total, product) - a * (T - total + TLo) + rawLo[i]) / total;
    }
    this.total = total;
    this.totalLo = T - total + TLo;
    this.logTotal = Math.log(total) - Math.log(s1) - Math.log(s2);
  }
}

/** Per-element values of a pair, the input of every term function. */
export interface Pair {
  a: number;
  b: number;
  /** ln a (from the logs or the raw input: a itself may have flushed to 0) */
  la: number;
  /** the inputs are exactly 0 (a, b may also flush to 0 from tiny positive inputs) */
  zeroA: boolean;
  zeroB: boolean;
  m: number;
  s: number;
  /** ln(a/b): ±Infinity when one side is 0 */
  L: number;
  near: boolean;
  /** atanh(s) − s where near */
  tail: number;
}

/**
 * Evaluates a two-sided measure over one row pair, exactly to rounding. Returns the value in
 * nats before any square root (jsDistance and hellinger return the squared quantity:
 * the caller takes the root after reductions that need it).
 */
export class RowEvaluator {
  private pa: Probabilities;
  private pb: Probabilities;
  constructor(n: number) {
    this.pa = new Probabilities(n);
    this.pb = new Probabilities(n);
  }

  measure(measure: Measure, p: Row, q: Row, normalize: boolean, alpha: number | null = null): number {
    if (measure === "crossEntropy") {
      // unnormalised, H + KL would cancel (values above 1 make H and the plain KL negative)
      if (!normalize) return plainCrossEntropy(p, q);
      const k = this.measure("kl", p, q, normalize);
      return k === Infinity ? Infinity : this.entropy(p, normalize) + k;
    }
    // one side in the log domain: the other joins it (probabilities that flush to 0 in
    // double next to the other side's mass must still count as positive)
    if (p.log === null && q.log !== null) p = logRow(p, normalize);
    else if (q.log === null && p.log !== null) q = logRow(q, normalize);
    switch (measure) {
      case "kl":
        return this.kl(p, q, normalize);
      case "generalizedKL":
        // on two normalised sides (logits always are) it is the KL
        return sumsToOne(p, normalize) && sumsToOne(q, normalize) ? this.kl(p, q, true) : this.generalizedKL(p, q);
      case "renyi":
        return this.renyi(p, q, normalize, alpha!);
      default: {
        const sum = new Sum();
        const infinite = this.eachPair(p, q, normalize, (e) => {
          const t = termOf(measure, e);
          sum.add(t);
          return t === Infinity;
        });
        return infinite ? Infinity : Math.max(sum.total, 0);
      }
    }
  }

  /**
   * Rényi divergence 1/(α−1)·ln Σ aᵅb¹⁻ᵅ as log1p(S)/(α−1), S = Σ [aᵅb¹⁻ᵅ − αa − (1−α)b]
   * (the bracket sums to Σ aᵅb¹⁻ᵅ − 1): every bracket has the sign of α − 1 (weighted
   * AM–GM), so S never cancels, and near a = b it comes from a series in L = ln(b/a).
   */
  private renyi(p: Row, q: Row, normalize: boolean, alpha: number): number {
    const c = 1 - alpha;
    const sum = new Sum(), totalA = new Sum(), totalB = new Sum();
    // ln a + c·L, for aᵅb¹⁻ᵅ beyond the double range (α > 1); α = ∞: the largest ln(a/b)
    let maxLog = -Infinity, top = -Infinity;
    const infinite = this.eachPair(p, q, normalize, (e) => {
      totalA.add(e.a);
      totalB.add(e.b);
      if (e.zeroB) {
        if (alpha === Infinity || alpha > 1) return true;
        sum.add(-alpha * e.a);
      } else if (e.zeroA) {
        if (alpha !== Infinity) sum.add(-c * e.b);
      } else {
        const L = e.near ? -2 * (e.s + e.tail) : -e.L; // ln(b/a)
        if (alpha === Infinity) {
          top = Math.max(top, -L);
          return false;
        }
        const lt = e.la + c * L;
        maxLog = Math.max(maxLog, lt);
        sum.add(renyiTerm(e.a, e.b, L, alpha, c, lt));
      }
      return false;
    });
    if (infinite) return Infinity;
    // Σ aᵅb¹⁻ᵅ − 1 = S + α(Σa − 1) + (1−α)(Σb − 1); the last two are 0 for distributions
    // (and their rounding is not added), else from compensated totals (clipped rows)
    const distributions = sumsToOne(p, normalize) && sumsToOne(q, normalize);
    // (distributions: max a/b ≥ 1, any ln(a/b) < 0 is rounding)
    if (alpha === Infinity) return distributions ? Math.max(top, 0) : top;
    let far = false;
    if (!distributions) {
      totalA.add(-1);
      totalB.add(-1);
      const x = alpha * totalA.total, y = c * totalB.total;
      // totals far from 1 (b = 1e200: brackets near 1e200 for a Σ aᵅb¹⁻ᵅ of 1e-200): S
      // would be their cancellation; the log of the sum itself instead (below 2^10 the
      // brackets' rounding, ~2^10·ε, is no worse than the log-sum-exp's)
      far = Math.abs(x) + Math.abs(y) > 1024;
      sum.add(x);
      sum.add(y);
    }
    const S = sum.total;
    // 1 + S far from 1 (beyond the double range, or S near −1 where 1 + S has lost its
    // digits): its log directly, by log-sum-exp (Infinity for no common support, α < 1)
    if (far || maxLog > 600 || !(S > -0.5 && S < 1e300)) return this.renyiLarge(p, q, normalize, c) / (alpha - 1);
    // log1p(S)/(α − 1) with S = −α·c·H: the 1/(α − 1) cancels against S analytically
    const value = S === 0 ? 0 : (Math.log1p(S) / S) * (S / (alpha - 1));
    return distributions ? Math.max(value, 0) : value;
  }

  /** ln Σ aᵅb¹⁻ᵅ by log-sum-exp, from ln a + c·L (two passes: the largest, then the sum). */
  private renyiLarge(p: Row, q: Row, normalize: boolean, c: number): number {
    let max = -Infinity;
    const sum = new Sum();
    for (const pass of [0, 1]) {
      this.eachPair(p, q, normalize, (e) => {
        if (e.zeroA || e.zeroB) return false;
        const x = e.la + c * (e.near ? -2 * (e.s + e.tail) : -e.L);
        if (pass === 0) max = Math.max(max, x);
        else sum.add(Math.exp(x - max));
        return false;
      });
      if (max === -Infinity) return -Infinity; // no common support
    }
    return max + Math.log(sum.total);
  }

  /** −Σ a·ln a. */
  entropy(p: Row, normalize: boolean): number {
    // the values as given (log rows are normalised already): −Σ a·ln a is their cross-entropy with themselves
    if (p.log !== null || !normalize) return plainCrossEntropy(p, p);
    const n = p.n, sum = new Sum(), a = this.pa;
    a.fill(p, true);
    const T = a.total, TLo = a.totalLo;
    for (let i = 0; i < n; i++) {
      const x = a.raw[i], xLo = a.rawLo[i];
      if (x === 0) continue;
      // ln(T/x) with T held as T + TLo (and x as x + xLo): near x = T through log1p of an
      // exact difference
      const logInv = x * 2 >= T ? Math.log1p((T - x + (TLo - xLo)) / x) : logRatio(T, x) + TLo / T - xLo / x;
      sum.add((a.hi[i] + a.lo[i]) * logInv);
    }
    return sum.total;
  }

  /** KL of two rows of the same domain (measure() puts a probability row beside a log row in the log domain). */
  private kl(p: Row, q: Row, normalize: boolean): number {
    if (p.log !== null && q.log !== null) return this.logKL(p, q);
    if (p.lo !== undefined || q.lo !== undefined) return this.pairKL(p, q, normalize);
    if (normalize) {
      if (hasZeroUnderMass(p, q)) return Infinity;
      return Math.max(exactNormalizedKL(rowVector(p), rowVector(q)), 0);
    }
    return sumOfTerms(p, q, plainTerm);
  }

  /**
   * KL of double-double rows from (m, s, L): Σ T, T = a·ln(a/b) − a + b = 2m·[s² + (1 + s)·(atanh s
   * − s)] near a = b (no cancellation), a·L − 2ms elsewhere; unnormalised, plus Σ (a − b) = Σ 2ms.
   */
  private pairKL(p: Row, q: Row, normalize: boolean): number {
    const sum = new Sum();
    const infinite = this.eachPair(p, q, normalize, (e) => {
      if (e.zeroB && !e.zeroA) return true;
      sum.add(e.zeroA ? e.b : e.near ? 2 * e.m * (e.s * e.s + (1 + e.s) * e.tail) : e.a * e.L - 2 * e.m * e.s);
      return false;
    });
    if (infinite) return Infinity;
    if (normalize) return Math.max(sum.total, 0);
    // Σ (a − b) from the double-doubles themselves (2ms per element rounds by ε·|a − b|,
    // which shows on a near pair: 7e-10 of a KL of 4e-15 was measured)
    for (const [r, sign] of [[p, 1], [q, -1]] as const) {
      for (let i = 0; i < r.n; i++) {
        sum.add(sign * r.v[r.off + i]);
        if (r.lo !== undefined) sum.add(sign * r.lo[i]);
      }
    }
    return sum.total;
  }

  /** Σ a·(d + e^(−d) − 1) over d = ln a − ln b: KL when both sides sum to 1 (`generalized`: that sum). */
  private logKL(p: Row, q: Row, generalized = false): number {
    const sum = new Sum(), pd = new Sum();
    const plain = !generalized && (p.log!.raw === true || q.log!.raw === true);
    for (let i = 0; i < p.n; i++) {
      const { la, lb, d } = logPair(p, q, i);
      if (la === -Infinity) {
        if (!plain) sum.add(Math.exp(lb)); // the T-form's term at a = 0 is b
        continue;
      }
      const a = Math.exp(la);
      // d past the double range: +Infinity where q is exactly 0 (its input −∞), or under p's
      // mass (ln b overflowed at a tiny temperature: finish() makes that KL_OVERFLOW); where a
      // flushed to 0 beside an overflowed ln b, a term under 2^-1074·|d| < 2e-15, and 0
      if (d === Infinity) {
        if (a > 0 || q.v[q.off + i] === -Infinity) return Infinity;
        continue;
      }
      pd.add(a === 0 ? 0 : a * d); // a flushed to 0 beside d = −∞ (its ln, −MAX_VALUE, less ln b overflowed)
      // a·(d − 1) + b′ (0 + b where a flushed: see impliedB)
      if (!plain) sum.add(d < -1 ? (a < MIN_NORMAL ? 0 : a * (d - 1)) + impliedB(a, la, lb, d) : a * dPlusExpm1(d));
    }
    if (plain) return pd.total;
    if (generalized) return sum.total;
    // ln a − ln b carries the rounding δ of the two log-sum-exps, the same for every
    // element: Σ a·g(d) then exceeds the KL by ≈ δ²/2 (visible on KL ~ 1e-20). With
    // e = Σ a·g − Σ a·d = Σ b − Σ a as the rounded d implies them, the KL is
    // Σ a·d + ln(1 + e) = Σ a·g + (ln(1 + e) − e).
    const e = sum.total - pd.total;
    return Math.max(sum.total + log1pMinusX(e, 1 + e), 0);
  }

  private generalizedKL(p: Row, q: Row): number {
    return p.log !== null && q.log !== null ? this.logKL(p, q, true) : sumOfTerms(p, q, term);
  }

  /**
   * Calls `visit` with (m, s, L) of every element pair that is not 0 on both sides, until it
   * returns true (an infinite term); returns whether it did.
   */
  private eachPair(p: Row, q: Row, normalize: boolean, visit: (e: Pair) => boolean): boolean {
    const e: Pair = { a: 0, b: 0, la: 0, zeroA: false, zeroB: false, m: 0, s: 0, L: 0, near: false, tail: 0 };
    const logs = p.log !== null && q.log !== null;
    const shift = logs ? logShift(p, q) : 0;
    let top = -1, topDiff = 0;
    if (!logs) {
      this.pa.fill(p, normalize);
      this.pb.fill(q, normalize);
      if (normalize) [top, topDiff] = this.dominantDiff(p.n);
    }
    for (let i = 0; i < p.n; i++) {
      if (logs) {
        const { la, lb, d } = logPair(p, q, i);
        if (la === -Infinity && lb === -Infinity) continue;
        e.a = Math.exp(la);
        e.b = Math.exp(lb);
        e.la = la;
        e.zeroA = la === -Infinity;
        e.zeroB = lb === -Infinity;
        const dd = d - shift; // the log-sum-exp rounding taken out (see logShift)
        e.s = dd === Infinity ? 1 : dd === -Infinity ? -1 : Math.tanh(dd / 2);
        e.m = (e.a + e.b) / 2;
        e.L = dd;
      } else if (!this.pairAt(i, e, i === top ? topDiff : NaN)) {
        continue;
      }
      e.near = Math.abs(e.s) <= 1 / 3;
      if (e.near) e.tail = atanhTail(e.s, e.s * e.s);
      if (visit(e)) return true;
    }
    return false;
  }

  /**
   * The element above 1/2 on both normalised sides, if any, and its a − b as −Σ of the
   * others' (both rows sum to 1): its own double-doubles resolve a − b only to ~1e-16 of
   * their low parts (1 − 3e-210 against 1 − 3e-210·(1 + 5e-11): 2e-6 relative was measured).
   */
  private dominantDiff(n: number): [number, number] {
    const A = this.pa, B = this.pb;
    let top = 0;
    while (top < n && !(A.hi[top] > 0.5 && B.hi[top] > 0.5)) top++;
    if (top === n) return [-1, 0];
    const others = new Sum();
    for (let i = 0; i < n; i++) {
      if (i === top) continue;
      others.add(A.hi[i] - B.hi[i]);
      others.add(A.lo[i] - B.lo[i]);
    }
    return [top, -others.total];
  }

  /**
   * (m, s, L) of element i from the filled probabilities (a − b given as `given`, NaN: from
   * the double-doubles); false when both inputs are 0.
   */
  private pairAt(i: number, e: Pair, given: number): boolean {
    const A = this.pa, B = this.pb;
    const a = A.hi[i], b = B.hi[i];
    const x = A.row!.v[A.row!.off + i], y = B.row!.v[B.row!.off + i];
    if (x === 0 && y === 0) return false;
    const total = a + b + (A.lo[i] + B.lo[i]);
    // a − b is exact where a, b are within 2×
    const diff = given === given ? given : a - b + (A.lo[i] - B.lo[i]);
    e.a = a;
    e.b = b;
    e.la = x === 0 ? -Infinity : Math.log(x) - A.logTotal;
    e.zeroA = x === 0;
    e.zeroB = y === 0;
    e.m = total / 2;
    e.s = total === 0 ? 0 : diff / total;
    if (x === 0) e.L = -Infinity;
    else if (y === 0) e.L = Infinity;
    else if (Math.abs(e.s) <= 1 / 3 && total > 0) e.L = NaN; // not needed: near terms use s
    else e.L = logRatio(x, y) + (B.logTotal - A.logTotal); // from the inputs: a or b may have flushed to 0
    // both flushed to 0 (far below the normal range next to their totals): the terms of m
    // are 0, but the pair still counts where its ratio or a zero decides (Rényi's q = 0 under
    // p for α > 1, its ln max a/b for α = ∞, its common support for α < 1; Jeffreys' zeros)
    if (total === 0) e.s = Math.tanh(e.L / 2);
    return true;
  }
}

/** Σ f(xᵢ, yᵢ) over two probability rows' raw values, compensated. */
function sumOfTerms(p: Row, q: Row, f: (x: number, y: number) => number): number {
  const sum = new Sum();
  for (let i = 0; i < p.n; i++) sum.add(f(p.v[p.off + i], q.v[q.off + i]));
  return sum.total;
}

/** The row sums to 1: normalised, or a log row that is not raw log-probabilities. */
function sumsToOne(r: Row, normalize: boolean): boolean {
  return r.log === null ? normalize : r.log.raw !== true;
}
