// Property-based tests (fast-check, fixed seed): random probability-ish vectors of lengths
// 1–200 (many not multiples of 4, so the kernels' masked tails run), on Float64Array and
// Float32Array, in four families:
//   moderate — fc.double / fc.float in [0, 1e6] (uniform over the representations, so also
//              tiny and subnormal values), a share of exact zeros;
//   wide     — m·2^e spread over 2^1080 (float32: 2^160) below each vector's maximum 2^t,
//              |t| ≤ 20: values from ~1e-325 (subnormals, underflow to 0) to ~1e6;
//   far      — vectors whose totals are far apart: maxima at 2^t with |t| ≤ 900, ~1e-271 to
//              1e271 (float32: |t| ≤ 60); sums cannot overflow;
//   near     — q = p·(1 + δ) with tiny δ and q's total moved by a power of two: the
//              cancellation paths (same shapes, different totals; KL down to ~1e-34).
// q is zero under p > 0 only in a tenth of the pairs (those give Infinity), and neither
// vector sums to zero.
//
// Properties: (a) the wasm and JS backends agree; (b) KL ≥ 0 and never NaN; (c) kl(p, p) = 0
// exactly; (d) scaling p or q by a power of two leaves the normalised result alone;
// (e) permuting p and q together changes nothing; (f) normalize:false equals a direct
// Σ p·ln(p/q) loop within a bound set by that loop's own rounding.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { init, kl, useBackend, type Backend, type KLOptions } from "../src/index.js";
import { WASM } from "./backends.js";

fc.configureGlobal({ seed: 42, numRuns: 300 });

const selected = await init();
/** The backends every property runs on (the SIMD one wherever init() selected it). */
const BACKENDS: Backend[] = selected === WASM ? [WASM, "js"] : ["js"];

type Kind = "f64" | "f32";
type Family = "moderate" | "wide" | "far" | "near";
type Vec = Float64Array | Float32Array;

interface Pair {
  p: number[];
  q: number[];
}

// ---------------------------------------------------------------------------------------
// Generators

/** Lengths 1..200, with extra weight on ones around the 4-lane / 32- and 64-element blocks. */
const LENGTH = fc.oneof(
  fc.integer({ min: 1, max: 200 }),
  fc.constantFrom(1, 2, 3, 5, 6, 7, 9, 15, 17, 31, 33, 63, 65, 67, 127, 129, 191, 193, 199),
);

function withZeros(values: fc.Arbitrary<number>): fc.Arbitrary<number> {
  return fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 7, arbitrary: values });
}

/** m·2^e for m ∈ [1, 2) */
function powerSpread(minExp: number, maxExp: number): fc.Arbitrary<number> {
  return fc
    .tuple(fc.double({ min: 1, max: 2, maxExcluded: true, noNaN: true }), fc.integer({ min: minExp, max: maxExp }))
    .map(([m, e]) => m * 2 ** e);
}

/** x·2^k for any k (2^k alone overflows beyond ±1023), rounded as the hardware would. */
function ldexp(x: number, k: number): number {
  while (k > 600) {
    x *= 2 ** 600;
    k -= 600;
  }
  while (k < -600) {
    x *= 2 ** -600;
    k += 600;
  }
  return x * 2 ** k;
}

/** Moves v by a power of two so that its largest element is in [2^t, 2^(t+1)). */
function moveTo(v: number[], t: number): number[] {
  const max = Math.max(...v);
  if (max === 0) return v;
  const k = t - Math.floor(Math.log2(max));
  return v.map((x) => ldexp(x, k));
}

const F32 = (v: number[]): number[] => v.map((x) => Math.fround(x));
const MIN_NORMAL = 2 ** -1022;

/**
 * Makes a pair valid for normalisation: no zero sum, and (unless `allowInfinity`) q = 0 only
 * under p = 0.
 */
function tidy(pair: Pair, allowInfinity: boolean, kind: Kind): Pair {
  const { p, q } = pair;
  const round = kind === "f32" ? Math.fround : (x: number) => x;
  if (!p.some((x) => x > 0)) p[0] = 1;
  if (!q.some((x) => x > 0)) q[q.length - 1] = 1;
  if (!allowInfinity) {
    for (let i = 0; i < p.length; i++) if (q[i] === 0 && p[i]! > 0) q[i] = round(p[i]!);
  }
  return { p, q };
}

/** one pair in ten may have q = 0 under p > 0 */
const ALLOW_INFINITY = fc.integer({ min: 0, max: 9 }).map((x) => x === 0);

function pairs(kind: Kind, family: Family): fc.Arbitrary<Pair> {
  return anyPairs(kind, family);
}

