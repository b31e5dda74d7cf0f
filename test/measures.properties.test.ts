// Property tests of issue 9 for every measure × input kind × element type × batch shape
// (fast-check, fixed seed, a few runs each):
//   (a) the SIMD backend equals the JS backend to 1e-12 relative (1e-6 where both sides are
//       Float32Array). This "JS twin" check compares two implementations of the library with
//       each other; it is allowed here because the JS path is itself checked against mpmath
//       (test/scores.test.ts, test/renyi.test.ts). In the no-SIMD run (KL_NO_SIMD=1) only the
//       JS backend runs and (a) is skipped;
//   (b) the documented range holds exactly: jsDivergence in [0, ln 2] (base 2: [0, 1]),
//       jsDistance in [0, sqrt(ln 2)] (base 2: [0, 1]), hellinger and totalVariation in [0, 1],
//       every other measure >= 0 (crossEntropy and entropy too: the sides are normalised
//       probabilities), never NaN;
//   (c) the inputs are unchanged.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as KL from "../src/index.js";
import { WASM, type Backend } from "./backends.js";

type Kind = "probabilities" | "log-probabilities" | "logits";
type Elem = "Float64Array" | "Float32Array" | "number[]";
type Shape = "single" | "rows" | "p-broadcast" | "q-broadcast";
type Input = Float64Array | Float32Array | number[];
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFn = (...args: any[]) => any;

const api = KL as unknown as Record<string, AnyFn>;
const selected = await KL.init();
const SIMD = selected === WASM;

const MEASURES = ["kl", "crossEntropy", "jsDivergence", "jsDistance", "jeffreys", "psi", "generalizedKL", "hellinger", "totalVariation", "renyi", "entropy"];
const KINDS: Kind[] = ["probabilities", "log-probabilities", "logits"];
const ELEMS: Elem[] = ["Float64Array", "Float32Array", "number[]"];
const SHAPES: Shape[] = ["single", "rows", "p-broadcast", "q-broadcast"];
const SEED = 20261204;
const RUNS = 6;

function element(kind: Kind): fc.Arbitrary<number> {
  if (kind === "probabilities") {
    return fc.oneof(
      { weight: 1, arbitrary: fc.constant(0) },
      { weight: 6, arbitrary: fc.double({ min: 1e-3, max: 1e3, noNaN: true }) },
      { weight: 2, arbitrary: fc.double({ min: 1e-30, max: 1e-3, noNaN: true }) },
    );
  }
  if (kind === "log-probabilities") {
    return fc.oneof({ weight: 1, arbitrary: fc.constant(-Infinity) }, { weight: 8, arbitrary: fc.double({ min: -60, max: 0, noNaN: true }) });
  }
  return fc.oneof({ weight: 1, arbitrary: fc.constant(-Infinity) }, { weight: 8, arbitrary: fc.double({ min: -30, max: 30, noNaN: true }) });
}

interface Data {
  p: number[];
  q: number[] | null;
  dim: number;
  alpha: number;
  base2: boolean;
}

/** every row keeps some mass: a row of zeros (or of -Infinity) gets a 1 (or a 0) at column 0 */
function fixRows(values: number[], dim: number, kind: Kind, f32: boolean): number[] {
  const v = values.map((x) => (f32 ? Math.fround(x) : x));
  for (let r = 0; r < v.length; r += dim) {
    const row = v.slice(r, r + dim);
    const dead = kind === "probabilities" ? row.every((x) => x === 0) : row.every((x) => x === -Infinity);
    if (dead) v[r] = kind === "probabilities" ? 1 : 0;
  }
  return v;
}

function data(measure: string, kind: Kind, shape: Shape, f32: boolean): fc.Arbitrary<Data> {
  return fc
    .record({
      dim: fc.integer({ min: 1, max: 40 }),
      rows: fc.integer({ min: 2, max: 4 }),
      alpha: fc.constantFrom(0.25, 0.5, 0.999, 1, 2, 7, Infinity),
      base2: fc.boolean(),
      seedP: fc.array(element(kind), { minLength: 160, maxLength: 160 }),
      seedQ: fc.array(element(kind), { minLength: 160, maxLength: 160 }),
    })
    .map(({ dim, rows, alpha, base2, seedP, seedQ }) => {
      const pRows = shape === "single" || shape === "p-broadcast" ? 1 : rows;
      const qRows = shape === "single" || shape === "q-broadcast" ? 1 : rows;
      const p = fixRows(seedP.slice(0, pRows * dim), dim, kind, f32);
      const q = measure === "entropy" ? null : fixRows(seedQ.slice(0, qRows * dim), dim, kind, f32);
      return { p, q, dim, alpha, base2 };
    });
}

