// Regression tests for the findings of issue 9, through the public API only, on both backends
// (wasm-simd where init() selected it). Expected values come from mpmath:
// test/fixtures/regressions.json, made by test/fixtures/generate_regressions.py (the inputs of
// every value are in that script, and repeated here next to each use).
//
// Bounds: |got - e| <= 1e-12 |e| + 1e-300 for doubles (REL), Infinity exactly, NaN never;
// errors by class, code and a regex on the message.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { thrown } from "./thrown.js";
import * as KL from "../src/index.js";
import { EXPECTED, WASM, type Backend } from "./backends.js";

type KLModule = typeof import("../src/index.js");
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFn = (...args: any[]) => any;

const api = KL as unknown as Record<string, AnyFn>;
const { init, useBackend, KLRangeError, KLTypeError } = KL;
const { kl, entropy, crossEntropy, jsDivergence, jsDistance, jeffreys, psi, generalizedKL, hellinger, totalVariation, klTerms, gaussianKL, pairwise, topK, score } =
  api;

const selected = await init();
const BACKENDS: Backend[] = [WASM, "js"];
const REL = 1e-12;

const V = (JSON.parse(readFileSync(new URL("./fixtures/regressions.json", import.meta.url), "utf8")) as { values: Record<string, unknown> }).values;
function ev(key: string): number {
  const v = V[key];
  if (v === undefined) throw new Error(`regressions.json has no ${key}`);
  return v === "Infinity" ? Infinity : (v as number);
}
function evs(key: string): number[] {
  const v = V[key] as Array<number | "Infinity"> | undefined;
  if (v === undefined) throw new Error(`regressions.json has no ${key}`);
  return v.map((x) => (x === "Infinity" ? Infinity : x));
}

function close(got: unknown, e: number, what: string, bound = REL): void {
  expect(typeof got, `${what}: ${String(got)}`).toBe("number");
  const g = got as number;
  expect(Number.isNaN(g), `${what}: NaN (expected ${e})`).toBe(false);
  if (e === Infinity) {
    expect(g, what).toBe(Infinity);
    return;
  }
  expect(Math.abs(g - e), `${what}: got ${g}, expected ${e}`).toBeLessThanOrEqual(bound * Math.abs(e) + 1e-300);
}
function closeAll(got: unknown, e: number[], what: string, bound = REL): void {
  expect(got, what).toBeInstanceOf(Float64Array);
  const g = got as Float64Array;
  expect(g.length, what).toBe(e.length);
  e.forEach((x, i) => close(g[i], x, `${what}[${i}]`, bound));
}

function expectError(f: () => unknown, cls: "range" | "type", code: string, message: RegExp[], what = ""): void {
  const e = thrown(f) as { code?: unknown; message?: unknown; name?: unknown } | undefined;
  expect(e, `${what}: did not throw (returned ${String(safe(f))})`).toBeDefined();
  const ok = cls === "range" ? e instanceof KLRangeError && e instanceof RangeError : e instanceof KLTypeError && e instanceof TypeError;
  expect(ok, `${what}: ${String(e!.name)} ${String(e!.code)}: ${String(e!.message)} is not a KL${cls === "range" ? "Range" : "Type"}Error`).toBe(true);
  expect(e!.code, `${what}: ${String(e!.message)}`).toBe(code);
  for (const re of message) expect(String(e!.message), what).toMatch(re);
}
function safe(f: () => unknown): unknown {
  try {
    return f();
  } catch {
    return "(threw)";
  }
}

function forBackends(title: string, body: (b: Backend) => void): void {
  describe(title, () => {
    for (const b of BACKENDS) {
      describe.skipIf(b === WASM && selected !== WASM)(b, () => {
        body(b);
      });
    }
  });
}

// ---------------------------------------------------------------------------------------
// 1. logits / log-probabilities at ±710

forBackends("1. softmax of logits ±710 (e^710 overflows a double)", (b) => {
  it("hellinger, totalVariation = 1; jeffreys, psi = 1420; kl = 710; jsDivergence = ln 2", () => {
    useBackend(b);
    const o = { input: "logits" };
    // softmax([710, 0]) = [1/(1+e^-710), e^-710/(1+e^-710)]: the values are 1, 1, 1420, 1420 to 1e-300
    close(hellinger([710, 0], [0, 710], o), ev("logits710/hellinger"), "hellinger");
    close(totalVariation([710, 0], [0, 710], o), ev("logits710/totalVariation"), "totalVariation");
    close(jeffreys([710, 0], [0, 710], o), ev("logits710/jeffreys"), "jeffreys");
    close(psi([710, 0], [0, 710], o), ev("logits710/psi"), "psi");
    close(kl([710, 0], [0, 710], o), ev("logits710/kl"), "kl");
    close(jsDivergence([710, 0], [0, 710], o), ev("logits710/jsDivergence"), "jsDivergence");
    close(hellinger(new Float64Array([710, 0]), new Float64Array([0, 710]), o), ev("logits710/hellinger"), "hellinger Float64Array");
    close(jeffreys(new Float32Array([710, 0]), new Float32Array([0, 710]), o), ev("logits710/jeffreys"), "jeffreys Float32Array", 1e-6);
    close(score("hellinger", [710, 0], [0, 710], o), ev("logits710/hellinger"), "score hellinger");
  });

  it("psi([0, -710], [-710, 0], log-probabilities) = 1420, hellinger = 1", () => {
    useBackend(b);
    const o = { input: "log-probabilities" };
    close(psi([0, -710], [-710, 0], o), ev("logprob710/psi"), "psi");
    close(hellinger([0, -710], [-710, 0], o), ev("logprob710/hellinger"), "hellinger");
  });

  it("in a batch (dim 2, rows [710,0] | [0,710] | [1,2] against [0,710] broadcast)", () => {
    useBackend(b);
    const P = new Float64Array([710, 0, 0, 710, 1, 2]);
    const Q = new Float64Array([0, 710]);
    const o = { input: "logits", dim: 2 };
    closeAll(hellinger(P, Q, o), evs("logits710/batch/hellinger"), "hellinger");
    closeAll(totalVariation(P, Q, o), evs("logits710/batch/totalVariation"), "totalVariation");
    closeAll(jeffreys(P, Q, o), evs("logits710/batch/jeffreys"), "jeffreys");
    closeAll(psi(P, Q, o), evs("logits710/batch/psi"), "psi");
    const sum = evs("logits710/batch/hellinger").reduce((s, x) => s + x, 0);
    close(hellinger(P, Q, { ...o, reduction: "sum" }), sum, "hellinger sum", 1e-12);
    closeAll(pairwise("hellinger", P, Q, { input: "logits", dim: 2 }), evs("logits710/batch/hellinger"), "pairwise hellinger");
  });
});

// ---------------------------------------------------------------------------------------
// 2. re-entrancy: inputs that call the library while being read

const P = [0.1, 0.2, 0.3, 0.4];
const Q = [0.25, 0.25, 0.25, 0.25];
const Q2 = [0.4, 0.3, 0.2, 0.1];
const OTHER_P = Float64Array.from({ length: 64 }, (_, i) => 1 + (i % 5));
const OTHER_Q = Float64Array.from({ length: 64 }, (_, i) => 1 + ((i * 3) % 7));