/** Two independent vectors of one length from `element`, each moved to a maximum 2^t. */
function independent(kind: Kind, element: fc.Arbitrary<number>, shift: fc.Arbitrary<number>): fc.Arbitrary<Pair> {
  const round = kind === "f32" ? F32 : (v: number[]) => v;
  return LENGTH.chain((n) =>
    fc.record({
      p: fc.array(element, { minLength: n, maxLength: n }),
      q: fc.array(element, { minLength: n, maxLength: n }),
      tp: shift,
      tq: shift,
      inf: ALLOW_INFINITY,
    }),
  ).map(({ p, q, tp, tq, inf }) => {
    const fixed = tidy({ p, q }, inf, kind);
    return tidy({ p: round(moveTo(fixed.p, tp)), q: round(moveTo(fixed.q, tq)) }, inf, kind);
  });
}

function anyPairs(kind: Kind, family: Family): fc.Arbitrary<Pair> {
  const f32 = kind === "f32";
  switch (family) {
    case "moderate": {
      const element = withZeros(f32 ? fc.float({ min: 0, max: 1e6, noNaN: true }) : fc.double({ min: 0, max: 1e6, noNaN: true }));
      return LENGTH.chain((n) =>
        fc.record({
          p: fc.array(element, { minLength: n, maxLength: n }),
          q: fc.array(element, { minLength: n, maxLength: n }),
          inf: ALLOW_INFINITY,
        }),
      ).map(({ p, q, inf }) => tidy({ p, q }, inf, kind));
    }
    case "wide": {
      // elements spread over ~2^1080 (f32: 2^160) below each vector's maximum 2^t, |t| ≤ 20:
      // ~1e-325..1e6, subnormals and underflow to zero included
      const element = withZeros(f32 ? powerSpread(-160, 0) : powerSpread(-1080, 0));
      return independent(kind, element, fc.integer({ min: -20, max: 20 }));
    }
    case "far": {
      // totals far apart: elements within 2^60 of each vector's maximum 2^t, t up to ±900
      // (~1e-271..1e271; f32: ±60)
      const element = withZeros(powerSpread(-60, 0));
      return independent(kind, element, f32 ? fc.integer({ min: -60, max: 60 }) : fc.integer({ min: -900, max: 900 }));
    }
    case "near": {
      // q = p·(1 + δ), |δ| up to 1e-9..1e-4 (f32: 1e-5..1e-2), q's total moved by 2^k
      const round = f32 ? F32 : (v: number[]) => v;
      const [minLog, maxLog] = f32 ? [-5, -2] : [-9, -4];
      const base = withZeros(f32 ? fc.float({ min: Math.fround(1e-3), max: 1e3, noNaN: true }) : fc.double({ min: 1e-3, max: 1e3, noNaN: true }));
      return LENGTH.chain((n) =>
        fc.record({
          p: fc.array(base, { minLength: n, maxLength: n }),
          u: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: n, maxLength: n }),
          scale: fc.integer({ min: minLog, max: maxLog }),
          k: fc.integer({ min: -20, max: 20 }),
        }),
      ).map(({ p, u, scale, k }) => {
        const q = p.map((x, i) => ldexp(x * (1 + u[i]! * 10 ** scale), k));
        return tidy({ p: round(p), q: round(q) }, false, kind);
      });
    }
  }
}

// ---------------------------------------------------------------------------------------
// Helpers

function make(kind: Kind, v: number[]): Vec {
  return kind === "f32" ? Float32Array.from(v) : Float64Array.from(v);
}

/** Runs f on every backend, returning the results in BACKENDS order. */
function onEach(f: () => number): number[] {
  return BACKENDS.map((name) => {
    useBackend(name);
    return f();
  });
}

/** |a − b| ≤ rel·max(|a|, |b|) + abs, with equal values (0, Infinity) always passing. */
function close(a: number, b: number, rel: number, abs = 0): boolean {
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b)) + abs;
}

function fail(what: string, values: Record<string, unknown>): never {
  throw new Error(`${what}: ${JSON.stringify(values, (_, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v))}`);
}

/** p·ln(p/q) the direct way (ln p − ln q where p/q overflows or is subnormal). */
function directTerm(p: number, q: number): number {
  if (p === 0) return 0;
  if (q === 0) return Infinity;
  const r = p / q;
  return p * (r === Infinity || r < 2.2250738585072014e-308 ? Math.log(p) - Math.log(q) : Math.log(r));
}

