// The public API around kl(): init() and its sources, backend selection, memory use, and
// the documented semantics (zeros, Infinity, bases, normalisation, reverse KL) on both
// backends and on Float64Array, Float32Array and number[].
//
// Tests that need a module in its initial state (before init(), or init() with a given
// source) get a fresh instance with vi.resetModules() + a dynamic import.
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { backend, init, kl, KLRangeError, useBackend, type Backend } from "../src/index.js";
import { EXPECTED, WASM } from "./backends.js";

type KLModule = typeof import("../src/index.js");
type Input = Float64Array | Float32Array | number[];

// CI also runs the suite in a V8 without SIMD (KL_NO_SIMD=1, see vitest.config.ts), where
// init() must select "js"; everywhere else this Node must select a wasm build (test/backends.ts).
const hasSimd = EXPECTED !== "js";

const selected = await init();
const BACKENDS: Backend[] = [WASM, "js"];

// The seed example D([0.5, 0.5] ‖ [0.7, 0.3]) = 0.0871766935723888710636840353… nats and the
// reverse D([0.7, 0.3] ‖ [0.5, 0.5]) = 0.0822828785050518416881131916… nats, both for the
// double inputs normalised by their exact sums, obtained on this machine with
//   python3 -c "from mpmath import mp, mpf, log; mp.dps = 60
//   kl = lambda p, q: sum(mpf(a)/sum(map(mpf, p)) * log((mpf(a)/sum(map(mpf, p))) /
//                         (mpf(b)/sum(map(mpf, q)))) for a, b in zip(p, q) if a)
//   print(kl([0.5, 0.5], [0.7, 0.3]), kl([0.7, 0.3], [0.5, 0.5]))"
// (0.08717669357238887 is the double nearest to the first; kl() returns …884 to …887.)
const SEED = 0.08717669357238887;
const SEED_REVERSE = 0.08228287850505184;
// kl([1, 2, 3], [2, 2, 2]) = 0.0872080239607579727528012041… (same mpmath script)
const COUNTS = 0.08720802396075797;

const WASM_FILE = new URL("../build/kl.wasm", import.meta.url);
const wasmBytes = (): Uint8Array<ArrayBuffer> => new Uint8Array(readFileSync(WASM_FILE));

function rel(a: number, b: number): number {
  return a === b ? 0 : Math.abs(a - b) / Math.abs(b);
}

async function fresh(): Promise<KLModule> {
  vi.resetModules();
  return await import("../src/index.js");
}