function make(values: number[], elem: Elem): Input {
  if (elem === "Float64Array") return Float64Array.from(values);
  if (elem === "Float32Array") return Float32Array.from(values);
  return values.slice();
}

function optionsFor(measure: string, kind: Kind, shape: Shape, d: Data): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (kind !== "probabilities") o.input = kind;
  if (kind === "logits") o.temperature = 0.5;
  if (shape !== "single") o.dim = d.dim;
  if (shape === "q-broadcast") o.reduction = "mean";
  if (measure === "renyi") o.alpha = d.alpha;
  if (d.base2 && measure !== "hellinger" && measure !== "totalVariation") o.base = 2;
  // generalizedKL defaults to normalize: false; compare it on normalised sides so that every
  // input kind gives probabilities (>= 0 holds either way)
  if (measure === "generalizedKL" && kind === "probabilities") o.normalize = true;
  return o;
}

function call(measure: string, p: Input, q: Input | null, o: Record<string, unknown>): unknown {
  const fn = api[measure];
  if (typeof fn !== "function") throw new Error(`${measure} is not exported by src/index.ts`);
  return measure === "entropy" ? fn(p, { ...o }) : fn(p, q, { ...o });
}

function values(r: unknown): number[] {
  if (typeof r === "number") return [r];
  if (r instanceof Float64Array) return Array.from(r);
  throw new Error(`expected a number or a Float64Array, got ${String(r)}`);
}

function range(measure: string, base2: boolean): [number, number] {
  switch (measure) {
    case "jsDivergence":
      return [0, base2 ? 1 : Math.LN2];
    case "jsDistance":
      return [0, base2 ? 1 : Math.sqrt(Math.LN2)];
    case "hellinger":
    case "totalVariation":
      return [0, 1];
    default:
      return [0, Infinity];
  }
}

describe("every measure × input kind × element type × batch shape", () => {
  for (const measure of MEASURES) {
    describe(measure, () => {
      for (const kind of KINDS) {
        for (const elem of ELEMS) {
          for (const shape of SHAPES) {
            if (measure === "entropy" && shape !== "single" && shape !== "rows") continue;
            const f32 = elem === "Float32Array";
            it(`${kind}, ${elem}, ${shape}`, () => {
              fc.assert(
                fc.property(data(measure, kind, shape, f32), (d) => {
                  const o = optionsFor(measure, kind, shape, d);
                  const p = make(d.p, elem);
                  const q = d.q === null ? null : make(d.q, elem);
                  const beforeP = Array.from(p);
                  const beforeQ = q === null ? null : Array.from(q);
                  const results: Partial<Record<Backend, number[]>> = {};
                  for (const b of (SIMD ? ["js", WASM] : ["js"]) as Backend[]) {
                    KL.useBackend(b);
                    results[b] = values(call(measure, p, q, o));
                    // (c) unchanged
                    expect(Array.from(p).every((x, i) => Object.is(x, beforeP[i])), `${b}: p was modified`).toBe(true);
                    if (q !== null) expect(Array.from(q).every((x, i) => Object.is(x, beforeQ![i])), `${b}: q was modified`).toBe(true);
                    // (b) range, never NaN
                    const [lo, hi] = range(measure, d.base2 && measure !== "hellinger" && measure !== "totalVariation");
                    for (const v of results[b]!) {
                      expect(Number.isNaN(v), `${b}: NaN`).toBe(false);
                      expect(v >= lo && v <= hi, `${b}: ${v} not in [${lo}, ${hi}]`).toBe(true);
                    }
                  }
                  // (a) the JS twin
                  if (SIMD) {
                    const js = results.js!;
                    const simd = results[WASM]!;
                    expect(simd.length).toBe(js.length);
                    const bound = f32 ? 1e-6 : 1e-12;
                    simd.forEach((x, i) => {
                      if (x === Infinity || js[i] === Infinity) {
                        expect(x, `[${i}] simd ${x}, js ${js[i]}`).toBe(js[i]);
                        return;
                      }
                      expect(Math.abs(x - js[i]), `[${i}] simd ${x}, js ${js[i]}`).toBeLessThanOrEqual(bound * Math.max(Math.abs(x), Math.abs(js[i])) + 1e-300);
                    });
                  }
                }),
                { seed: SEED, numRuns: RUNS },
              );
            });
          }
        }
      }
    });
  }
});