/** Σ p·ln(p/q) in a plain loop, Σ |p·ln(p/q)| and Σ p (for the error bound). */
function direct(p: ArrayLike<number>, q: ArrayLike<number>): { sum: number; abs: number; mass: number } {
  let sum = 0, abs = 0, mass = 0;
  for (let i = 0; i < p.length; i++) {
    const t = directTerm(p[i]!, q[i]!);
    sum += t;
    abs += Math.abs(t);
    mass += p[i]!;
  }
  return { sum, abs, mass };
}

const REL = { f64: 1e-13, f32: 1e-6 };

// ---------------------------------------------------------------------------------------
// Properties

const FAMILIES: Family[] = ["moderate", "wide", "far", "near"];

for (const kind of ["f64", "f32"] as Kind[]) {
  for (const family of FAMILIES) {
    describe(`${kind === "f64" ? "Float64Array" : "Float32Array"}, ${family}`, () => {
      const arb = pairs(kind, family);

      it.skipIf(BACKENDS.length < 2)("(a) the wasm and JS backends agree", () => {
        fc.assert(
          fc.property(arb, ({ p, q }) => {
            const pv = make(kind, p), qv = make(kind, q);
            // normalised: the f32 kernel's terms are float32 (1e-6), the f64 kernel's 1e-13
            const [w, j] = onEach(() => kl(pv, qv));
            if (!close(w!, j!, REL[kind])) fail("normalised", { wasm: w, js: j, p, q });
            // unnormalised: the JS path and the f64 plain kernel use compensated sums; the sum
            // may cancel, so the bound is relative to Σ|terms|; two Float32Arrays take the
            // f32 kernel where that stays within 1e-6 of the result (else the f64 one)
            const [wp, jp] = onEach(() => kl(pv, qv, { normalize: false }));
            const { abs } = direct(pv, qv);
            if (!close(wp!, jp!, REL[kind], 1e-14 * abs)) fail("unnormalised", { wasm: wp, js: jp, abs, p, q });
            // another base: the same up to the scale factor
            const [w2, j2] = onEach(() => kl(pv, qv, { base: 2 }));
            if (!close(w2!, j2!, REL[kind])) fail("base 2", { wasm: w2, js: j2, p, q });
          }),
        );
      });

      it("(b) KL ≥ 0 and never NaN", () => {
        fc.assert(
          fc.property(arb, ({ p, q }) => {
            const pv = make(kind, p), qv = make(kind, q);
            for (const options of [undefined, { base: 2 }, { base: 10 }] as Array<KLOptions | undefined>) {
              for (const r of onEach(() => kl(pv, qv, options))) {
                if (!(r >= 0)) fail("negative or NaN", { r, options, p, q });
              }
            }
            for (const r of onEach(() => kl(pv, qv, { normalize: false }))) {
              if (Number.isNaN(r)) fail("NaN (unnormalised)", { p, q });
            }
          }),
        );
      });

      it("(c) kl(p, p) === 0", () => {
        fc.assert(
          fc.property(arb, ({ p, q }) => {
            for (const v of [p, q]) {
              const a = make(kind, v), b = make(kind, v);
              for (const options of [undefined, { normalize: false }, { base: 2 }]) {
                for (const r of onEach(() => kl(a, a, options))) if (r !== 0) fail("kl(p, p)", { r, options, v });
                for (const r of onEach(() => kl(a, b, options))) if (r !== 0) fail("kl(p, copy of p)", { r, options, v });
              }
            }
          }),
        );
      });

      it.skipIf(kind === "f32")("(d) scaling p or q by a power of two leaves the normalised KL unchanged", () => {
        fc.assert(
          fc.property(
            arb,
            fc.integer({ min: -40, max: 40 }).filter((k) => k !== 0),
            fc.boolean(),
            ({ p, q }, k, scaleP) => {
              const c = 2 ** k;
              const target = scaleP ? p : q;
              const scaled = target.map((x) => x * c);
              // only exact scalings (no overflow, no bits lost in the subnormal range)
              fc.pre(scaled.every((x, i) => Number.isFinite(x) && x / c === target[i]));
              const pv = make(kind, p), qv = make(kind, q);
              const ps = make(kind, scaleP ? scaled : p), qs = make(kind, scaleP ? q : scaled);
              const before = onEach(() => kl(pv, qv));
              const after = onEach(() => kl(ps, qs));
              before.forEach((b, i) => {
                if (!close(after[i]!, b, 1e-13, 0)) fail(`scaled ${scaleP ? "p" : "q"} by 2^${k} (${BACKENDS[i]})`, { before: b, after: after[i], p, q });
              });
            },
          ),
        );
      });

      it(`(e) permuting p and q together changes nothing (${kind === "f64" ? "1e-12" : "1e-6"})`, () => {
        fc.assert(
          fc.property(
            arb.chain((pair) =>
              fc.tuple(fc.constant(pair), fc.shuffledSubarray([...pair.p.keys()], { minLength: pair.p.length, maxLength: pair.p.length })),
            ),
            ([{ p, q }, order]) => {
              const pv = make(kind, p), qv = make(kind, q);
              const pp = make(kind, order.map((i) => p[i]!)), qp = make(kind, order.map((i) => q[i]!));
              const rel = kind === "f64" ? 1e-12 : 1e-6;
              const before = onEach(() => kl(pv, qv));
              const after = onEach(() => kl(pp, qp));
              before.forEach((b, i) => {
                if (!close(after[i]!, b, rel)) fail(`permuted (${BACKENDS[i]})`, { before: b, after: after[i], order, p, q });
              });
              // unnormalised: a different summation order; bound relative to Σ|terms|
              const { abs } = direct(pv, qv);
              const plainBefore = onEach(() => kl(pv, qv, { normalize: false }));
              const plainAfter = onEach(() => kl(pp, qp, { normalize: false }));
              plainBefore.forEach((b, i) => {
                if (!close(plainAfter[i]!, b, 2 * REL[kind], 1e-14 * abs)) {
                  fail(`permuted, unnormalised (${BACKENDS[i]})`, { before: b, after: plainAfter[i], p, q });
                }
              });
            },
          ),
        );
      });

      it("(f) normalize:false equals a direct Σ p·ln(p/q) loop", () => {
        fc.assert(
          fc.property(arb, ({ p, q }) => {
            const pv = make(kind, p), qv = make(kind, q);
            const { sum, abs, mass } = direct(pv, qv);
            // The direct loop's own error: a few ulps of each |term| plus, where p/q ≈ 1, the
            // rounding of p/q (one ulp of ln, i.e. p·2^-53 per term), and n·ε of Σ|terms|
            // for the summation. The bound is 1e-12·Σ|terms| + 4·2^-53·Σp: loose, but any
            // lost or wrong term is far larger.
            // (Two Float32Arrays on the f32 kernel: plus its 1e-6 of the result.)
            const bound = 1e-12 * abs + 4 * 2 ** -53 * mass + (kind === "f32" ? 1e-6 * Math.abs(sum) : 0);
            for (const [i, r] of onEach(() => kl(pv, qv, { normalize: false })).entries()) {
              if (sum === Infinity ? r !== Infinity : !(Math.abs(r - sum) <= bound)) {
                fail(`unnormalised vs direct loop (${BACKENDS[i]})`, { r, direct: sum, bound, p, q });
              }
            }
          }),
        );
      });
    });
  }
}