function expectBadOption(f: () => unknown, Range: typeof KLRangeError = KLRangeError): void {
  let error: unknown;
  try {
    f();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(Range);
  expect(error).toBeInstanceOf(RangeError);
  expect((error as KLRangeError).code).toBe("KL_BAD_OPTION");
}

describe("init()", () => {
  it(`resolves "${EXPECTED}" here and selects it`, async () => {
    expect(selected).toBe(EXPECTED);
    expect(await init()).toBe(EXPECTED);
    expect(backend()).toBe(EXPECTED);
  });

  it("is idempotent: every call returns the same promise, with or without a source", async () => {
    const m = await fresh();
    const first = m.init();
    expect(m.init()).toBe(first);
    expect(await first).toBe(EXPECTED);
    expect(m.init()).toBe(first);
    expect(m.init(new Uint8Array([0, 1, 2, 3]))).toBe(first); // a later source is ignored
    expect(await m.init()).toBe(EXPECTED);
    expect(m.backend()).toBe(EXPECTED);
  });

  it("kl() works on the JS path before init() resolves", async () => {
    const m = await fresh();
    expect(m.backend()).toBe("js");
    expect(rel(m.kl([0.5, 0.5], [0.7, 0.3]), SEED)).toBeLessThanOrEqual(1e-15);
    const pending = m.init();
    // init() has not resolved yet: still synchronous JS
    expect(m.backend()).toBe("js");
    expect(rel(m.kl(new Float64Array([0.5, 0.5]), new Float64Array([0.7, 0.3])), SEED)).toBeLessThanOrEqual(1e-15);
    expect(rel(m.kl(new Float32Array([0.5, 0.5]), new Float32Array([0.7, 0.3])), SEED)).toBeLessThanOrEqual(1e-6);
    expect(await pending).toBe(EXPECTED);
    expect(m.backend()).toBe(EXPECTED);
    expect(rel(m.kl([0.5, 0.5], [0.7, 0.3]), SEED)).toBeLessThanOrEqual(1e-15);
  });

  describe.skipIf(!hasSimd)("with an explicit source (each in a fresh module)", () => {
    const sources: Array<[string, () => Promise<unknown> | unknown]> = [
      ["a WebAssembly.Module", () => WebAssembly.compile(wasmBytes())],
      ["a Uint8Array", () => wasmBytes()],
      ["an ArrayBuffer", () => wasmBytes().buffer],
      ["a Uint8Array at an offset", () => {
        const bytes = wasmBytes();
        const big = new Uint8Array(bytes.length + 16);
        big.set(bytes, 7);
        return big.subarray(7, 7 + bytes.length);
      }],
      ["a Response", () => new Response(wasmBytes(), { headers: { "content-type": "application/wasm" } })],
      ["a promise of a Response", () => Promise.resolve(new Response(wasmBytes(), { headers: { "content-type": "application/wasm" } }))],
    ];
    for (const [name, make] of sources) {
      it(name, async () => {
        const m = await fresh();
        const source = (await make()) as Parameters<KLModule["init"]>[0];
        expect(await m.init(source)).toBe("wasm-simd");
        expect(m.backend()).toBe("wasm-simd");
        expect(rel(m.kl([0.5, 0.5], [0.7, 0.3]), SEED)).toBeLessThanOrEqual(1e-15);
        expect(rel(m.kl(new Float64Array([0.5, 0.5]), new Float64Array([0.7, 0.3])), SEED)).toBeLessThanOrEqual(1e-15);
        expect(rel(m.kl(new Float32Array([0.5, 0.5]), new Float32Array([0.7, 0.3])), SEED)).toBeLessThanOrEqual(1e-6);
        m.useBackend("js");
        expect(rel(m.kl([0.5, 0.5], [0.7, 0.3]), SEED)).toBeLessThanOrEqual(1e-15);
        m.useBackend("wasm-simd");
      });
    }

    it("garbage bytes reject, and a later init() without a source still works", async () => {
      const m = await fresh();
      await expect(m.init(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 255, 255]))).rejects.toThrow();
      expect(m.backend()).toBe("js");
      expectBadOption(() => m.useBackend("wasm-simd"), m.KLRangeError);
      expect(rel(m.kl([0.5, 0.5], [0.7, 0.3]), SEED)).toBeLessThanOrEqual(1e-15);
      await expect(m.init(new Uint8Array([1, 2, 3]))).rejects.toThrow(); // a second bad try
      expect(await m.init()).toBe(WASM);
      expect(m.backend()).toBe(WASM);
      expect(rel(m.kl([0.5, 0.5], [0.7, 0.3]), SEED)).toBeLessThanOrEqual(1e-15);
    });

    it("a valid module with other exports rejects", async () => {
      const m = await fresh();
      // (module (func (export "f"))): compiles and instantiates, but is not the kernel
      const other = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 4, 1, 2, 0, 11]);
      expect(WebAssembly.validate(other)).toBe(true);
      await expect(m.init(other)).rejects.toThrow();
      expect(await m.init(wasmBytes())).toBe("wasm-simd");
    });
  });

  it('without WebAssembly a fresh module resolves "js" and kl() is still right', async () => {
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, "WebAssembly")!;
    expect(descriptor).toBeDefined();
    let m: KLModule;
    try {
      Reflect.deleteProperty(globalThis, "WebAssembly");
      expect(typeof (globalThis as { WebAssembly?: unknown }).WebAssembly).toBe("undefined");
      m = await fresh();
      expect(await m.init()).toBe("js");
      expect(m.backend()).toBe("js");
      expect(rel(m.kl([0.5, 0.5], [0.7, 0.3]), SEED)).toBeLessThanOrEqual(1e-15);
      expect(rel(m.kl(new Float32Array([1, 2, 3]), new Float32Array([2, 2, 2])), COUNTS)).toBeLessThanOrEqual(1e-15);
      expectBadOption(() => m.useBackend("wasm-simd"), m.KLRangeError);
    } finally {
      Object.defineProperty(globalThis, "WebAssembly", descriptor);
    }
    expect(typeof WebAssembly.compile).toBe("function");
  });
});

describe("useBackend()", () => {
  it('"wasm-simd" throws KL_BAD_OPTION in a fresh module before init()', async () => {
    const m = await fresh();
    expectBadOption(() => m.useBackend("wasm-simd"), m.KLRangeError);
    expect(m.backend()).toBe("js");
    m.useBackend("js");
    expect(m.backend()).toBe("js");
  });

  it("unknown names throw KL_BAD_OPTION and leave the backend alone", async () => {
    const before = backend();
    for (const name of ["nonsense", "", "WASM-SIMD", "wasm", undefined, null, 1]) {
      expectBadOption(() => useBackend(name as Backend));
      expect(backend()).toBe(before);
    }
    const m = await fresh();
    expectBadOption(() => m.useBackend("nonsense" as Backend), m.KLRangeError);
  });

  it.skipIf(!hasSimd)("switches between the backends", () => {
    useBackend("js");
    expect(backend()).toBe("js");
    useBackend(WASM);
    expect(backend()).toBe(WASM);
  });
});

