// The Rényi divergence of issue 9: renyi(p, q, { alpha }), score("renyi", …), pairwise("renyi",
// …), topK("renyi", …) against the mpmath oracle in test/fixtures/renyi-cases.json (made by
// test/fixtures/generate_renyi.py; regenerate with `npm run fixtures:renyi`; the contract and
// the case schema are in that script's docstring), and its typed errors.
//
// Every case runs on both backends (wasm-simd only where init() selected it) and on:
//   kind "f64": Float64Array, number[], a Float64Array subarray at an odd offset (bound 1e-12)
//   kind "f32": Float32Array (1e-6), a Float32Array subarray at an odd offset (1e-6) and a
//               Float64Array of the same exact values (1e-12)
// |got - e| <= bound * |e| + 1e-300; Infinity exactly; identical inputs exactly 0; NaN never;
// inputs unchanged after the call; score("renyi", …) equal to renyi(…).
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { TYPES, type Input, type Kind, type Made } from "./input-types.js";
import { thrown } from "./thrown.js";
import * as KL from "../src/index.js";
import { WASM, type Backend } from "./backends.js";

type StoredVector = Array<number | "-Infinity"> | { b64: string; enc: "f64le" | "f32le" };
type Num = number | "Infinity";
type Expected = Num | Num[] | { indices: number[]; scores: Num[] };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFn = (...args: any[]) => any;

interface RawCase {
  name: string;
  category: string;
  kind: Kind;
  call: "pair" | "pairwise" | "topK";
  args: Record<string, StoredVector>;
  options: Record<string, unknown>;
  alphas: Num[];
  expected: Expected[];
  identical?: boolean;
  near?: boolean;
}
interface Case extends Omit<RawCase, "args"> {
  args: Record<string, number[]>;
}

// renyi is new in issue 9: looked up at run time so that every test reports its own failure
// (a missing export fails each test with "renyi is not a function", not the whole file)
const api = KL as unknown as Record<string, AnyFn>;
const renyi: AnyFn = (...a) => {
  if (typeof api.renyi !== "function") throw new Error("renyi is not exported by src/index.ts");
  return api.renyi(...a);
};
const { init, useBackend, score, pairwise, topK, kl, KLRangeError, KLTypeError } = KL;

const REL_F64 = 1e-12;
const REL_F32 = 1e-6;
const ABS_FLOOR = 1e-300;

function decode(v: StoredVector): number[] {
  if (Array.isArray(v)) return v.map((x) => (x === "-Infinity" ? -Infinity : x));
  const bytes = Buffer.from(v.b64, "base64");
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return Array.from(v.enc === "f64le" ? new Float64Array(buffer) : new Float32Array(buffer));
}

const doc = JSON.parse(readFileSync(new URL("./fixtures/renyi-cases.json", import.meta.url), "utf8")) as { cases: RawCase[] };
const cases: Case[] = doc.cases.map((c) => {
  const args: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(c.args)) {
    args[k] = decode(v);
    if (c.kind === "f32" && !args[k].every((x) => Math.fround(x) === x)) throw new Error(`fixture ${c.name}: ${k} not float32`);
  }
  return { ...c, args };
});


function num(e: Num): number {
  return e === "Infinity" ? Infinity : e;
}
function alphaOf(a: Num): number {
  return a === "Infinity" ? Infinity : a;
}

function checkScalar(got: unknown, e: number, bound: number, exactZero: boolean): string | null {
  if (typeof got !== "number") return `expected a number, got ${String(got)}`;
  if (Number.isNaN(got)) return `NaN (expected ${e})`;
  if (e === Infinity) return got === Infinity ? null : `expected Infinity, got ${got}`;
  if (exactZero) return got === 0 ? null : `expected exactly 0 (identical inputs), got ${got}`;
  const err = Math.abs(got - e);
  return err <= bound * Math.abs(e) + ABS_FLOOR ? null : `expected ${e}, got ${got}, relative error ${(err / Math.abs(e)).toExponential(2)} > ${bound}`;
}
function checkArray(got: unknown, e: Num[], bound: number, exactZero: boolean): string | null {
  if (!(got instanceof Float64Array)) return `expected a Float64Array, got ${String(got)}`;
  if (got.length !== e.length) return `expected length ${e.length}, got ${got.length}`;
  for (let i = 0; i < e.length; i++) {
    const p = checkScalar(got[i], num(e[i]), bound, exactZero);
    if (p !== null) return `[${i}] ${p}`;
  }
  return null;
}
function check(got: unknown, e: Expected, bound: number, exactZero: boolean): string | null {
  if (Array.isArray(e)) return checkArray(got, e, bound, exactZero);
  if (typeof e === "object") {
    const g = got as { indices?: unknown; scores?: unknown } | null;
    if (g === null || typeof g !== "object" || !(g.indices instanceof Int32Array)) return `expected {indices: Int32Array, scores}, got ${String(got)}`;
    const idx = Array.from(g.indices);
    if (idx.join() !== e.indices.join()) return `indices: expected [${e.indices.join(", ")}], got [${idx.join(", ")}]`;
    const s = checkArray(g.scores, e.scores, bound, false);
    return s === null ? null : `scores${s}`;
  }
  return checkScalar(got, num(e), bound, exactZero);
}
function same(x: unknown, y: unknown): boolean {
  if (x instanceof Float64Array && y instanceof Float64Array) return x.length === y.length && x.every((v, i) => Object.is(v, y[i]));
  return Object.is(x, y);
}

