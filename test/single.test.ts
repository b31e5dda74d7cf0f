// kl() of one pair on its two newer paths, at every length near a threshold, against values
// known in closed form (not computed by the library): kl(p, q) without options (a shorter
// path for two typed arrays of one type within a chunk: 4096 doubles, 8192 floats), and
// kl(p, q, { normalize: false }) of two Float32Arrays (the f32 kernel's ΣT + Σ(p − q) where
// its rounding stays below 1e-6 of the result, the f64 kernel elsewhere). Inputs take two
// values per side, (a, b) at every third index and (c, d) elsewhere, so Σ p·ln(p/q) is
// kA·a·ln(a/b) + kC·c·ln(c/d) exactly; each runs as a whole array and as an odd-offset
// subarray (sentinel-filled buffer, which must not change), on both backends.
import { beforeAll, describe, expect, it } from "vitest";
import { init, kl, useBackend, type Backend } from "../src/index.js";
import { TYPES } from "./input-types.js";

const selected = await init();
const BACKENDS: Backend[] = selected === "wasm-simd" ? ["wasm-simd", "js"] : ["js"];
beforeAll(() => init());

const LENGTHS = [...Array(68).keys()].slice(1).concat([4095, 4096, 4097, 8191, 8192, 8193]);
// far (a/b = 7/3) and near (c/d = 1.1) values, exact in f32; "cancelling": terms of both
// signs whose sum is ~6× smaller than they are (the f32 kernel must hand it to f64)
const SETS = {
  positive: [0.7, 0.3, 1.1, 1],
  cancelling: [0.3, 0.7, 1.1, 1],
} as Record<string, number[]>;

function pair(n: number, [a, b, c, d]: number[]): { p: number[]; q: number[]; plain: number; normalised: number } {
  [a, b, c, d] = [a, b, c, d].map(Math.fround) as [number, number, number, number];
  const p: number[] = [], q: number[] = [];
  for (let i = 0; i < n; i++) {
    p.push(i % 3 === 0 ? a : c);
    q.push(i % 3 === 0 ? b : d);
  }
  const kA = Math.ceil(n / 3), kC = n - kA;
  const plain = kA * a * Math.log(a / b) + kC * c * Math.log(c / d);
  const P = kA * a + kC * c, Q = kA * b + kC * d;
  // Σ (p/P)·ln((p/P)/(q/Q)) by its two kinds of term, each ratio rounded twice
  const normalised = ((kA * a) / P) * Math.log((a * Q) / (b * P)) + ((kC * c) / P) * Math.log((c * Q) / (d * P));
  return { p, q, plain, normalised };
}

for (const backend of BACKENDS) {
  for (const type of TYPES.filter((t) => t.name !== "number[]")) {
    describe(`${backend}, ${type.name}`, () => {
      it.each(Object.keys(SETS))("%s values, every length near a threshold", (set) => {
        useBackend(backend);
        // two Float32Arrays: the f32 kernel's 1e-6 (normalised, and unnormalised where kept)
        const rel = type.f32 && backend === "wasm-simd" ? 1e-6 : 1e-12;
        for (const n of LENGTHS) {
          const { p, q, plain, normalised } = pair(n, SETS[set]!);
          const P = type.make(p), Q = type.make(q);
          const before = [...(P.owner as Float64Array)].concat([...(Q.owner as Float64Array)]);
          const where = `${set}, n = ${n}`;
          const got = kl(P.arg, Q.arg);
          expect(Math.abs(got - normalised), `${where}: kl(p, q) = ${got}, exact ${normalised}`).toBeLessThanOrEqual(rel * Math.abs(normalised));
          expect(kl(P.arg, Q.arg, { normalize: true }), `${where}: with and without options`).toBe(got);
          const unnormalised = kl(P.arg, Q.arg, { normalize: false });
          // a sum that cancels beyond the f32 kernel's budget (docs/semantics.md: each f32 term
          // within 6e-7 of T = p·ln(p/q) − p + q, and 1e-6 of the result) runs on the f64 kernel:
          // 1e-12. Cancelling rows of n ≥ 11 all exceed it (by 1.07–2.1×); shorter ones may not.
          const T = plain - p.reduce((x, y) => x + Math.fround(y), 0) + q.reduce((x, y) => x + Math.fround(y), 0);
          const plainRel = 6e-7 * T > 1e-6 * Math.abs(plain) ? 1e-12 : rel;
          if (set === "cancelling" && n >= 11) expect(plainRel, `${where}: cancels beyond the f32 budget`).toBe(1e-12);
          expect(Math.abs(unnormalised - plain), `${where}: normalize:false = ${unnormalised}, exact ${plain}`).toBeLessThanOrEqual(plainRel * Math.abs(plain));
          expect([...(P.owner as Float64Array)].concat([...(Q.owner as Float64Array)]), `${where}: inputs unchanged`).toEqual(before);
        }
      });
    });
  }
}

describe("kl(p, q) without options keeps every check of the general path", () => {
  it.each(BACKENDS)("%s", (backend) => {
    useBackend(backend);
    const f = (v: number[]) => new Float64Array(v);
    expect(() => kl(f([1, 2]), f([1]))).toThrow(expect.objectContaining({ code: "KL_LENGTH_MISMATCH" }));
    expect(() => kl(f([]), f([]))).toThrow(expect.objectContaining({ code: "KL_EMPTY" }));
    expect(() => kl(f([0, 0]), f([1, 1]))).toThrow(expect.objectContaining({ code: "KL_ZERO_SUM" }));
    expect(() => kl(f([1, -0.5]), f([1, 1]))).toThrow(expect.objectContaining({ code: "KL_NEGATIVE", message: "p[1] is -0.5; values must be ≥ 0" }));
    expect(() => kl(new Float32Array([1, NaN]), new Float32Array([1, 1]))).toThrow(expect.objectContaining({ code: "KL_NAN" }));
    expect(() => kl(new Float32Array([1, 1]), new Float64Array([1, Infinity]))).toThrow(expect.objectContaining({ code: "KL_INFINITE" }));
    expect(kl(f([1, 1]), f([1, 0]))).toBe(Infinity);
    expect(kl(new Float32Array([1, 1]), new Float32Array([2, 2]))).toBe(0);
    const buffer = new Float64Array([1, 2]);
    structuredClone(buffer.buffer, { transfer: [buffer.buffer] });
    expect(() => kl(buffer, f([1, 2]))).toThrow(expect.objectContaining({ code: "KL_DETACHED" }));
    // normalize:false of Float32Arrays: +Infinity where q = 0 under p; float sums cannot
    // overflow a double, so the largest floats give the exact finite sum
    expect(kl(new Float32Array([1, 2]), new Float32Array([0, 1]), { normalize: false })).toBe(Infinity);
    const max = Math.fround(3e38), tiny = Math.fround(1e-30);
    const huge = kl(new Float32Array(8200).fill(max), new Float32Array(8200).fill(tiny), { normalize: false });
    expect(Math.abs(huge / (8200 * max * Math.log(max / tiny)) - 1)).toBeLessThanOrEqual(1e-6);
  });
});