describe.skipIf(!hasSimd)("memory", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("the module memory does not grow across many calls with large inputs", async () => {
    // the instance is private to the module: catch it as the loader instantiates it
    const instantiate = vi.spyOn(WebAssembly, "instantiate");
    const m = await fresh();
    expect(await m.init()).toBe(WASM);
    expect(instantiate).toHaveBeenCalledTimes(1);
    const result = (await instantiate.mock.results[0]!.value) as WebAssembly.Instance | WebAssembly.WebAssemblyInstantiatedSource;
    const instance = result instanceof WebAssembly.Instance ? result : result.instance;
    const memory = instance.exports.memory as WebAssembly.Memory;
    expect(memory).toBeInstanceOf(WebAssembly.Memory);
    vi.restoreAllMocks();

    const n = 1_000_000;
    const p64 = new Float64Array(n), q64 = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      p64[i] = 1 + (i % 97);
      q64[i] = 1 + ((i * 7) % 89);
    }
    const p32 = Float32Array.from(p64), q32 = Float32Array.from(q64);
    const pArr = Array.from(p64), qArr = Array.from(q64);
    const runs: Array<[string, () => number]> = [
      ["f64", () => m.kl(p64, q64)],
      ["f32", () => m.kl(p32, q32)],
      ["plain", () => m.kl(p64, q64, { normalize: false })],
      ["number[]", () => m.kl(pArr, qArr)],
    ];
    const first = runs.map(([, f]) => f()); // warm-up
    const buffer = memory.buffer;
    const bytes = buffer.byteLength;
    const arrayBuffers = process.memoryUsage().arrayBuffers;
    for (let k = 0; k < 20; k++) {
      runs.forEach(([name, f], j) => {
        const r = f();
        if (!Object.is(r, first[j])) expect.fail(`${name} call ${k}: ${r} !== ${first[j]}`);
      });
    }
    expect(memory.buffer).toBe(buffer); // a grow would have replaced (detached) it
    expect(memory.buffer.byteLength).toBe(bytes);
    expect(process.memoryUsage().arrayBuffers - arrayBuffers).toBeLessThan(4 * 2 ** 20);
    for (const r of first) expect(Number.isFinite(r) && r > 0).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------
// Semantics, on both backends and every input type

interface InputType {
  name: string;
  make(values: ArrayLike<number>): Input;
  /** relative bound where the kernel computes terms in float32 (a Float32Array pair) */
  rel: number;
}

const TYPES: InputType[] = [
  { name: "Float64Array", make: (v) => Float64Array.from(v), rel: 1e-15 },
  { name: "Float32Array", make: (v) => Float32Array.from(v), rel: 1e-6 },
  { name: "number[]", make: (v) => Array.from(v), rel: 1e-15 },
];

/** Deterministic random numbers in [0, 1) (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LENGTHS = [1, 2, 3, 4, 5, 7, 31, 32, 33, 63, 64, 65, 100, 1000, 4097, 8193, 10000];

/** A random vector: mostly (0, 1), with some zeros, and spread over decades when `wide`. */
function vector(rnd: () => number, n: number, wide = false): number[] {
  return Array.from({ length: n }, () => {
    const r = rnd();
    if (r < 0.1) return 0;
    return wide ? rnd() * 10 ** Math.floor(rnd() * 40 - 20) : rnd();
  });
}

for (const backendName of BACKENDS) {
  describe.skipIf(backendName === WASM && selected !== WASM)(`semantics on ${backendName}`, () => {
    for (const type of TYPES) {
      describe(type.name, () => {
        const use = (): void => useBackend(backendName);

        it("pᵢ = 0 contributes 0, also where qᵢ = 0", () => {
          use();
          const t = type.make;
          for (const normalize of [true, false]) {
            expect(kl(t([0, 0.5, 0.5]), t([0, 0.5, 0.5]), { normalize })).toBe(0);
            expect(kl(t([0, 0.25, 0.75]), t([0.5, 0.25, 0.75]), { normalize: false })).toBe(0);
            // zeros in p change nothing where q is 0 too
            const a = kl(t([0, 1, 1, 0]), t([0, 1, 3, 0]), { normalize });
            const b = kl(t([1, 1]), t([1, 3]), { normalize });
            expect(rel(a, b)).toBeLessThanOrEqual(type.rel);
          }
          // long inputs, zeros in every block and chunk: the same divergence as without them
          for (const n of [100, 10000]) {
            const rnd = random(n);
            const p = vector(rnd, n), q = p.map((x) => (x === 0 ? 0 : 0.1 + rnd()));
            for (let i = 0; i < n; i += 3) p[i] = 0; // p = 0, q > 0 or q = 0
            for (let i = 0; i < n; i += 9) q[i] = 0; // only under p = 0
            const keep = p.map((x, i) => x > 0 || q[i]! > 0);
            const pk = p.filter((_, i) => keep[i]), qk = q.filter((_, i) => keep[i]);
            for (const normalize of [true, false]) {
              const a = kl(t(p), t(q), { normalize });
              const b = kl(t(pk), t(qk), { normalize });
              expect(Number.isFinite(a) && a > 0).toBe(true);
              expect(rel(a, b)).toBeLessThanOrEqual(type.rel === 1e-15 ? 1e-13 : 1e-6);
            }
          }
        });

        it("pᵢ > 0 with qᵢ = 0 gives exactly Infinity", () => {
          use();
          const t = type.make;
          for (const normalize of [true, false]) {
            expect(kl(t([0.5, 0.5]), t([1, 0]), { normalize })).toBe(Infinity);
            expect(kl(t([1e-30, 1]), t([0, 1]), { normalize })).toBe(Infinity);
            expect(kl(t([1]), t([0]), { normalize: false })).toBe(Infinity);
            expect(kl(t([0.5, 0.5]), t([1, 0]), { normalize, base: 2 })).toBe(Infinity);
            for (const n of [33, 10000]) {
              for (const at of [0, Math.floor(n / 2), n - 1]) {
                const p = new Array<number>(n).fill(1), q = new Array<number>(n).fill(2);
                q[at] = 0;
                expect(kl(t(p), t(q), { normalize })).toBe(Infinity);
              }
            }
          }
        });

        it("kl(p, p) === 0 exactly", () => {
          use();
          const rnd = random(7);
          for (const n of LENGTHS) {
            for (const wide of [false, true]) {
              const v = vector(rnd, n, wide);
              if (!v.some((x) => x > 0)) v[0] = 1;
              const p = type.make(v);
              for (const options of [undefined, { normalize: false }, { base: 2 }]) {
                expect(kl(p, p, options)).toBe(0);
                expect(kl(p, type.make(v), options)).toBe(0);
              }
            }
          }
        });

        it("base 2 gives nats / ln 2, base 10 nats / ln 10", () => {
          use();
          const rnd = random(11);
          for (const n of LENGTHS) {
            const p = type.make(vector(rnd, n).map((x) => x + 0.01));
            const q = type.make(vector(rnd, n).map((x) => x + 0.01));
            for (const normalize of [true, false]) {
              const nats = kl(p, q, { normalize });
              expect(rel(kl(p, q, { normalize, base: 2 }), nats / Math.LN2)).toBeLessThanOrEqual(1e-15);
              expect(rel(kl(p, q, { normalize, base: 10 }), nats / Math.LN10)).toBeLessThanOrEqual(1e-15);
              expect(kl(p, q, { normalize, base: Math.E })).toBe(nats);
            }
          }
          expect(rel(kl(type.make([0.5, 0.5]), type.make([0.7, 0.3]), { base: 2 }), SEED / Math.LN2)).toBeLessThanOrEqual(
            type.rel === 1e-6 ? 1e-6 : 1e-15,
          );
        });

        it("normalize:false on normalised input equals normalize:true", () => {
          use();
          const rnd = random(13);
          // dyadic values summing to exactly 1, all > 0 (exact in float32 too)
          const dyadic = (n: number): number[] => {
            const total = 2 ** 20;
            const cuts = new Set<number>();
            while (cuts.size < n - 1) cuts.add(1 + Math.floor(rnd() * (total - 1)));
            const edges = [0, ...[...cuts].sort((a, b) => a - b), total];
            return edges.slice(1).map((e, i) => (e - edges[i]!) / total);
          };
          for (const n of LENGTHS) {
            const pv = dyadic(n), qv = dyadic(n);
            expect([pv.reduce((a, b) => a + b, 0), qv.reduce((a, b) => a + b, 0)]).toEqual([1, 1]);
            const p = type.make(pv), q = type.make(qv);
            const a = kl(p, q, { normalize: false }), b = kl(p, q);
            expect(Number.isFinite(b) && b >= 0).toBe(true);
            if (n > 1) expect(b).toBeGreaterThan(0);
            expect(rel(a, b)).toBeLessThanOrEqual(type.rel === 1e-6 ? 1e-6 : 1e-14);
          }
        });

        it("counts: kl([1, 2, 3], [2, 2, 2]) equals the normalised fractions", () => {
          use();
          const counts = kl(type.make([1, 2, 3]), type.make([2, 2, 2]));
          expect(rel(counts, COUNTS)).toBeLessThanOrEqual(type.rel);
          if (type.rel === 1e-15) {
            expect(rel(counts, kl(type.make([1 / 6, 2 / 6, 3 / 6]), type.make([1 / 3, 1 / 3, 1 / 3])))).toBeLessThanOrEqual(1e-15);
          }
          // scale-free in general: [10, 20, 30] / [7, 7, 7] normalise to the same pair (the
          // README promises ~1e-14 for normalised divergences; measured 3.8e-15 here)
          expect(rel(kl(type.make([10, 20, 30]), type.make([7, 7, 7])), COUNTS)).toBeLessThanOrEqual(type.rel === 1e-6 ? 1e-6 : 1e-14);
        });

        it("the seed example, and reverse KL differs", () => {
          use();
          const p = type.make([0.5, 0.5]), q = type.make([0.7, 0.3]);
          const forward = kl(p, q), reverse = kl(q, p);
          const bound = type.rel === 1e-6 ? 1e-6 : 1e-15;
          expect(rel(forward, SEED)).toBeLessThanOrEqual(bound);
          expect(rel(reverse, SEED_REVERSE)).toBeLessThanOrEqual(bound);
          expect(Math.abs(forward - reverse)).toBeGreaterThan(0.004);
        });
      });
    }
  });
}

// ---------------------------------------------------------------------------------------
// Regressions: edge cases once wrong (NaN, Infinity, an internal error, or digits lost),
// found by these tests and fixed. Expected values: mpmath at 1000 digits, as SEED above.
describe("edge cases of the normalisation paths", () => {
  const cases: Array<[string, number[], number[], number]> = [
    // Σp/Σq overflows: the rescale factor is Infinity → a plain Error "internal error"
    ["totals 1e310 apart (p larger)", [1e155], [1e-155], 0],
    // Σq/Σp overflows: T/P = Infinity plus a NaN correction → NaN
    ["totals 1e310 apart (q larger)", [1e-155], [1e155], 0],
    // the rescaled pass multiplies q by Σp/Σq = 1e-6: 5e-324 → 0 under p > 0 → Infinity
    ["rescale flushes a subnormal q", [1, 0], [5e-324, 1e6], 758.2555824793455],
    ["rescale flushes a tiny normal q", [1e-100, 1e-300], [1e100, 1e-130], 6.807755278982137e-199],
    // exactNormalizedKL scales q by 2^-round(log2 Σq): 5e-324·½ → 0 → an Infinity term,
    // which the compensated Sum turns into NaN
    ["exact path, tiny totals", [5e-324, 0], [5e-324, 2], 745.1332191019412],
    ["exact path after the rescaled pass", [1, 1e-9], [2, 5e-324], 7.234099525410849e-7],
    // exactNormalizedKL rounds Σp, Σq to doubles: an absolute error ~(δP − δQ)²/2 ≈ 4e-36
    [
      "exact path, rounded totals (KL ≈ 3e-34)",
      [0.001, 0, 0.001, 0.001, 0.001, 0.03104194401583231, 0.04212249573883071, 0.001],
      [0.0005, 0, 0.0005, 0.0005, 0.0005, 0.03104194401583231 / 2, 0.04212249573883071 / 2, 0.0009999999999999998 / 2],
      2.9692674028289945e-34,
    ],
    // 5f99359: log1pMinusX keeps two series terms for |u| < 2^-20, a relative error u²/2 in
    // the correction, amplified up to 16× when it nearly cancels T/P: 6.1e-12 here
    ["truncated ln(1 + u) − u series", [1, 1], [1.00000113237921, 1.0000006676207902], 2.6999999990955787e-14],
  ];
  for (const backendName of BACKENDS) {
    for (const [name, p, q, expected] of cases) {
      it.skipIf(backendName === WASM && selected !== WASM)(`${backendName}: ${name}`, () => {
        useBackend(backendName);
        for (const make of [(v: number[]) => v, (v: number[]) => Float64Array.from(v)]) {
          const got = kl(make(p), make(q));
          if (expected === 0) expect(Math.abs(got)).toBeLessThanOrEqual(1e-15);
          else expect(rel(got, expected)).toBeLessThanOrEqual(1e-12);
        }
      });
    }
  }
});