const selected = await init();
const BACKENDS: Backend[] = [WASM, "js"];
beforeAll(async () => {
  await init();
});

function optionsFor(c: Case, alpha: number): Record<string, unknown> {
  const o: Record<string, unknown> = { ...c.options, alpha };
  if (Array.isArray(o.weights)) o.weights = (o.weights as number[]).slice();
  if (typeof o.smoothing === "object" && o.smoothing !== null) o.smoothing = { ...o.smoothing };
  if (typeof o.input === "object" && o.input !== null) o.input = { ...o.input };
  return o;
}

describe("renyi oracle", () => {
  it("the fixture has the cases the issue asks for", () => {
    const cats = new Set(cases.map((c) => c.category));
    for (const k of ["random", "identical", "near", "zeros", "extreme", "logits", "logprob", "base", "batch", "pairwise", "topK"]) expect(cats).toContain(k);
    expect(cases.filter((c) => c.near).length).toBeGreaterThanOrEqual(10);
  });

  for (const backendName of BACKENDS) {
    describe.skipIf(backendName === WASM && selected !== WASM)(`${backendName} backend`, () => {
      for (const type of TYPES) {
        describe(type.name, () => {
          it.each(cases.filter((c) => c.kind === type.kind))("$name", (c) => {
            useBackend(backendName);
            const made: Record<string, Made> = {};
            const args: Record<string, Input> = {};
            for (const [k, v] of Object.entries(c.args)) {
              made[k] = type.make(v);
              args[k] = made[k].arg;
            }
            const before = Object.fromEntries(Object.entries(made).map(([k, m]) => [k, Array.from(m.owner)]));
            const bound = type.f32 ? REL_F32 : REL_F64;
            const problems: string[] = [];
            c.alphas.forEach((a, j) => {
              const alpha = alphaOf(a);
              let got: unknown;
              let viaScore: unknown;
              try {
                if (c.call === "pair") {
                  got = renyi(args.p, args.q, optionsFor(c, alpha));
                  viaScore = (score as AnyFn)("renyi", args.p, args.q, optionsFor(c, alpha));
                } else if (c.call === "pairwise") {
                  got = (pairwise as AnyFn)("renyi", args.A, args.B, optionsFor(c, alpha));
                } else {
                  got = (topK as AnyFn)("renyi", args.queries, args.candidates, optionsFor(c, alpha));
                }
              } catch (error) {
                problems.push(`alpha ${alpha}: threw ${String(error)}`);
                return;
              }
              const p = check(got, c.expected[j], bound, c.identical === true);
              if (p !== null) problems.push(`alpha ${alpha}: ${p}`);
              if (viaScore !== undefined && !same(viaScore, got)) problems.push(`alpha ${alpha}: score("renyi") gave ${String(viaScore)}, renyi() ${String(got)}`);
            });
            for (const [k, m] of Object.entries(made)) {
              if (!Array.from(m.owner).every((x, i) => Object.is(x, before[k][i]))) problems.push(`${k} was modified`);
            }
            expect(problems, `${c.name} [${backendName}, ${type.name}]`).toEqual([]);
          });
        });
      }
    });
  }
});

// ---------------------------------------------------------------------------------------
// semantics that need no fixture: alpha = 1 is kl(), the errors

function expectError(f: () => unknown, cls: "range" | "type", code: string, message: RegExp[]): void {
  const e = thrown(f) as { code?: unknown; message?: unknown } | undefined;
  expect(e, "did not throw").toBeDefined();
  if (cls === "range") {
    expect(e).toBeInstanceOf(KLRangeError);
    expect(e).toBeInstanceOf(RangeError);
  } else {
    expect(e).toBeInstanceOf(KLTypeError);
    expect(e).toBeInstanceOf(TypeError);
  }
  expect(e!.code, String(e!.message)).toBe(code);
  for (const re of message) expect(String(e!.message)).toMatch(re);
}

const P = [0.1, 0.2, 0.3, 0.4];
const Q = [0.25, 0.25, 0.25, 0.25];