describe("generators", () => {
  it("cover tails, zeros, subnormals, Infinity and tiny divergences", () => {
    // a guard against generators that silently stop producing the interesting cases
    const sample = (kind: Kind, family: Family) => fc.sample(pairs(kind, family), { numRuns: 300, seed: 42 });
    const all = [...sample("f64", "moderate"), ...sample("f64", "wide"), ...sample("f64", "near")];
    expect(all.some(({ p }) => p.length % 4 !== 0)).toBe(true);
    expect(all.some(({ p }) => p.length > 128)).toBe(true);
    expect(all.some(({ p }) => p.includes(0))).toBe(true);
    expect(all.some(({ p, q }) => p.some((x, i) => x > 0 && q[i] === 0))).toBe(true);
    const wide = sample("f64", "wide");
    expect(wide.some(({ p, q }) => p.concat(q).some((x) => x > 0 && x < MIN_NORMAL))).toBe(true);
    // a dynamic range of 1e300 within one vector
    expect(wide.some(({ p }) => Math.max(...p) / Math.min(...p.filter((x) => x > 0)) > 1e300)).toBe(true);
    const far = sample("f64", "far");
    expect(far.some(({ p }) => p.some((x) => x > 1e250))).toBe(true);
    expect(far.some(({ q }) => q.some((x) => x > 0 && x < 1e-250))).toBe(true);
    expect(far.some(({ p, q }) => Math.max(...p) / Math.max(...q) > 1e200)).toBe(true);
    const near = sample("f64", "near").map(({ p, q }) => kl(p, q));
    expect(near.some((r) => r > 0 && r < 1e-10)).toBe(true);
    expect(sample("f32", "wide").every(({ p, q }) => p.concat(q).every((x) => Math.fround(x) === x && Number.isFinite(x)))).toBe(true);
  });
});