let nested = 0;
function disturb(): void {
  nested++;
  // other data, through the same backend: reuses whatever scratch memory the outer call holds
  kl(OTHER_P, OTHER_Q);
  jsDivergence(OTHER_Q, OTHER_P);
  entropy(OTHER_P);
}
function proxied(values: number[]): number[] {
  return new Proxy(values.slice(), {
    get(target, prop, receiver) {
      if (typeof prop === "string" && /^\d+$/.test(prop)) disturb();
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
}
function getters(values: number[]): number[] {
  const a = new Array<number>(values.length).fill(0);
  values.forEach((v, i) =>
    Object.defineProperty(a, i, {
      get() {
        disturb();
        return v;
      },
      enumerable: true,
    }),
  );
  return a;
}

forBackends("2. re-entrancy: element reads that call the library", (b) => {
  for (const [label, wrap] of [["Proxy", proxied], ["getter-defined indices", getters]] as Array<[string, (v: number[]) => number[]]>) {
    it(`${label}: kl, score("jsDivergence"), entropy, klTerms give the outer data's values`, () => {
      useBackend(b);
      nested = 0;
      close(kl(wrap(P), wrap(Q)), ev("reentrant/kl"), "kl");
      close(kl(wrap(P), Q), ev("reentrant/kl"), "kl (p wrapped)");
      close(score("jsDivergence", wrap(P), wrap(Q), {}), ev("reentrant/jsDivergence"), "score jsDivergence");
      close(jsDivergence(P, wrap(Q)), ev("reentrant/jsDivergence"), "jsDivergence (q wrapped)");
      close(entropy(wrap(P)), ev("reentrant/entropy"), "entropy");
      closeAll(klTerms(wrap(P), wrap(Q)), evs("reentrant/klTerms"), "klTerms");
      expect(nested, "the element reads did call the library").toBeGreaterThan(0);
    });

    it(`${label}: batches with dim, pairwise and topK give the outer data's values`, () => {
      useBackend(b);
      nested = 0;
      closeAll(kl(wrap([...P, ...Q2]), wrap(Q), { dim: 4 }), evs("reentrant/batch"), "kl dim 4");
      const e = evs("reentrant/batch");
      close(kl(wrap([...P, ...Q2]), wrap(Q), { dim: 4, reduction: "mean" }), (e[0] + e[1]) / 2, "kl dim 4 mean");
      closeAll(pairwise("kl", wrap([...P, ...Q2]), wrap([...Q, ...Q2]), { dim: 4 }), evs("reentrant/pairwise"), "pairwise kl");
      const t = topK("kl", wrap(P), wrap([...Q, ...Q2, ...P]), { dim: 4, k: 2 }) as { indices: Int32Array; scores: Float64Array };
      expect(Array.from(t.indices)).toEqual([2, 0]);
      closeAll(t.scores, evs("reentrant/topK/scores"), "topK scores");
      expect(nested).toBeGreaterThan(0);
    });
  }
});

// ---------------------------------------------------------------------------------------
// 3. weights near the double range

forBackends("3. reduction weights near the double range", (b) => {
  it("mean with weights [1e308, 1e308] is the mean of the rows (not 0, not NaN)", () => {
    useBackend(b);
    // rows [1,1] | [1,1] against [1,2] broadcast: both d = kl([.5,.5], [1/3,2/3])
    close(kl([1, 1, 1, 1], [1, 2], { dim: 2, reduction: "mean", weights: [1e308, 1e308] }), ev("weights/mean"), "mean");
    close(kl(new Float64Array([1, 1, 1, 1]), new Float64Array([1, 2]), { dim: 2, reduction: "mean", weights: new Float64Array([1e308, 1e308]) }), ev("weights/mean"), "mean Float64Array");
  });

  it("sum with weights [1e308, 1e308] is 2e308·d when that is finite (1.18e307)", () => {
    useBackend(b);
    close(kl([1, 1, 1, 1], [1, 2], { dim: 2, reduction: "sum", weights: [1e308, 1e308] }), ev("weights/sum12"), "sum");
  });

  it("a weighted sum beyond the double range throws KL_OVERFLOW; its mean is right", () => {
    useBackend(b);
    // d = kl([.5,.5], [1/1.001, 0.001/1.001]) = 2.76…; 2e308·d > DBL_MAX
    expectError(() => kl([1, 1, 1, 1], [1, 1e-3], { dim: 2, reduction: "sum", weights: [1e308, 1e308] }), "range", "KL_OVERFLOW", [], "sum");
    close(kl([1, 1, 1, 1], [1, 1e-3], { dim: 2, reduction: "mean", weights: [1e308, 1e308] }), ev("weights/sum/overflow-row"), "mean");
  });

  it("weights scaled by their largest: all 0 is still KL_ZERO_SUM for the mean, 0 for the sum; tiny weights still weigh", () => {
    useBackend(b);
    expectError(() => kl([1, 1, 1, 1], [1, 2], { dim: 2, reduction: "mean", weights: [0, 0] }), "range", "KL_ZERO_SUM", [/weights are all 0/], "mean");
    expect(kl([1, 1, 1, 1], [1, 2], { dim: 2, reduction: "sum", weights: [0, 0] })).toBe(0);
    // both rows d = ev("weights/mean"): a mean over subnormal weights is still d
    close(kl([1, 1, 1, 1], [1, 2], { dim: 2, reduction: "mean", weights: [5e-324, 1e-320] }), ev("weights/mean"), "subnormal weights");
  });
});

// ---------------------------------------------------------------------------------------
// 4. temperatures whose inverse overflows: one-hot softmax

forBackends("4. temperature below 1/DBL_MAX (1/T = Infinity)", (b) => {
  for (const T of [1e-309, 5e-324]) {
    it(`T = ${T}: softmax is one-hot at the max (ties share), never NaN`, () => {
      useBackend(b);
      const o = { input: "logits", temperature: T };
      // softmax(z/T) is positive everywhere for every T > 0, so these KLs are finite but
      // ≈ (3 − 1)/T and 1/T: beyond the double range, a typed error, never NaN or 0
      expectError(() => kl([1, 2, 3], [3, 2, 1], o), "range", "KL_OVERFLOW", [/double range/], "kl 123|321");
      expectError(() => kl([3, 3, 1], [3, 1, 3], o), "range", "KL_OVERFLOW", [/double range/], "kl ties");
      expectError(() => kl([1, 2, 3, 3, 2, 1], [1, 2, 3.5], { ...o, dim: 3 }), "range", "KL_OVERFLOW", [/double range/], "kl dim 3");
      close(kl([1, 2, 3], [1, 2, 3.5], o), ev("tinyT/kl/123-1235"), "kl 123|1 2 3.5");
      close(entropy([1, 2, 3], o), ev("tinyT/entropy/123"), "entropy 123");
      close(entropy([3, 3, 1], o), ev("tinyT/entropy/331"), "entropy 331 (tie)");
      close(jsDistance([1, 2, 3], [3, 2, 1], o), ev("tinyT/jsDistance/123-321"), "jsDistance");
      close(jsDistance([1, 2, 3], [3, 2, 1], { ...o, base: 2 }), ev("tinyT/jsDistance/123-321/base2"), "jsDistance base 2");
      close(jsDistance([1, 2, 3], [1, 2, 3.5], o), ev("tinyT/jsDistance/123-1235"), "jsDistance equal one-hots");
      close(hellinger([1, 2, 3], [3, 2, 1], o), ev("tinyT/hellinger/123-321"), "hellinger");
      close(hellinger([1, 2, 3], [1, 2, 3.5], o), ev("tinyT/hellinger/123-1235"), "hellinger equal one-hots");
      close(hellinger([3, 3, 1], [3, 1, 3], o), ev("tinyT/hellinger/331-313"), "hellinger ties");
      close(kl(new Float32Array([1, 2, 3]), new Float32Array([1, 2, 3.5]), o), ev("tinyT/kl/123-1235"), "kl Float32Array");
      closeAll(kl([1, 2, 3, 1, 2, 3], [1, 2, 3.5], { ...o, dim: 3 }), [ev("tinyT/kl/123-1235"), ev("tinyT/kl/123-1235")], "kl dim 3");
    });
  }
});

// ---------------------------------------------------------------------------------------
// 5. base in (0, 1]

forBackends("5. base in (0, 1] is rejected", (b) => {
  for (const base of [0.5, 1, 1e-300]) {
    it(`base ${base}: KLRangeError KL_BAD_OPTION naming options.base`, () => {
      useBackend(b);
      expectError(() => kl(P, Q, { base }), "range", "KL_BAD_OPTION", [/options\.base/], "kl");
      expectError(() => jsDistance(P, Q, { base }), "range", "KL_BAD_OPTION", [/options\.base/], "jsDistance");
      expectError(() => entropy(P, { base }), "range", "KL_BAD_OPTION", [/options\.base/], "entropy");
      expectError(() => kl(P, Q, { base, dim: 4 }), "range", "KL_BAD_OPTION", [/options\.base/], "kl dim");
    });
  }
  it("base 1.0000001 and 2 are fine", () => {
    useBackend(b);
    close(kl(P, Q, { base: 1.0000001 }), ev("base/kl/1.0000001"), "base 1.0000001");
    close(kl(P, Q, { base: 2 }), ev("base/kl/2"), "base 2");
  });
});

// ---------------------------------------------------------------------------------------
// 6. unknown keys inside input and smoothing

forBackends("6. unknown keys inside options.input and options.smoothing", (b) => {
  it("{ input: { P: 'logits' } } names options.input.P", () => {
    useBackend(b);
    expectError(() => kl(P, Q, { input: { P: "logits" } }), "range", "KL_BAD_OPTION", [/options\.input\.P\b/], "kl");
    expectError(() => kl(P, Q, { input: { p: "logits", Q: "logits" } }), "range", "KL_BAD_OPTION", [/options\.input\.Q\b/], "kl (p, Q)");
    expectError(() => entropy(P, { input: { P: "logits" } }), "range", "KL_BAD_OPTION", [/options\.input\.P\b/], "entropy");
  });
  it("{ smoothing: { mode, epsilon, eps } } names options.smoothing.eps", () => {
    useBackend(b);
    expectError(() => kl(P, Q, { smoothing: { mode: "clip", epsilon: 1e-3, eps: 1 } }), "range", "KL_BAD_OPTION", [/options\.smoothing\.eps\b/], "kl");
    expectError(() => hellinger(P, Q, { smoothing: { mode: "additive", epsilon: 1e-3, eps: 1 } }), "range", "KL_BAD_OPTION", [/options\.smoothing\.eps\b/], "hellinger");
  });
});

// ---------------------------------------------------------------------------------------
// 7. one overflow rule: +Infinity only for q = 0 under p's mass; finite beyond DBL_MAX throws

forBackends("7. results beyond the double range throw KL_OVERFLOW", (b) => {
  it("[1e308, 1e308] vs [1e-10, 1e-10], unnormalised: kl, generalizedKL, jeffreys, crossEntropy", () => {
    useBackend(b);
    // true values ~1.5e311 (kl), 4.6e309 (crossEntropy): finite, not representable
    const p = [1e308, 1e308];
    const q = [1e-10, 1e-10];
    expectError(() => kl(p, q, { normalize: false }), "range", "KL_OVERFLOW", [], "kl");
    expectError(() => kl(new Float64Array(p), new Float64Array(q), { normalize: false }), "range", "KL_OVERFLOW", [], "kl Float64Array");
    expectError(() => generalizedKL(p, q), "range", "KL_OVERFLOW", [], "generalizedKL");
    expectError(() => jeffreys(p, q, { normalize: false }), "range", "KL_OVERFLOW", [], "jeffreys");
    expectError(() => crossEntropy(p, q, { normalize: false }), "range", "KL_OVERFLOW", [], "crossEntropy");
    expectError(() => score("generalizedKL", p, q, {}), "range", "KL_OVERFLOW", [], "score generalizedKL");
    expectError(() => kl([...p, ...p], q, { normalize: false, dim: 2 }), "range", "KL_OVERFLOW", [], "kl dim 2");
  });
  it("q = 0 under p's mass is still +Infinity, unnormalised", () => {
    useBackend(b);
    close(kl([1e308, 1e308], [0, 1e-10], { normalize: false }), Infinity, "kl");
    close(generalizedKL([1e308, 1e308], [1e-10, 0]), Infinity, "generalizedKL");
  });
  for (const [name, p, q] of [
    ["1786-0", [1786, 0], [0, 0]],
    ["1786-1786", [1786, 1786], [0, 0]],
    ["800-m5", [800, -5], [0, 3]],
    ["1786-0/vs-1786", [1786, 0], [0, 1786]],
  ] as Array<[string, number[], number[]]>) {
    it(`generalizedKL(${JSON.stringify(p)}, ${JSON.stringify(q)}, log-probabilities, additive 1e-3) is the finite mpmath value`, () => {
      useBackend(b);
      const o = { input: "log-probabilities", smoothing: { mode: "additive", epsilon: 1e-3 } };
      close(generalizedKL(p, q, o), ev(`overflow/generalizedKL-logprob-additive/${name}`), "generalizedKL");
      close(generalizedKL(new Float64Array(p), new Float64Array(q), o), ev(`overflow/generalizedKL-logprob-additive/${name}`), "generalizedKL Float64Array");
    });
  }
});

// ---------------------------------------------------------------------------------------
// 8. documented ranges hold exactly

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

forBackends("8. documented ranges hold exactly on near-disjoint pairs", (b) => {
  it("jsDistance([1, 1e-300], [1e-300, 1], base 2) <= 1; jsDivergence <= ln 2 (base 2: <= 1)", () => {
    useBackend(b);
    const p = [1, 1e-300];
    const q = [1e-300, 1];
    expect(jsDistance(p, q, { base: 2 })).toBeLessThanOrEqual(1);
    expect(jsDistance(p, q)).toBeLessThanOrEqual(Math.sqrt(Math.LN2));
    expect(jsDivergence(p, q)).toBeLessThanOrEqual(Math.LN2);
    expect(jsDivergence(p, q, { base: 2 })).toBeLessThanOrEqual(1);
    expect(hellinger(p, q)).toBeLessThanOrEqual(1);
    expect(totalVariation(p, q)).toBeLessThanOrEqual(1);
    expect(jsDistance([1, 0], [0, 1], { base: 2 })).toBe(1);
  });

  it("seeded loop: 300 near-disjoint pairs, Float64Array and Float32Array", () => {
    useBackend(b);
    const rnd = lcg(9);
    const problems: string[] = [];
    for (let t = 0; t < 300; t++) {
      const n = 2 + Math.floor(rnd() * 9);
      const f32 = t % 2 === 1;
      const tiny = f32 ? [1e-45, 1e-40, 1e-30, 1e-20] : [1e-300, 5e-324, 1e-200, 1e-20];
      const p = new (f32 ? Float32Array : Float64Array)(n);
      const q = new (f32 ? Float32Array : Float64Array)(n);
      for (let i = 0; i < n; i++) {
        const big = 0.1 + rnd() * 10;
        const small = tiny[Math.floor(rnd() * tiny.length)] * (rnd() < 0.2 ? 0 : 1);
        // p's mass where q is tiny and the other way round
        if ((i + t) % 2 === 0) {
          p[i] = big;
          q[i] = small;
        } else {
          p[i] = small;
          q[i] = big;
        }
      }
      const where = `pair ${t} (${f32 ? "Float32Array" : "Float64Array"}) p=[${Array.from(p).join(", ")}] q=[${Array.from(q).join(", ")}]`;
      const chk = (name: string, v: unknown, lo: number, hi: number) => {
        if (typeof v !== "number" || Number.isNaN(v) || !(v >= lo && v <= hi)) problems.push(`${name} = ${String(v)} not in [${lo}, ${hi}]: ${where}`);
      };
      chk("jsDistance base 2", jsDistance(p, q, { base: 2 }), 0, 1);
      chk("jsDistance", jsDistance(p, q), 0, Math.sqrt(Math.LN2));
      chk("jsDivergence", jsDivergence(p, q), 0, Math.LN2);
      chk("jsDivergence base 2", jsDivergence(p, q, { base: 2 }), 0, 1);
      chk("hellinger", hellinger(p, q), 0, 1);
      chk("totalVariation", totalVariation(p, q), 0, 1);
      for (const name of ["kl", "jeffreys", "psi", "generalizedKL", "crossEntropy"]) chk(name, api[name](p, q), 0, Infinity);
      chk("entropy", entropy(p), 0, Math.log(n) * (1 + 1e-14));
    }
    expect(problems.slice(0, 10)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------
// 9. klTerms with one log-probability side is linear

forBackends("9. klTerms with one log-probability side is not O(n²)", (b) => {
  // p_i = -i/1024 (log-probabilities), q_i = (i mod 3) + 1: generate_regressions.py
  const make = (n: number) => {
    const p = Float64Array.from({ length: n }, (_, i) => -i / 1024);
    const q = Float64Array.from({ length: n }, (_, i) => (i % 3) + 1);
    return { p, q };
  };
  // today's quadratic path takes minutes at n = 131072: a slow n = 16384 fails both tests at once
  let quick = true;
  it("n = 16384 within 0.5 s (a quick guard, so that O(n²) fails fast)", () => {
    useBackend(b);
    const { p, q } = make(16384);
    const t0 = performance.now();
    klTerms(p, q, { input: { p: "log-probabilities" } });
    const ms = performance.now() - t0;
    quick = ms < 500;
    expect(ms).toBeLessThan(500);
  });
  it("n = 131072 within 3 s, and its terms match mpmath", () => {
    useBackend(b);
    expect(quick, "n = 16384 took over 0.5 s: n = 131072 not run (it would take minutes)").toBe(true);
    const { p, q } = make(131072);
    const t0 = performance.now();
    const t = klTerms(p, q, { input: { p: "log-probabilities" } }) as Float64Array;
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(3000);
    expect(t).toBeInstanceOf(Float64Array);
    expect(t.length).toBe(131072);
    const idx = V["klTerms131072/indices"] as number[];
    const terms = evs("klTerms131072/terms");
    const a = evs("klTerms131072/a");
    // a term a ln(a/b) is compared with bound * (|e| + a), as in test/scores.test.ts
    idx.forEach((i, j) => {
      const err = Math.abs(t[i] - terms[j]);
      expect(err, `term ${i}: got ${t[i]}, expected ${terms[j]}`).toBeLessThanOrEqual(REL * (Math.abs(terms[j]) + a[j]) + 1e-300);
    });
  }, 120_000);
});

// ---------------------------------------------------------------------------------------
// 10. entropy, crossEntropy and kl keep nothing after a call

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIST = new URL("../dist/index.js", import.meta.url);

function newestMtime(dir: string): number {
  let m = 0;
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    const s = statSync(`${dir}/${f}`);
    if (s.isFile()) m = Math.max(m, s.mtimeMs);
  }
  return m;
}

describe("10. entropy, crossEntropy, kl keep no memory after a call (node --expose-gc on dist/)", () => {
  beforeAll(() => {
    const stale = !existsSync(DIST) || statSync(DIST).mtimeMs < Math.max(newestMtime(`${ROOT}/src`), newestMtime(`${ROOT}/assembly`));
    if (stale) {
      const r = spawnSync("npm", ["run", "build"], { cwd: ROOT, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}\n${r.stderr}`);
    }
  }, 300_000);

  const script = (backend: Backend, call: string) => `
    const K = await import(${JSON.stringify(DIST.href)});
    const got = await K.init();
    if (${JSON.stringify(backend)} === ${JSON.stringify(WASM)} && got !== ${JSON.stringify(WASM)}) { console.log(JSON.stringify({ skip: true })); process.exit(0); }
    K.useBackend(${JSON.stringify(backend)});
    const n = 2e6;
    const p = new Float64Array(n), q = new Float64Array(n);
    for (let i = 0; i < n; i++) { p[i] = 1 + (i % 7); q[i] = 1 + (i % 5); }
    // a small call first: the module's fixed state exists before the baseline
    { const p = new Float64Array([1, 2]), q = new Float64Array([2, 1]); ${call}; }
    const use = () => { const m = process.memoryUsage(); return m.arrayBuffers + m.heapUsed; };
    gc(); gc();
    const before = use();
    const r = (() => { ${call.replace(/^/, "return ")}; })();
    gc(); gc();
    await new Promise((res) => setTimeout(res, 10));
    gc(); gc();
    const after = use();
    console.log(JSON.stringify({ grew: after - before, result: r }));
  `;

  for (const backend of BACKENDS) {
    for (const [name, call] of [
      ["entropy", "K.entropy(p)"],
      ["crossEntropy", "K.crossEntropy(p, q)"],
      ["kl", "K.kl(p, q)"],
    ] as Array<[string, string]>) {
      it.skipIf(backend === WASM && selected !== WASM)(`${name} on 2e6 elements, ${backend}: < 2 MB retained`, () => {
        const r = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script(backend, call)], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
        expect(r.status, r.stderr).toBe(0);
        const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { grew: number; result: number; skip?: boolean };
        if (out.skip) return;
        expect(Number.isFinite(out.result)).toBe(true);
        expect(out.grew, `retained ${(out.grew / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(2 * 2 ** 20);
      }, 120_000);
    }
  }
});

// ---------------------------------------------------------------------------------------
// 11. long rows of logits: the one-pass direct form was taken where ln Sa − ln Sb had
// cancelled (near rows, q's mass outside p's: KL ~ 1e-7 next to ln Sa ~ 10), ~1e-8 relative

forBackends("11. kl of long near rows of logits where q has mass outside p's", (b) => {
  it("n = 5000 (longer than a chunk), T = 1 and 0.5: within 1e-12 of mpmath", () => {
    useBackend(b);
    // generate_regressions.py: the same rows
    const n = 5000;
    const a = Float64Array.from({ length: n }, (_, i) => (i % 10 === 0 ? -Infinity : (i % 7) - 3));
    const q = Float64Array.from({ length: n }, (_, i) => (i % 10 === 0 ? -12 : (i % 7) - 3 + ((i % 5) - 2) * 2 ** -30));
    close(kl(a, q, { input: "logits" }), ev("logitsLongNear/kl"), "T = 1");
    close(kl(a, q, { input: "logits", temperature: 0.5 }), ev("logitsLongNear/kl-T0.5"), "T = 0.5");
  });
});

// ---------------------------------------------------------------------------------------
// 13. a row whose total is past the double range

forBackends("13. q = [1e308, 1e308, 1] (its total overflows a double) against p = [1, 2, 3]", (b) => {
  it("every measure normalises it exactly (was KL_OVERFLOW on js, an untyped internal error on wasm)", () => {
    useBackend(b);
    // generate_regressions.py: the same rows
    const p = [1, 2, 3], q = [1e308, 1e308, 1];
    for (const f of ["kl", "jeffreys", "hellinger", "totalVariation", "jsDivergence"]) {
      close(api[f](p, q), ev(`hugeTotal/${f}`), f);
      close(api[f](Float64Array.from(p), Float64Array.from(q)), ev(`hugeTotal/${f}`), `${f} Float64Array`);
      closeAll(api[f]([...p, ...p], q, { dim: 3 }), [ev(`hugeTotal/${f}`), ev(`hugeTotal/${f}`)], `${f} batch`);
      closeAll(pairwise(f, p, [...q, ...q], { dim: 3 }), [ev(`hugeTotal/${f}`), ev(`hugeTotal/${f}`)], `pairwise ${f}`);
    }
    close(KL.renyi(p, q, { alpha: 0.5 }), ev("hugeTotal/renyi0.5"), "renyi 0.5");
    close(hellinger(q, p), ev("hugeTotal/hellinger/reverse"), "hellinger q, p");
    // an infinite element is still an error, not an overflowing total
    expectError(() => hellinger([1, Infinity], [1, 1]), "range", "KL_INFINITE", [/p\[1\]/, /Infinity/], "infinite element");
  });
});

// ---------------------------------------------------------------------------------------
// 14. normalize: false

forBackends("14. normalize: false: crossEntropy summed directly, kl where Σp, Σq overflow", (b) => {
  it("crossEntropy([0.526…], [1]) is exactly 0 (was 5.6e-17 from H + KL); kl of 1e308s finite", () => {
    useBackend(b);
    // generate_regressions.py: the same values
    const o = { normalize: false };
    const x = 0.5262060196776395;
    close(crossEntropy([x], [1], o), ev("plain/crossEntropy/q1"), "crossEntropy q = 1");
    closeAll(crossEntropy([x, x], [1], { ...o, dim: 1 }), [0, 0].map(() => ev("plain/crossEntropy/q1")), "batch");
    close(crossEntropy([x, 3], [1, 0.5], o), ev("plain/crossEntropy/2"), "crossEntropy 2");
    close(crossEntropy([0.5, -1], [1, -2], { ...o, input: "log-probabilities" }), ev("plain/crossEntropy/logprob"), "log-probabilities");
    close(kl([1e308, 1e308, 1], [9.99e307, 9.99e307, 1], o), ev("plain/kl/huge"), "kl huge");
    close(kl(Float64Array.from([1e308, 1e308, 1]), Float64Array.from([9.99e307, 9.99e307, 1]), o), ev("plain/kl/huge"), "kl huge Float64Array");
  });
});

// ---------------------------------------------------------------------------------------
// 15. a logit far below its row's max over q = −∞

forBackends("15. p = [0, …, 0, 1e4] against q with −∞ at 7 (p there flushes to 0 as a double)", (b) => {
  it("kl is +Infinity (was ln(n − 1) on the SIMD path), rows of 16, 33 and 5000 (streamed)", () => {
    useBackend(b);
    // generate_regressions.py: the same rows
    for (const n of [16, 33, 5000]) {
      const A = new Float64Array(n), Bz = new Float64Array(n);
      A[n - 1] = 1e4;
      Bz[7] = -Infinity;
      close(kl(A, Bz, { input: "log-probabilities" }), ev(`logitsFlushed/${n}/q0`), `n ${n}`);
      close(kl(A, Bz, { input: "logits", temperature: 2 }), ev(`logitsFlushed/${n}/q0/T2`), `n ${n} logits T = 2`);
      close(kl(A, new Float64Array(n), { input: "log-probabilities" }), ev(`logitsFlushed/${n}/finite`), `n ${n} finite`);
      closeAll(kl([...A, ...A], Bz, { input: "log-probabilities", dim: n }), [0, 0].map(() => ev(`logitsFlushed/${n}/q0`)), `n ${n} batch`);
    }
  });
});

// ---------------------------------------------------------------------------------------
// 16. smoothing in the kernels' scratch

forBackends("16. smoothing: clip's unnormalised sum of near rows, a subnormal total", (b) => {
  it("kl with clip of rows 1e-6 apart (was 5.0e-10 off); additive over a total of 1e-323 (was an internal error)", () => {
    useBackend(b);
    // generate_regressions.py: the same rows
    const clip = { smoothing: { mode: "clip", epsilon: 1e-6 } };
    close(kl([0.854, 0.169, 0.148], [0.856549, 0.169769, 0.147828], clip), ev("smoothing/clip/kl-near"), "clip");
    closeAll(kl([0.854, 0.169, 0.148], [0.856549, 0.169769, 0.147828], { ...clip, dim: 3 }), [ev("smoothing/clip/kl-near")], "clip batch");
    const additive = { smoothing: { mode: "additive", epsilon: 1e-12 } };
    close(kl([1e-300, 3e-310], [5e-324, 5e-324], additive), ev("smoothing/additive/subnormal-total"), "additive");
    closeAll(pairwise("kl", [1e-300, 3e-310], [5e-324, 5e-324], { ...additive, dim: 2 }), [ev("smoothing/additive/subnormal-total")], "additive pairwise");
  });
});

// ---------------------------------------------------------------------------------------
// 17. smoothing of near-identical rows

forBackends("17. smoothing of rows 1e-7 apart: the smoothed values as double-doubles", (b) => {
  it("kl, hellinger, jsDivergence with clip, additive, replace-zeros (kl was 6e-10 off, 1e-2 with clip)", () => {
    useBackend(b);
    // generate_regressions.py: the same rows
    const pairs = [
      [[0.9601271002174996, 0.16585644239491049, 0.16648447729129467], [0.9601269212991276, 0.16585639245376543, 0.16648453990925868]],
      [[0, 0.29110066930859035, 0.6744654121991172, 0.7292980029702049, 0.16322860891768431], [0, 0.29110058227602154, 0.674465091781053, 0.7292978064043174, 0.16322854006839982]],
    ];
    pairs.forEach(([p, q], k) => {
      for (const mode of ["clip", "additive", "replace-zeros"]) {
        for (const f of ["kl", "hellinger", "jsDivergence"]) {
          const o = { smoothing: { mode, epsilon: 1e-6 } };
          close(api[f](p, q, o), ev(`smoothNear/${k}/${mode}/${f}`), `${k} ${mode} ${f}`);
          closeAll(api[f]([...p, ...p], q, { ...o, dim: p.length }), [0, 0].map(() => ev(`smoothNear/${k}/${mode}/${f}`)), `${k} ${mode} ${f} batch`);
        }
      }
    });
  });
});

// ---------------------------------------------------------------------------------------
// 18. replace-zeros: zeros of the input only

forBackends("18. replace-zeros leaves a positive value whose probability flushes to 0", (b) => {
  it("q = [1e300, 5.27e-159, 1] has no zero to replace (the SIMD path once replaced its second value)", () => {
    useBackend(b);
    // generate_regressions.py: the same rows
    const o = { smoothing: { mode: "replace-zeros", epsilon: 0.1 } };
    for (const f of ["totalVariation", "jsDivergence", "kl"]) {
      close(api[f]([1, 1, 1], [1e300, 5.27e-159, 1], o), ev(`replaceZeros/flushed/${f}`), f);
      closeAll(api[f]([1, 1, 1, 1, 1, 1], [1e300, 5.27e-159, 1], { ...o, dim: 3 }), [0, 0].map(() => ev(`replaceZeros/flushed/${f}`)), `${f} batch`);
    }
  });
});

// ---------------------------------------------------------------------------------------
// 12. elements whose probabilities both flush to 0 next to their rows' totals still count

forBackends("12. an element of 1e-30 beside 1e300 (a = p/P flushes to 0) over q = 0 or q = 1e-60", (b) => {
  it("jeffreys, psi = Infinity over q = 0 (the element was once skipped); finite over q = 1e-60", () => {
    useBackend(b);
    // generate_regressions.py: the same rows
    const p = [1e300, 1e-30, 1];
    for (const [name, q] of [["q0", [1e300, 0, 1]], ["q", [1e300, 1e-60, 1]]] as const) {
      for (const f of ["jeffreys", "totalVariation", "jsDivergence", "kl"]) {
        close(api[f](p, q), ev(`flushed/${name}/${f}`), `${f} ${name}`);
        close(api[f](Float64Array.from(p), Float64Array.from(q)), ev(`flushed/${name}/${f}`), `${f} ${name} Float64Array`);
      }
      close(psi(p, q), ev(`flushed/${name}/jeffreys`), `psi ${name}`);
      const batch = jeffreys([...p, ...q], [...q, ...q], { dim: 3 }) as Float64Array;
      close(batch[0], ev(`flushed/${name}/jeffreys`), `jeffreys ${name} batch row 0`);
    }
  });
});

// ---------------------------------------------------------------------------------------
// unclear errors

forBackends("unclear errors become clear", (b) => {
  it("entropy(p, q): KLTypeError KL_BAD_OPTION saying entropy takes one distribution", () => {
    useBackend(b);
    expectError(() => entropy(P, Q), "type", "KL_BAD_OPTION", [/one distribution/], "entropy(number[], number[])");
    expectError(() => entropy(new Float64Array(P), new Float64Array(Q)), "type", "KL_BAD_OPTION", [/one distribution/], "entropy(Float64Array, Float64Array)");
    expectError(() => entropy(new Float32Array(P), new Float32Array(Q)), "type", "KL_BAD_OPTION", [/one distribution/], "entropy(Float32Array, Float32Array)");
  });

  it("a detached buffer: KLTypeError KL_DETACHED naming p (or q)", () => {
    useBackend(b);
    const detached = () => {
      const buf = new ArrayBuffer(16);
      const v = new Float64Array(buf);
      structuredClone(buf, { transfer: [buf] });
      return v;
    };
    const p = detached();
    expect(p.length).toBe(0);
    expectError(() => kl(p, [0.5, 0.5]), "type", "KL_DETACHED", [/detached/, /\bp\b/], "kl p");
    expectError(() => kl([0.5, 0.5], detached()), "type", "KL_DETACHED", [/detached/, /\bq\b/], "kl q");
    expectError(() => entropy(detached()), "type", "KL_DETACHED", [/detached/, /\bp\b/], "entropy");
    expectError(() => jsDivergence(detached(), new Float64Array([0.5, 0.5])), "type", "KL_DETACHED", [/detached/, /\bp\b/], "jsDivergence");
  });
});

// 21. kl(p, q, { normalize: false }) of two typed arrays takes the short path of kl(p, q)
forBackends("21. normalize: false of two typed arrays (the short path) and what must leave it", (b) => {
  // generate_regressions.py short_rows(): the same rows
  const p = Array.from({ length: 16 }, (_, i) => 1 + (i % 5) / 4);
  const rows: Record<string, number[]> = {
    far: p.map((_, i) => 2 - (i % 3) / 4),
    near: p.map((x, i) => x * (1 + ((i % 4) - 1.5) * 2 ** -20)),
  };
  it("values against mpmath, doubles and floats; a sum that cancels 2e7× (the T sums cannot settle it)", () => {
    useBackend(b);
    for (const [name, q] of Object.entries(rows)) {
      close(kl(Float64Array.from(p), Float64Array.from(q), { normalize: false }), ev(`short/${name}/f64`), `${name} f64`);
      close(kl(Float32Array.from(p), Float32Array.from(q), { normalize: false }), ev(`short/${name}/f32`), `${name} f32`, 1e-6);
    }
  });
  it("q = 0 under p > 0 is +Infinity; a bad element, a length mismatch and other options as on the full path", () => {
    useBackend(b);
    const q = Float64Array.from(rows.far!);
    q[3] = 0;
    expect(kl(Float64Array.from(p), q, { normalize: false })).toBe(Infinity);
    q[3] = NaN;
    expectError(() => kl(Float64Array.from(p), q, { normalize: false }), "range", "KL_NAN", [/q\[3\]/], "NaN");
    expectError(() => kl(Float64Array.from(p), q.subarray(1), { normalize: false }), "range", "KL_LENGTH_MISMATCH", [/16 and 15/], "lengths");
    const far = Float64Array.from(rows.far!);
    close(kl(Float64Array.from(p), far, { normalize: false, base: 2 }), ev("short/far/f64") / Math.LN2, "base 2");
    expectError(() => kl(Float64Array.from(p), far, { normalize: false, bse: 2 } as never), "range", "KL_BAD_OPTION", [/bse/], "unknown key");
    // a Proxy (reactive options objects are) and an inherited key read as on the full path
    close(kl(Float64Array.from(p), far, new Proxy({ normalize: false }, {})), ev("short/far/f64"), "Proxy");
    close(kl(Float64Array.from(p), far, Object.create({ normalize: false }) as never), ev("short/far/f64"), "inherited normalize");
  });
});

describe("init() with a bad source", () => {
  async function fresh(): Promise<KLModule> {
    vi.resetModules();
    return await import("../src/index.js");
  }
  async function rejection(p: Promise<unknown>): Promise<unknown> {
    try {
      await p;
    } catch (error) {
      return error;
    }
    throw new Error("did not reject");
  }

  it("init(42) rejects with KLTypeError KL_BAD_MODULE", async () => {
    const m = await fresh();
    const e = (await rejection(m.init(42 as never))) as { code?: unknown; message?: unknown };
    expect(e, String(e?.message)).toBeInstanceOf(m.KLTypeError);
    expect(e.code, String(e.message)).toBe("KL_BAD_MODULE");
    expect(await m.init()).toBe(EXPECTED);
  });

  it.skipIf(EXPECTED !== WASM)("init(the empty module) rejects with KLTypeError KL_BAD_MODULE: not kl-simd's kernel", async () => {
    const m = await fresh();
    const empty = new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    const e = (await rejection(m.init(empty))) as { code?: unknown; message?: unknown };
    expect(e, String(e?.message)).toBeInstanceOf(m.KLTypeError);
    expect(e.code, String(e.message)).toBe("KL_BAD_MODULE");
    expect(String(e.message)).toMatch(/not kl-simd's kernel/);
    expect(String(e.message)).not.toMatch(/is not a function/);
    expect(await m.init()).toBe(WASM);
  });

  // adversarial round three: the engine's own rejections reached the caller untyped, and null
  // loaded the built-in module as if no source had been given
  it.skipIf(EXPECTED !== WASM).each([
    ["bytes that are not a module", () => new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 255, 255])],
    ["a path fetch cannot read", () => "./no-such-kernel.wasm"],
    ["a file: URL", () => new URL("file:///no-such-kernel.wasm")],
    ["null", () => null],
  ])("init(%s) rejects with KLTypeError KL_BAD_MODULE", async (_, source) => {
    const m = await fresh();
    const e = (await rejection(m.init(source() as never))) as { code?: unknown; message?: unknown };
    expect(e, String(e?.message)).toBeInstanceOf(m.KLTypeError);
    expect(e.code, String(e.message)).toBe("KL_BAD_MODULE");
    expect(String(e.message)).toMatch(/^init\(\)/);
    expect(await m.init()).toBe(WASM);
  });

  it("a plain init() resolves the normal backend while another caller's init(42) is pending", async () => {
    const m = await fresh();
    const bad = m.init(42 as never).catch((e: unknown) => e);
    const good = m.init();
    expect(await good).toBe(EXPECTED);
    const e = (await bad) as { code?: unknown; message?: unknown };
    expect(e, String(e?.message)).toBeInstanceOf(m.KLTypeError);
    expect(e.code).toBe("KL_BAD_MODULE");
    expect(m.backend()).toBe(EXPECTED);
  });
});

// ---------------------------------------------------------------------------------------
// gaussianKL with scalar arguments

forBackends("gaussianKL: numbers broadcast to every element", (b) => {
  const M = [0.5, -1, 2, 0];
  const Vv = [1, 0.5, 2, 3];
  it("gaussianKL(m, v, 0, 1) = sum of KL(N(m_i, v_i) || N(0, 1))", () => {
    useBackend(b);
    close(gaussianKL(M, Vv, 0, 1), ev("gaussian/m-v-0-1"), "number[]");
    close(gaussianKL(new Float64Array(M), new Float64Array(Vv), 0, 1), ev("gaussian/m-v-0-1"), "Float64Array");
    close(gaussianKL(M, Vv, [0, 0, 0, 0], [1, 1, 1, 1]), ev("gaussian/m-v-0-1"), "vectors (the same)");
    close(gaussianKL(0, 1, M, Vv), ev("gaussian/0-1-m-v"), "0, 1, m, v");
    close(gaussianKL(M, 2, [0.25, 0.5, 1, -1], Vv), ev("gaussian/m-2-m-v"), "m, 2, m2, v");
  });
  it("gaussianKL(m, v, 0, 1, { dim: 4 }) per row", () => {
    useBackend(b);
    const M8 = [0.5, -1, 2, 0, 1, 1.5, -0.5, 0.25];
    const V8 = [1, 0.5, 2, 3, 0.25, 4, 1.5, 0.75];
    closeAll(gaussianKL(M8, V8, 0, 1, { dim: 4 }), evs("gaussian/dim4/m-v-0-1"), "dim 4");
    const e = evs("gaussian/dim4/m-v-0-1");
    close(gaussianKL(M8, V8, 0, 1, { dim: 4, reduction: "sum" }), e[0] + e[1], "dim 4 sum", 1e-14);
  });
  it("a scalar variance <= 0 is KL_BAD_VARIANCE naming the argument", () => {
    useBackend(b);
    expectError(() => gaussianKL(M, Vv, 0, 0), "range", "KL_BAD_VARIANCE", [/var2/], "var2 0");
    expectError(() => gaussianKL(M, -1, 0, 1), "range", "KL_BAD_VARIANCE", [/var1/], "var1 -1");
  });
});

// 19. zeros in every block: the scalar path's sums over a whole chunk, compensated
// (generate_regressions.py: the same generator, test/api.test.ts's)
function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
forBackends("19. zeros in every block of a 10,000-element pair: the scalar path's sums compensated", (b) => {
  it("kl, normalize: false and generalizedKL within 1e-14 (were 5.7e-14 and 1.4e-13 off)", () => {
    useBackend(b);
    const draw = mulberry(10000);
    const p = Array.from({ length: 10000 }, () => (draw() < 0.1 ? 0 : draw()));
    const q = p.map((x) => (x === 0 ? 0 : 0.1 + draw()));
    p.forEach((_, i) => (p[i] = i % 3 === 0 ? 0 : p[i]!));
    q.forEach((_, i) => (q[i] = i % 9 === 0 ? 0 : q[i]!));
    for (const t of [(v: number[]) => v, (v: number[]) => Float64Array.from(v)]) {
      close(kl(t(p), t(q)), ev("zeroBlocks/kl"), "kl", 1e-14);
      close(kl(t(p), t(q), { normalize: false }), ev("zeroBlocks/plain"), "normalize: false", 1e-14);
      close(generalizedKL(t(p), t(q)), ev("zeroBlocks/generalizedKL"), "generalizedKL", 1e-14);
    }
  });
});

// 20. the f64 kernel's lean blocks, certified by their error bound or redone in the T form
forBackends("20. lean blocks then near-identical ones; a KL of 2e-3 that the bound decides block by block", (b) => {
  it("kl, normalize: false (cancelling 1100× in 'moderate') and generalizedKL, single and as rows", () => {
    useBackend(b);
    // generate_regressions.py certified_rows(): the same rows
    const p = Array.from({ length: 3000 }, (_, i) => 1 + (i % 7) / 8);
    const rows: Record<string, number[]> = {
      mixed: p.map((x, i) => (i < 512 ? 1 + ((5 * i) % 11) / 16 : x * (1 + ((i % 5) - 2) * 2 ** -30))),
      moderate: p.map((x, i) => x * (1 + (((37 * i) % 21) - 10) / 100)),
    };
    for (const [name, q] of Object.entries(rows)) {
      for (const [f, o, key] of [[kl, {}, "kl"], [kl, { normalize: false }, "plain"], [generalizedKL, {}, "generalizedKL"]] as const) {
        close(f(Float64Array.from(p), Float64Array.from(q), o), ev(`lean/${name}/${key}`), `${name} ${key}`);
        // two rows of 1500 (within a chunk: the kernel's klRows) must agree with their own halves' values
        closeAll(f([...p, ...p], [...q, ...q], { ...o, dim: 3000 }), [ev(`lean/${name}/${key}`), ev(`lean/${name}/${key}`)], `${name} ${key} rows`);
      }
    }
  });
});

// 21. adversarial findings of the issue 10 sessions (generate_regressions.py section 21)
forBackends("21. topK where p/P underflows beside q = 0; renyi of far totals, unnormalised rows and small orders; a Proxy", (b) => {
  it("topK is +Infinity-free: a candidate with q = 0 under p = 1e-300 (p/P = 0 in doubles) is not the nearest", () => {
    useBackend(b);
    const cases: [string, number[], number[], (j: number) => number[]][] = [
      ["big", [1e300, 1e-300, 3e300], [1, 0, 2], (j) => [1, 1, 2 + j]],
      ["subnormal", [4e4, 1e-320, 6e4], [0.4, 0, 0.6], (j) => [0.4, 0.01 * j, 0.6]],
    ];
    for (const [name, p, first, row] of cases) {
      const C = [...first];
      for (let j = 1; j < 40; j++) C.push(...row(j));
      for (const measure of ["kl", "crossEntropy"]) {
        const got = topK(measure, p, C, { dim: 3, k: 2 }) as { indices: Int32Array; scores: Float64Array };
        expect(Array.from(got.indices), `${name} ${measure}`).toEqual(V[`underflowTopK/${name}/${measure}/indices`]);
        closeAll(got.scores, evs(`underflowTopK/${name}/${measure}/scores`), `${name} ${measure} scores`);
        expect(pairwise(measure, p, C, { dim: 3 })[0], `${name} ${measure} pairwise`).toBe(Infinity);
      }
    }
  });
  it("renyi (α = 2) of totals 1e16, 1e5 and 3e11 apart: within 1e-12, single, as rows and pairwise", () => {
    useBackend(b);
    const cases: [string, number[], number[]][] = [
      ["1e16", [1, 3], [1e-16, 2e-16]],
      ["counts", [120000, 80000, 300000, 500000], [0.1, 0.2, 0.3, 0.4]],
      ["3e11", [0, 1e-8], [2e-20, 1e-20]],
    ];
    for (const [name, p, q] of cases) {
      const e = ev(`renyiTotals/${name}`), n = p.length;
      close(KL.renyi(p, q, { alpha: 2 }), e, name);
      closeAll(KL.renyi([...p, ...p], q, { alpha: 2, dim: n }), [e, e], `${name} rows`);
      closeAll(pairwise("renyi", p, [...q, ...p.map((x) => x + 1)], { dim: n, alpha: 2 }).subarray(0, 1), [e], `${name} pairwise`);
    }
  });
  it("renyi, normalize: false, on the raw values (α = ∞ below 0; totals of 1e200 and 1e300)", () => {
    useBackend(b);
    const cases: [string, number[], number[], number][] = [
      ["inf", [1], [2], Infinity],
      ["inf3", [1, 2, 3], [2, 3, 4], Infinity],
      ["1e200", [1, 2, 3], [1e200, 2e200, 3e200], 2],
      ["1e300/2", [1], [1e300], 2],
      ["1e300/0.5", [1], [1e300], 0.5],
      ["small", [1e-5, 2e-5], [3e-5, 1e-5], 0.5],
    ];
    for (const [name, p, q, alpha] of cases) close(KL.renyi(p, q, { alpha, normalize: false }), ev(`renyiPlain/${name}`), name);
  });
  it("renyi of orders 1e-300 … 0.3 within 1e-12 (each bracket once cancelled ~1/α times)", () => {
    useBackend(b);
    for (const alpha of ["1e-300", "1e-20", "1e-14", "1e-8", "0.001", "0.3"]) {
      close(KL.renyi([0.1, 0.4, 0.5], [0.8, 0.15, 0.05], { alpha: Number(alpha) }), ev(`renyiSmallAlpha/${alpha}`), `alpha ${alpha}`);
    }
  });
  it("a Proxy of a typed array: KLTypeError KL_NOT_ARRAY naming the argument (was a TypeError from its length getter)", () => {
    useBackend(b);
    const proxy = new Proxy(new Float64Array([0.5, 0.5]), {});
    expectError(() => kl(proxy, [0.5, 0.5]), "type", "KL_NOT_ARRAY", [/^p is a Proxy of a typed array/], "p");
    expectError(() => kl([0.5, 0.5], proxy), "type", "KL_NOT_ARRAY", [/^q is a Proxy/], "q");
    expectError(() => pairwise("kl", proxy, [0.5, 0.5], { dim: 2 }), "type", "KL_NOT_ARRAY", [/Proxy/], "pairwise");
  });
});

// 22. round two of the adversarial findings (generate_regressions.py section 22)
forBackends("22. logits at extreme gaps and temperatures; one overflow rule for klTerms, a base near 1 and negative weights; a subnormal ε", (b) => {
  it("klTerms of logits is never NaN: a flushed probability beside a log-ratio past the double range is a term of 0", () => {
    useBackend(b);
    closeAll(klTerms([0, -1.7e308], [0, 1.7e308], { input: "logits" }), evs("extremeLogits/klTerms/gap"), "gap");
    closeAll(klTerms([2, 1, 0.1], [2, 1, 0.1], { input: "logits", temperature: 1e-308 }), evs("extremeLogits/klTerms/sameT"), "same rows");
    closeAll(klTerms([0, -1], [0, -2], { input: "logits", temperature: 1e-308 }), evs("extremeLogits/klTerms/T"), "T = 1e-308");
    // both backends: the exact 0 (the JS path once said KL_OVERFLOW)
    close(kl([0, -1], [0, -2], { input: "logits", temperature: 1e-308 }), ev("extremeLogits/kl/T"), "kl T = 1e-308");
  });
  it("a finite value past the double range is KL_OVERFLOW in every form: klTerms, a base near 1, negative weights", () => {
    useBackend(b);
    const overflow = (f: () => unknown, what: string) => expectError(f, "range", "KL_OVERFLOW", [/exceeds the double range/], what);
    overflow(() => klTerms([1e308, 1], [1, 1], { normalize: false }), "klTerms 7e310"); // was [Infinity, 0]
    overflow(() => klTerms([1e306, 1], [7e240, 1], { normalize: false, base: 2 }), "klTerms in bits");
    overflow(() => kl([1e306], [7.17509597316441e240], { normalize: false, base: 2 }), "kl in bits"); // was Infinity
    overflow(() => entropy([1e300, 1], { normalize: false, base: 1 + 2 ** -52 }), "entropy, base 1 + ε"); // was -Infinity
    overflow(() => kl([1, 1, 1, 1], [3, 3], { dim: 2, normalize: false, weights: [1e308, 1e308] }), "weights, none"); // was [-Infinity, -Infinity]
    overflow(() => kl([1, 1, 1, 1], [3, 3], { dim: 2, normalize: false, weights: [1e308, 1e308], reduction: "sum" }), "weights, sum");
    // +Infinity stays where it is exact
    expect(Array.from(klTerms([1, 1], [1, 0], { normalize: false, base: 2 }))).toEqual([0, Infinity]);
  });
  it("smoothing.epsilon below 2^-500 is KL_BAD_OPTION (ε·t rounded onto the subnormal grid or to 0: 3e-4 and 1.7e-8 off, KL_OVERFLOW)", () => {
    useBackend(b);
    for (const mode of ["replace-zeros", "additive", "clip"]) {
      for (const epsilon of [5e-324, 1e-300, 1e-290, 2 ** -501]) {
        expectError(() => kl([1, 1], [0.5, 0], { smoothing: { mode, epsilon } }), "range", "KL_BAD_OPTION", [/smoothing\.epsilon/, /2\^-500/], `${mode} ${epsilon}`);
      }
    }
    // the least ε beside a row total of 1e-30: ε·t is still a normal double (section 24)
    close(kl([1, 1], [1e-30, 0], { smoothing: { mode: "replace-zeros", epsilon: 2 ** -500 } }), ev("smoothTiny/kl"), "2^-500 beside 1e-30");
  });
});

// 23. round three (generate_regressions.py section 23)
forBackends("23. pairwise of a query row summing near the double's maximum; gaussianKL of far means", (b) => {
  it("pairwise kl of [0, 1.7e308, 1e300]: within 1e-12 (the kernel's row logarithms once formed q + t = +Infinity)", () => {
    useBackend(b);
    const rows = [[5e-324, 0, 1.000000000630634], [1.401298464324817e-45, 1e-38, 1e-38], [3.4028234663852886e38, 3.4028234663852886e38, 1e-38]];
    const want = [0, 1, 2, 2].map((j) => ev(`hugeQuery/kl/${j}`));
    closeAll(pairwise("kl", [0, 1.7e308, 1e300], [0, 1, 2, 2].flatMap((j) => rows[j]!), { dim: 3 }), want, "pairwise");
  });
  it("gaussianKL of means 1e200 and 2e300 apart is finite (the SIMD path squared the difference first)", () => {
    useBackend(b);
    close(gaussianKL([1e200], [1], [0], [1e200]), ev("gaussFar/1e200"), "1e200");
    close(gaussianKL([-1e300], [1], [1e300], [1e300]), ev("gaussFar/1e300"), "1e300");
    closeAll(gaussianKL([1e200, 1e200], [1, 1], [0, 0], [1e200, 1e200], { dim: 1 }), [ev("gaussFar/1e200"), ev("gaussFar/1e200")], "rows");
  });
});

forBackends("23. weights spanning more than the double range: an Infinity row is not dropped", (b) => {
  it("a +Infinity row of weight 1e-30 beside a weight of 1e300: sum and mean +Infinity (w/wMax once underflowed to 0)", () => {
    useBackend(b);
    const o = { dim: 2, weights: [1e300, 1e-30] };
    expect(Array.from(kl([0.5, 0.5, 1, 0], [0.5, 0.5, 0, 1], o) as Float64Array)).toEqual([0, Infinity]);
    expect(kl([0.5, 0.5, 1, 0], [0.5, 0.5, 0, 1], { ...o, reduction: "sum" })).toBe(Infinity);
    expect(kl([0.5, 0.5, 1, 0], [0.5, 0.5, 0, 1], { ...o, reduction: "mean" })).toBe(Infinity);
    // a weight of exactly 0 still masks it
    expect(kl([0.5, 0.5, 1, 0], [0.5, 0.5, 0, 1], { dim: 2, weights: [1e300, 0], reduction: "mean" })).toBe(0);
  });
});

// 24. additive smoothing of rows summing near the double's maximum (generate_regressions.py section 24)
forBackends("24. additive smoothing of rows of 1.7e308: finite and exact (the JS path's x + ε·t overflowed)", (b) => {
  it("jsDistance, jsDivergence, kl, psi within 1e-12; p = q exactly 0", () => {
    useBackend(b);
    const big = 1.7e308, add = (epsilon: number) => ({ smoothing: { mode: "additive" as const, epsilon } });
    close(KL.jsDistance([0, big], [big, 0], add(0.5)), ev("smoothBig/jsDistance"), "jsDistance"); // was 0 on JS
    close(jsDivergence([1, big], [big, 1], add(0.1)), ev("smoothBig/jsDivergence"), "jsDivergence"); // was 0 on JS
    close(kl([1, big], [big, 1], add(0.1)), ev("smoothBig/kl"), "kl"); // was KL_OVERFLOW on JS
    close(psi([1, 0], [0, big], add(0.5)), ev("smoothBig/psi"), "psi"); // was KL_OVERFLOW on JS
    close(kl([big, 0], [big, 0], add(0.1)), ev("smoothBig/klSame"), "p = q"); // was KL_OVERFLOW on both
  });
});

forBackends("25. logits whose gap to the max overflows: a finite logit is a positive probability, a −∞ beside it exactly 0", (b) => {
  it("kl, crossEntropy, jeffreys, psi, generalizedKL +Infinity (were 0); hellinger, totalVariation, jsDivergence and p = q 0; as rows too", () => {
    useBackend(b);
    const P = [1e308, -1e308], Q = [0, -Infinity], o = { input: "logits" as const };
    close(kl(P, Q, o), ev("hugeGap/kl"), "kl"); // was 0 on JS
    close(crossEntropy(P, Q, o), ev("hugeGap/crossEntropy"), "crossEntropy"); // was 0 on both
    close(jeffreys(P, Q, o), ev("hugeGap/jeffreys"), "jeffreys"); // was 0 on both
    close(psi(P, Q, o), ev("hugeGap/jeffreys"), "psi"); // was 0 on both
    close(generalizedKL(P, Q, o), ev("hugeGap/generalizedKL"), "generalizedKL"); // was 0 on both
    close(hellinger(P, Q, o), ev("hugeGap/hellinger"), "hellinger");
    close(totalVariation(P, Q, o), ev("hugeGap/totalVariation"), "totalVariation");
    close(jsDivergence(P, Q, o), ev("hugeGap/jsDivergence"), "jsDivergence");
    close(kl(P, P, o), ev("hugeGap/klSame"), "p = q");
    closeAll(kl([...P, ...P], Q, { ...o, dim: 2 }), [ev("hugeGap/kl"), ev("hugeGap/kl")], "kl rows");
    closeAll(crossEntropy([...P, ...P], Q, { ...o, dim: 2 }), [ev("hugeGap/crossEntropy"), ev("hugeGap/crossEntropy")], "crossEntropy rows");
    for (const m of ["kl", "crossEntropy"]) {
      closeAll(pairwise(m, [...P, 0, 1], [...Q, 0, 1], { ...o, dim: 2 }), evs(`hugeGap/pairwise/${m}`), `pairwise ${m}`); // JS: 0·(−∞) once
    }
  });
});

forBackends("26. a weighted mean of rows at the documented maximum stays in the range; options that do not apply are rejected", (b) => {
  it("jsDistance and jsDivergence: the mean of disjoint rows is the maximum, not one ulp past it", () => {
    useBackend(b);
    const P = [1, 0, 1, 0], Q = [0, 1, 0, 1];
    for (const weights of [[27430.76138542569, 15.718343828398218], [0.000019525983798918033, 2.792678251173496]]) {
      const o = { dim: 2, reduction: "mean" as const, weights };
      for (const [f, key] of [[jsDistance, "meanAtMax/jsDistance"], [jsDivergence, "meanAtMax/jsDivergence"]] as const) {
        const v = f(P, Q, o) as number;
        close(v, ev(key), `${key} ${weights}`);
        expect(v, `${key} ${weights}`).toBeLessThanOrEqual(f([1, 0], [0, 1]) as number); // was 0.8325546111576978 > 0.8325546111576977
      }
    }
  });

  it("temperature without a logits side, and normalize, input, temperature or smoothing on gaussianKL: KL_BAD_OPTION (they were ignored)", () => {
    useBackend(b);
    const rejects = (f: () => unknown, what: string) => {
      const e = thrown(f) as { code?: unknown } | undefined;
      expect(e, what).toBeInstanceOf(KLRangeError);
      expect(e?.code, what).toBe("KL_BAD_OPTION");
    };
    rejects(() => kl([1, 2], [2, 1], { temperature: 2 }), "kl, probabilities");
    rejects(() => entropy([1, 2], { input: "log-probabilities", temperature: 0.5 }), "entropy, log-probabilities");
    rejects(() => pairwise("kl", [1, 2], [2, 1], { dim: 2, temperature: 2 }), "pairwise");
    for (const key of ["normalize", "input", "temperature", "smoothing"]) {
      const value = { normalize: false, input: "logits", temperature: 2, smoothing: { mode: "clip", epsilon: 1e-9 } }[key];
      rejects(() => gaussianKL([0], [1], [1], [2], { [key]: value }), `gaussianKL ${key}`);
    }
  });
});

forBackends("27. gaussianKL whose (μ₁ − μ₂)²/σ₂² leaves the double range though the KL does not", (b) => {
  it("gaussianKL([1.4e154], [1], [0], [1]) = 9.8e307 (JS: KL_OVERFLOW); a subnormal variance beside a tiny mean gap", () => {
    useBackend(b);
    close(gaussianKL([1.4e154], [1], [0], [1]), ev("gaussFar/1.4e154"), "far means");
    close(gaussianKL([1e-10], [1e-320], [0], [1e-320]), ev("gaussFar/subnormalVar"), "subnormal variances");
  });
});

forBackends("28. reductions of rows whose sum leaves the double range", (b) => {
  it("the mean of six rows of 3.68e307 is theirs (it was Infinity); their sum, and their weighted sum, KL_OVERFLOW (it was Infinity)", () => {
    useBackend(b);
    const q = 3.6787944117144235e307; // the double nearest 1e308/e, as generate_regressions.py takes it
    const P = new Array(6).fill(1e308), Q = new Array(6).fill(q), o = { dim: 1, normalize: false };
    close(generalizedKL(P, Q, { ...o, reduction: "mean" }), ev("reduceBig/row"), "mean");
    close(generalizedKL(P, Q, { ...o, reduction: "mean", weights: [1, 2, 3, 4, 5, 6] }), ev("reduceBig/row"), "weighted mean");
    for (const weights of [undefined, [1, 1, 1, 1, 1, 1]]) {
      const e = thrown(() => generalizedKL(P, Q, { ...o, reduction: "sum", weights })) as { code?: unknown } | undefined;
      expect(e?.code, `sum, weights ${weights}`).toBe("KL_OVERFLOW");
    }
  });
});

// 29. the last n % 16 floats of a Float32Array call go through the SIMD kernel padded to 16 (they
// went one logarithm each through the scalar path, 10 floats costing more than 16); the pads' sum
// is taken off Σp and Σq. generate_regressions.py tail_rows(): the same rows
forBackends("29. Float32Array lengths that are not a multiple of 16 (the padded last block)", (b) => {
  const row = (n: number, kind: string): [Float32Array, Float32Array] => {
    const p = Array.from({ length: n }, (_, i) => 1 + (i % 7) / 8);
    let q = p.map((_, i) => 1 + ((5 * i) % 11) / 16);
    if (kind === "near") q = p.map((x, i) => x + ((i % 4) - 1.5) * 2 ** -18);
    if (kind === "tinyNear" || kind === "mixed") {
      const a = Float32Array.from(p, (x) => x * 2 ** -100), b = Float32Array.from(p, (x, i) => x * 2 ** -100 + ((i % 4) - 1.5) * 2 ** -120);
      if (kind === "mixed") a[0] = b[0] = 2 ** -76;
      return [a, b];
    }
    const s = kind === "tiny" ? 2 ** -125 : 1;
    return [Float32Array.from(p, (x) => x * s), Float32Array.from(q, (x) => x * s)];
  };
  it("kl and normalize: false of independent, near-identical and tiny rows (totals ~1e-36, where pads left in would move them 20 %; terms in the float subnormals, once 1.7e-4 off)", () => {
    useBackend(b);
    for (const n of [1, 2, 5, 10, 15, 17, 31, 33, 47, 100]) {
      for (const kind of ["indep", "near", "tiny", "tinyNear"]) {
        const [p, q] = row(n, kind);
        close(kl(p, q), ev(`f32Tail/${kind}/${n}/kl`), `${kind} ${n}`, 1e-6);
        close(kl(p, q, { normalize: false }), ev(`f32Tail/${kind}/${n}/plain`), `${kind} ${n} plain`, 1e-6);
        expect(p[n - 1], "the input is not modified").toBe(row(n, kind)[0][n - 1]);
      }
    }
  });
  it("a tail holding the pad value itself, a subnormal float, a zero p, a zero q under p's mass", () => {
    useBackend(b);
    const [p, q] = row(10, "indep");
    p[8] = 2.3694278276172396e-38;
    q[9] = 1e-45;
    close(kl(p, q), ev("f32Tail/edge/kl"), "pad value and subnormal", 1e-6);
    close(kl(p, q, { normalize: false }), ev("f32Tail/edge/plain"), "pad value and subnormal, plain", 1e-6);
    p[9] = 0;
    close(kl(p, q), ev("f32Tail/edge/pZero"), "p = 0", 1e-6);
    const [p2, q2] = row(10, "indep");
    q2[8] = 0;
    expect(kl(p2, q2)).toBe(Infinity);
    q2[8] = NaN;
    expectError(() => kl(p2, q2), "range", "KL_NAN", [/q\[8\]/], "NaN in the tail");
  });
  it("batches of rows of 47 floats (each row's last 15 padded) and of 16 (across lanes, or per row; subnormal terms there were 6e-5 off)", () => {
    useBackend(b);
    for (const dim of [47, 16]) {
      const rows = ["indep", "near", "tiny", "tinyNear", "mixed"].map((k) => row(dim, k));
      const cat = (i: 0 | 1) => Float32Array.from(rows.flatMap((r) => Array.from(r[i])));
      closeAll(kl(cat(0), cat(1), { dim }), evs(`f32Tail/rows${dim}`), `rows of ${dim}`, 1e-6);
    }
  });
});

// 30. an invalid value comes before a row that sums to 0, on both backends (the SIMD path of the
// pair measures redid rows in order: row 0's zero sum was reported, KL_ZERO_SUM, where the JS
// path, validating first, names the Infinity of row 1)
forBackends("30. a batch with a zero-sum row before an invalid value", (b) => {
  it("every normalising measure names the invalid element, p's before q's", () => {
    useBackend(b);
    for (const m of ["kl", "crossEntropy", "jsDivergence", "jsDistance", "jeffreys", "psi", "hellinger", "totalVariation", "renyi"]) {
      const o = m === "renyi" ? { dim: 2, alpha: 2 } : { dim: 2 };
      for (const T of [Array, Float64Array, Float32Array] as const) {
        const f = (v: number[]) => (T === Array ? v : T === Float64Array ? Float64Array.from(v) : Float32Array.from(v));
        expectError(() => api[m]!(f([0, 0, 1, Infinity]), f([1, 1, 1, 1]), o), "range", "KL_INFINITE", [/p\[3\] \(row 1, column 1\)/], `${m} ${T.name} p`);
        expectError(() => api[m]!(f([1, 1, 1, 1]), f([0, 0, -1, 1]), o), "range", "KL_NEGATIVE", [/q\[2\] \(row 1, column 0\)/], `${m} ${T.name} q`);
        expectError(() => api[m]!(f([1, 1, 1, NaN]), f([0, 0, 1, -1]), o), "range", "KL_NAN", [/p\[3\]/], `${m} ${T.name} p before q`);
      }
    }
  });
});

// 31. pairwise and topK renyi of a candidate row with subnormal probabilities (1e-22 beside 1e300:
// b ≈ 1e-322, two digits), which b^(1 − α) at α = 0.999 lifts to ~0.48: the matrix product's
// rows were 1e-4 off. generate_regressions.py section 31: the same rows
forBackends("31. pairwise / topK renyi of rows with subnormal probabilities", (b) => {
  const row = (f: (i: number) => number) => Array.from({ length: 14 }, (_, i) => f(i));
  const Q = [row((i) => (i < 13 ? 1e-22 * (1 + i / 7) : 1e300)), row((i) => 1 + (i % 3) / 2), row((i) => 1 + (i % 4) / 3), row((i) => 2 - (i % 5) / 5)];
  const P = [0, 1, 2].map((r) => Array.from({ length: 14 }, (_, i) => 1 + ((i + r) % 5) / 4));
  it("against mpmath at α = 0.999, 0.5, 2", () => {
    useBackend(b);
    for (const alpha of [0.999, 0.5, 2]) {
      const e = evs(`renyiSubnormal/${alpha}`);
      closeAll(pairwise("renyi", Float64Array.from(P.flat()), Float64Array.from(Q.flat()), { dim: 14, alpha }), e, `pairwise α ${alpha}`);
      const top = topK("renyi", Float64Array.from(P.flat()), Float64Array.from(Q.flat()), { dim: 14, alpha, k: 4 }) as { indices: Int32Array; scores: Float64Array };
      for (let r = 0; r < 3; r++) for (let j = 0; j < 4; j++) close(top.scores[r * 4 + j], e[r * 4 + top.indices[r * 4 + j]!]!, `topK α ${alpha} row ${r}`);
    }
  });
});

// 32. klTerms of a row whose total is past the double range: each term was NaN (x/∞ and
// ln(∞/∞)) on both backends, where every sum measure was exact
forBackends("32. klTerms of rows whose total overflows a double", (b) => {
  it("against mpmath, as one pair and as rows", () => {
    useBackend(b);
    closeAll(klTerms([1.7e308, 1.7e308, 1], [1, 1, 1]), evs("termsBig/p"), "p's total");
    closeAll(klTerms([1, 2, 3], [1.7e308, 1e308, 1]), evs("termsBig/q"), "q's total");
    closeAll(klTerms([1.7e308, 1.7e308, 1, 1, 2, 3], [1, 1, 1, 1.7e308, 1e308, 1], { dim: 3 }), [...evs("termsBig/p"), ...evs("termsBig/q")], "rows");
  });
});

// 33. klTerms never NaN: a probability flushed to 0 by its total (0·(0/0)), a raw log-probability
// past the double range beside an equal one (∞·0), and logits 1e308 apart (∞ − ∞ inside: the
// documented intermediate-overflow limit, KL_OVERFLOW)
forBackends("33. klTerms terms that were NaN", (b) => {
  it("against mpmath; KL_OVERFLOW, not NaN, where an intermediate overflows", () => {
    useBackend(b);
    closeAll(klTerms([1e200, 1e-200, 2.2250738585072014e-308], [1e-200, 1e200, 2.2250738585072014e-308]), evs("termsNaN/flushed"), "flushed");
    closeAll(klTerms([700, -700, 745], [1, 700, 745], { input: "log-probabilities", normalize: false }), evs("termsNaN/raw"), "raw log-probabilities");
    const e = thrown(() => klTerms([50, -1e308, 1e308], [0, -1e308, -1e308], { input: "logits" })) as { code?: unknown } | undefined;
    expect(e?.code, "logits 1e308 apart").toBe("KL_OVERFLOW");
  });
});