describe("renyi semantics and errors", () => {
  for (const backendName of BACKENDS) {
    describe.skipIf(backendName === WASM && selected !== WASM)(`${backendName} backend`, () => {
      it("alpha = 1 equals kl() (both are the oracle's KL; rel 1e-14)", () => {
        useBackend(backendName);
        // D_1([0.1,0.2,0.3,0.4] || uniform) = 0.10644013528622314954… (mpmath, dps 50: sum a ln(4a), a normalised by the exact sum)
        const e = 0.10644013528622315;
        const r = renyi(P, Q, { alpha: 1 }) as number;
        expect(Math.abs(r - e)).toBeLessThanOrEqual(1e-14 * e);
        expect(Math.abs((kl(P, Q) as number) - e)).toBeLessThanOrEqual(1e-14 * e);
      });

      it("missing alpha: KLRangeError KL_BAD_OPTION naming options.alpha", () => {
        useBackend(backendName);
        expectError(() => renyi(P, Q), "range", "KL_BAD_OPTION", [/options\.alpha/]);
        expectError(() => renyi(P, Q, {}), "range", "KL_BAD_OPTION", [/options\.alpha/]);
        expectError(() => (score as AnyFn)("renyi", P, Q, {}), "range", "KL_BAD_OPTION", [/options\.alpha/]);
        expectError(() => (pairwise as AnyFn)("renyi", P, Q, { dim: 4 }), "range", "KL_BAD_OPTION", [/options\.alpha/]);
        expectError(() => (topK as AnyFn)("renyi", P, Q, { dim: 4, k: 1 }), "range", "KL_BAD_OPTION", [/options\.alpha/]);
      });

      for (const [alpha, shown] of [[0, /\b0\b/], [-1, /-1/], [-Infinity, /-Infinity/], [NaN, /NaN/]] as Array<[number, RegExp]>) {
        it(`alpha ${alpha}: KLRangeError KL_BAD_OPTION naming options.alpha and the value`, () => {
          useBackend(backendName);
          expectError(() => renyi(P, Q, { alpha }), "range", "KL_BAD_OPTION", [/options\.alpha/, shown]);
          expectError(() => (score as AnyFn)("renyi", P, Q, { alpha }), "range", "KL_BAD_OPTION", [/options\.alpha/, shown]);
        });
      }

      for (const alpha of ["2", null, true, [2], 2n]) {
        it(`alpha ${typeof alpha} ${String(alpha)}: KLTypeError KL_BAD_OPTION naming options.alpha`, () => {
          useBackend(backendName);
          expectError(() => renyi(P, Q, { alpha }), "type", "KL_BAD_OPTION", [/options\.alpha/]);
        });
      }

      it("alpha given to another measure: KL_BAD_OPTION naming options.alpha and renyi", () => {
        useBackend(backendName);
        for (const name of ["kl", "crossEntropy", "jsDivergence", "jsDistance", "jeffreys", "psi", "generalizedKL", "hellinger", "totalVariation"]) {
          const e = thrown(() => api[name](P, Q, { alpha: 2 })) as { code?: unknown; message?: unknown } | undefined;
          expect(e, `${name}({ alpha: 2 }) did not throw`).toBeDefined();
          expect(e!.code, `${name}: ${String(e!.message)}`).toBe("KL_BAD_OPTION");
          expect(String(e!.message), name).toMatch(/options\.alpha/);
          expect(String(e!.message), name).toMatch(/renyi/);
          const s = thrown(() => (score as AnyFn)(name, P, Q, { alpha: 2 })) as { code?: unknown } | undefined;
          expect(s?.code, `score("${name}", { alpha })`).toBe("KL_BAD_OPTION");
        }
        expectError(() => (KL.entropy as AnyFn)(P, { alpha: 2 }), "range", "KL_BAD_OPTION", [/options\.alpha/, /renyi/]);
        expectError(() => (pairwise as AnyFn)("kl", P, Q, { dim: 4, alpha: 2 }), "range", "KL_BAD_OPTION", [/options\.alpha/, /renyi/]);
      });

      it("typed errors of the inputs, as every measure", () => {
        useBackend(backendName);
        expectError(() => renyi([0.5, -0.5], [0.5, 0.5], { alpha: 2 }), "range", "KL_NEGATIVE", [/\bp\[1\]/, /-0\.5/]);
        expectError(() => renyi([0.5, 0.5], [0.5, NaN], { alpha: 0.5 }), "range", "KL_NAN", [/\bq\[1\]/, /NaN/]);
        expectError(() => renyi([0.5, 0.5], [0.5, 0.25, 0.25], { alpha: 2 }), "range", "KL_LENGTH_MISMATCH", [/2/, /3/]);
        expectError(() => renyi([0.5, 0.5], [0.5, 0.5], { alpha: 2, base: 1 }), "range", "KL_BAD_OPTION", [/base/]);
      });
    });
  }
});
