// Checks the scoring API of issue 3 (entropy, crossEntropy, kl, jsDivergence, jsDistance, jeffreys,
// psi, generalizedKL, hellinger, totalVariation, gaussianKL, klTerms, pairwise, topK, score)
// against the independent high-precision oracle in test/fixtures/score-cases.json (made by
// test/fixtures/generate_scores.py with mpmath; regenerate with `npm run fixtures:scores`; the
// case schema and the definitions are in that script's docstring).
//
// Every case runs on both backends and on several element types:
//   kind "f64": Float64Array, number[], Float64Array subarray at an odd offset   (bound 1e-12)
//   kind "f32": Float32Array (bound 1e-6), the same as a subarray at an odd offset (1e-6), and
//               Float64Array of the same exact values (bound 1e-12)
// Bounds: |got - e| <= bound * |e| + 1e-300 (klTerms: bound * (|e| + a_i), see klTermsScale);
// an expected 0 allows |got| <= 1e-300, and must be exactly 0 for identical inputs (kl,
// jsDivergence, jsDistance, jeffreys, psi, hellinger, totalVariation, every klTerms term);
// Infinity must be exactly Infinity; NaN never; results with dim and reduction "none", klTerms
// and pairwise are Float64Arrays compared element-wise; topK indices must be exactly equal.
// Inputs (and options.weights) must be unchanged after every call. score(name, ...) must give
// the same as the named function.
//
// The second part checks the typed errors: class, code, and a message naming the argument,
// the index (and row / column in batches) and the value.
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TYPES, type Input, type Kind, type Made } from "./input-types.js";
import { thrown } from "./thrown.js";
import {
  crossEntropy,
  entropy,
  gaussianKL,
  generalizedKL,
  hellinger,
  init,
  jeffreys,
  jsDistance,
  jsDivergence,
  kl,
  klTerms,
  KLRangeError,
  KLTypeError,
  pairwise,
  psi,
  score,
  topK,
  totalVariation,
  useBackend,
} from "../src/index.js";
import { WASM, type Backend } from "./backends.js";

type Call = "pair" | "pairwise" | "topK" | "gaussian";
type StoredVector = Array<number | "-Infinity"> | { b64: string; enc: "f64le" | "f32le" };
type Expected = number | "Infinity" | Array<number | "Infinity"> | { indices: number[]; scores: Array<number | "Infinity"> };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFn = (...args: any[]) => unknown;

interface RawCase {
  name: string;
  category: string;
  kind: Kind;
  call: Call;
  args: Record<string, StoredVector>;
  options: Record<string, unknown>;
  expected: Record<string, Expected>;
  identical?: boolean;
  near?: boolean;
  note?: string;
  klTermsScale?: number[];
}

interface Case extends Omit<RawCase, "args"> {
  args: Record<string, number[]>;
}

// The functions by the names the fixtures use (this table also makes the type check fail
// until every function of the spec is exported).
const FUNCTIONS: Record<string, AnyFn> = {
  entropy,
  crossEntropy,
  kl,
  jsDivergence,
  jsDistance,
  jeffreys,
  psi,
  generalizedKL,
  hellinger,
  totalVariation,
  klTerms,
  gaussianKL,
};
// the names score() / pairwise() / topK() take
const SCORE_NAMES = new Set(["kl", "crossEntropy", "jsDivergence", "jsDistance", "jeffreys", "psi", "generalizedKL", "hellinger", "totalVariation"]);
const EXACT_ZERO = new Set(["kl", "jsDivergence", "jsDistance", "jeffreys", "psi", "hellinger", "totalVariation", "klTerms"]);

const REL_F64 = 1e-12;
const REL_F32 = 1e-6;
const ABS_FLOOR = 1e-300;

function decode(v: StoredVector): number[] {
  if (Array.isArray(v)) return v.map((x) => (x === "-Infinity" ? -Infinity : x));
  const bytes = Buffer.from(v.b64, "base64");
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return Array.from(v.enc === "f64le" ? new Float64Array(buffer) : new Float32Array(buffer));
}

function load(): Case[] {
  const file = new URL("./fixtures/score-cases.json", import.meta.url);
  const doc = JSON.parse(readFileSync(file, "utf8")) as { cases: RawCase[] };
  return doc.cases.map((c) => {
    const args: Record<string, number[]> = {};
    for (const [k, v] of Object.entries(c.args)) {
      args[k] = decode(v);
      if (c.kind === "f32" && !args[k].every((x) => Math.fround(x) === x)) {
        throw new Error(`fixture ${c.name}: ${k} is not representable as float32`);
      }
    }
    return { ...c, args };
  });
}

const cases = load();


function snapshot(owner: Input): number[] {
  return Array.from(owner);
}
function unchanged(owner: Input, before: number[]): boolean {
  if (owner.length !== before.length) return false;
  for (let i = 0; i < owner.length; i++) if (!Object.is(owner[i], before[i])) return false;
  return true;
}

// ---------------------------------------------------------------------------------------
// comparison

interface Check {
  ok: boolean;
  rel: number; // for the summary (0 where not applicable)
  detail: string;
}

function expectedNumber(e: number | "Infinity"): number {
  return e === "Infinity" ? Infinity : e;
}

/** one scalar: `scale` widens the bound for klTerms terms */
function compareScalar(got: unknown, e: number, bound: number, exactZero: boolean, scale = 0): Check {
  if (typeof got !== "number") return { ok: false, rel: Infinity, detail: `expected a number, got ${String(got)}` };
  if (Number.isNaN(got)) return { ok: false, rel: Infinity, detail: `NaN (expected ${e})` };
  if (e === Infinity) return { ok: got === Infinity, rel: 0, detail: `expected Infinity, got ${got}` };
  if (e === 0) {
    if (exactZero) return { ok: got === 0, rel: 0, detail: `expected exactly 0 (identical inputs), got ${got}` };
    // a klTerms term with a_i = b_i (e.g. both smoothed from 0) is as exact as a_i, b_i are
    const tol = bound * scale + ABS_FLOOR;
    return { ok: Math.abs(got) <= tol, rel: 0, detail: `expected 0, got ${got} (allowed ${tol})` };
  }
  const err = Math.abs(got - e);
  const rel = err / (Math.abs(e) + scale);
  const ok = err <= bound * (Math.abs(e) + scale) + ABS_FLOOR;
  return { ok, rel: Number.isNaN(rel) ? Infinity : rel, detail: `expected ${e}, got ${got}, relative error ${rel.toExponential(2)} > ${bound}` };
}

function compareArray(got: unknown, e: Array<number | "Infinity">, bound: number, exactZero: boolean, scale?: number[]): Check {
  if (!(got instanceof Float64Array)) return { ok: false, rel: Infinity, detail: `expected a Float64Array, got ${describeValue(got)}` };
  if (got.length !== e.length) return { ok: false, rel: Infinity, detail: `expected length ${e.length}, got ${got.length}` };
  let worst: Check = { ok: true, rel: 0, detail: "" };
  for (let i = 0; i < e.length; i++) {
    const c = compareScalar(got[i], expectedNumber(e[i]), bound, exactZero, scale?.[i] ?? 0);
    if (!c.ok) return { ok: false, rel: c.rel, detail: `[${i}] ${c.detail}` };
    if (c.rel > worst.rel) worst = c;
  }
  return worst;
}

function compare(got: unknown, e: Expected, bound: number, exactZero: boolean, scale?: number[]): Check {
  if (Array.isArray(e)) return compareArray(got, e, bound, exactZero, scale);
  if (typeof e === "object") {
    const g = got as { indices?: unknown; scores?: unknown } | null;
    if (g === null || typeof g !== "object") return { ok: false, rel: Infinity, detail: `expected {indices, scores}, got ${describeValue(got)}` };
    if (!(g.indices instanceof Int32Array)) return { ok: false, rel: Infinity, detail: `indices: expected an Int32Array, got ${describeValue(g.indices)}` };
    const idx = Array.from(g.indices);
    if (idx.length !== e.indices.length || idx.some((x, i) => x !== e.indices[i])) {
      return { ok: false, rel: Infinity, detail: `indices: expected [${e.indices.join(", ")}], got [${idx.join(", ")}]` };
    }
    const s = compareArray(g.scores, e.scores, bound, false);
    return s.ok ? s : { ...s, detail: `scores${s.detail}` };
  }
  return compareScalar(got, expectedNumber(e), bound, exactZero);
}

function describeValue(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  if (typeof x === "object") return (x as object).constructor?.name ?? "an object";
  return `${typeof x} ${String(x)}`;
}

// ---------------------------------------------------------------------------------------
// running one case

interface Run {
  measure: string;
  got: unknown;
  viaScore?: unknown;
}

/** the options object for one call: a fresh copy; its weights (a number[]) are recorded */
function optionsFor(c: Case, passedWeights: number[][]): Record<string, unknown> {
  const o: Record<string, unknown> = { ...c.options };
  if (Array.isArray(o.weights)) {
    const w = (o.weights as number[]).slice();
    passedWeights.push(w);
    o.weights = w;
  }
  if (typeof o.smoothing === "object" && o.smoothing !== null) o.smoothing = { ...o.smoothing };
  if (typeof o.input === "object" && o.input !== null) o.input = { ...o.input };
  return o;
}

function runCase(c: Case, a: Record<string, Input>, passedWeights: number[][]): Run[] {
  const o = (): Record<string, unknown> => optionsFor(c, passedWeights);
  const runs: Run[] = [];
  if (c.call === "pair") {
    for (const m of Object.keys(c.expected)) {
      const got = m === "entropy" ? FUNCTIONS.entropy(a.p, o()) : FUNCTIONS[m](a.p, a.q, o());
      const viaScore = SCORE_NAMES.has(m) ? (score as AnyFn)(m, a.p, a.q, o()) : undefined;
      runs.push({ measure: m, got, viaScore });
    }
  } else if (c.call === "gaussian") {
    runs.push({ measure: "gaussianKL", got: FUNCTIONS.gaussianKL(a.mean1, a.var1, a.mean2, a.var2, o()) });
  } else if (c.call === "pairwise") {
    for (const m of Object.keys(c.expected)) runs.push({ measure: m, got: (pairwise as AnyFn)(m, a.A, a.B, o()) });
  } else {
    for (const m of Object.keys(c.expected)) runs.push({ measure: m, got: (topK as AnyFn)(m, a.queries, a.candidates, o()) });
  }
  return runs;
}

function sameResult(x: unknown, y: unknown): boolean {
  if (x instanceof Float64Array && y instanceof Float64Array) return x.length === y.length && x.every((v, i) => Object.is(v, y[i]));
  return Object.is(x, y);
}

// worst relative error per backend | type | measure, and every failure, for the summary
const worst = new Map<string, { rel: number; name: string; runs: number }>();
const failures: string[] = [];
const runsPerBackend = new Map<Backend, number>();

const selected: Backend = await init();
const BACKENDS: Backend[] = [WASM, "js"];

beforeAll(async () => {
  await init();
});

describe("score oracle", () => {
  for (const backendName of BACKENDS) {
    describe.skipIf(backendName === WASM && selected !== WASM)(`${backendName} backend`, () => {
      for (const type of TYPES) {
        const applicable = cases.filter((c) => c.kind === type.kind);
        describe(type.name, () => {
          it.each(applicable)("$name", (c) => {
            useBackend(backendName);
            const made: Record<string, Made> = {};
            const args: Record<string, Input> = {};
            for (const [name, values] of Object.entries(c.args)) {
              made[name] = type.make(values);
              args[name] = made[name].arg;
            }
            const before = Object.fromEntries(Object.entries(made).map(([k, m]) => [k, snapshot(m.owner)]));
            const passedWeights: number[][] = [];
            const runs = runCase(c, args, passedWeights);
            runsPerBackend.set(backendName, (runsPerBackend.get(backendName) ?? 0) + 1);
            const where = `${c.name} [${backendName}, ${type.name}]`;
            const problems: string[] = [];
            for (const [name, m] of Object.entries(made)) {
              if (!unchanged(m.owner, before[name])) problems.push(`${name} was modified`);
            }
            const weights = c.options.weights as number[] | undefined;
            for (const w of passedWeights) {
              if (weights === undefined || !unchanged(w, weights)) problems.push("options.weights was modified");
            }
            const bound = type.f32 ? REL_F32 : REL_F64;
            for (const r of runs) {
              const e = c.expected[r.measure];
              const exactZero = c.identical === true && EXACT_ZERO.has(r.measure);
              const check = compare(r.got, e, bound, exactZero, r.measure === "klTerms" ? c.klTermsScale : undefined);
              const key = `${backendName} | ${type.name} | ${c.call === "pair" || c.call === "gaussian" ? r.measure : `${c.call}:${r.measure}`}`;
              const w = worst.get(key) ?? { rel: 0, name: "-", runs: 0 };
              w.runs++;
              if (check.rel > w.rel && Number.isFinite(check.rel)) {
                w.rel = check.rel;
                w.name = c.name;
              }
              worst.set(key, w);
              if (!check.ok) problems.push(`${r.measure}: ${check.detail}`);
              if (r.viaScore !== undefined && !sameResult(r.viaScore, r.got)) {
                problems.push(`score("${r.measure}", ...) gave ${String(r.viaScore)}, ${r.measure}() gave ${String(r.got)}`);
              }
            }
            for (const p of problems) failures.push(`${where}: ${p}`);
            expect(problems, where).toEqual([]);
          });
        });
      }
    });
  }

  it("ran every case on the JS backend, and on wasm-simd where init() selected it", () => {
    const perBackend = TYPES.reduce((n, t) => n + cases.filter((c) => c.kind === t.kind).length, 0);
    expect(runsPerBackend.get("js")).toBe(perBackend);
    expect(runsPerBackend.get(WASM) ?? 0).toBe(selected === WASM ? perBackend : 0);
  });
});

afterAll(() => {
  const rows = [...worst.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, w]) => ({ "backend | type | measure": key, runs: w.runs, "worst rel. error": w.rel === 0 ? "0" : w.rel.toExponential(2), case: w.name }));
  const counts = new Map<string, number>();
  for (const c of cases) counts.set(c.category, (counts.get(c.category) ?? 0) + 1);
  console.log(
    `score oracle: ${cases.length} cases (${[...counts].map(([k, v]) => `${k}: ${v}`).join(", ")}); init() selected ${selected}`,
  );
  console.table(rows);
  // KL_WORST_JSON=path keeps the table for the README's accuracy section
  if (process.env.KL_WORST_JSON) writeFileSync(process.env.KL_WORST_JSON, JSON.stringify(rows, null, 1));
  if (failures.length > 0) console.log(`score oracle failures (${failures.length}):\n  ${failures.slice(0, 200).join("\n  ")}`);
});

// ---------------------------------------------------------------------------------------
// errors

type ErrorClass = "range" | "type" | "either";

interface BadCall {
  label: string;
  call: () => unknown;
  /** the arrays the call was given: unchanged afterwards */
  inputs: Input[];
  cls: ErrorClass;
  codes: string[]; // one of
  message: RegExp[]; // all must match
}

function esc(s: string): RegExp {
  return new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
}

const P5 = [0.1, 0.2, 0.3, 0.15, 0.25];
const Q5 = [0.3, 0.1, 0.2, 0.25, 0.15];

function at(values: number[], i: number, x: number): number[] {
  const v = values.slice();
  v[i] = x;
  return v;
}
function f64(v: number[]): Float64Array {
  return Float64Array.from(v);
}
function rowsOf(rows: number, dim: number, seed = 1): number[] {
  return Array.from({ length: rows * dim }, (_, i) => 0.1 + ((i * 7 + seed * 3) % 11) / 10);
}

/** the bad calls every two-vector function must reject */
function pairBadCalls(name: string, fn: AnyFn): BadCall[] {
  const norm = name === "generalizedKL" ? { normalize: true } : {};
  const list: BadCall[] = [];
  const add = (label: string, p: Input, q: Input | undefined, opts: Record<string, unknown>, cls: ErrorClass, codes: string[], message: RegExp[]) => {
    const inputs = q === undefined ? [p] : [p, q];
    list.push({ label, inputs, cls, codes, message, call: () => (q === undefined ? fn(p, opts) : fn(p, q, opts)) });
  };
  const single = name === "entropy";
  const two = (label: string, p: Input, q: Input, opts: Record<string, unknown>, cls: ErrorClass, codes: string[], message: RegExp[]) =>
    add(label, p, single ? undefined : q, opts, cls, codes, message);

  two("negative p element", f64(at(P5, 3, -0.5)), f64(Q5), norm, "range", ["KL_NEGATIVE"], [/\bp\[3\]/, /-0\.5/]);
  two("NaN p element (number[])", at(P5, 0, NaN), Q5.slice(), norm, "range", ["KL_NAN"], [/\bp\[0\]/, /NaN/]);
  two("+Infinity p element (Float32Array)", Float32Array.from(at(P5, 4, Infinity)), Float32Array.from(Q5), norm, "range", ["KL_INFINITE"], [/\bp\[4\]/, /Infinity/]);
  two("zero-sum p", f64([0, 0, 0, 0, 0]), f64(Q5), { normalize: true }, "range", ["KL_ZERO_SUM"], [/\bp\b/]);
  two("empty", new Float64Array(0), new Float64Array(0), norm, "range", ["KL_EMPTY"], []);
  add("p not an array", "abc" as unknown as Input, single ? undefined : f64(Q5), norm, "type", ["KL_NOT_ARRAY"], [/\bp\b/]);
  two("temperature 0", f64([1, -2, 3, 0.5, 0]), f64([0, 1, 2, -1, 0.5]), { input: "logits", temperature: 0 }, "range", ["KL_BAD_OPTION"], [/temperature/, /\b0\b/]);
  two("temperature -1", f64([1, -2, 3, 0.5, 0]), f64([0, 1, 2, -1, 0.5]), { input: "logits", temperature: -1 }, "range", ["KL_BAD_OPTION"], [/temperature/, /-1/]);
  two("unknown smoothing mode", f64(P5), f64(Q5), { smoothing: { mode: "laplace", epsilon: 1e-3 } }, "either", ["KL_BAD_OPTION"], [/smoothing/, /laplace/]);
  two("negative smoothing epsilon", f64(P5), f64(Q5), { smoothing: { mode: "additive", epsilon: -1e-3 } }, "range", ["KL_BAD_OPTION"], [/epsilon/, /-0\.001/]);
  two("unknown input kind", f64(P5), f64(Q5), { input: "logit" }, "either", ["KL_BAD_OPTION"], [/input/, /logit/]);
  two("NaN logit", f64([1, NaN, 3, 0.5, 0]), f64([0, 1, 2, -1, 0.5]), { input: "logits" }, "range", ["KL_NAN"], [/\bp\[1\]/, /NaN/]);
  two("+Infinity log-probability", f64([-1, -2, -3, Infinity, -0.5]), f64([-1, -2, -3, -1, -0.5]), { input: "log-probabilities" }, "range", ["KL_INFINITE"], [/\bp\[3\]/, /Infinity/]);
  // all logits -Infinity: no finite element, zero mass (KL_ZERO_SUM or KL_INFINITE accepted)
  two("all logits -Infinity", f64([-Infinity, -Infinity, -Infinity]), f64([0, 1, 2]), { input: "logits" }, "range", ["KL_ZERO_SUM", "KL_INFINITE"], [/\bp\b/]);
  // batches: the spec's message example
  const dim = 16;
  if (single) {
    two("batch: negative element, row and column named", f64(at(rowsOf(4, dim), 37, -0.1)), f64(rowsOf(4, dim)), { dim }, "range", ["KL_NEGATIVE"],
      [esc("p[37] (row 2, column 5)"), /-0\.1/]);
  } else {
    two("batch: negative element, row and column named", f64(rowsOf(4, dim)), f64(at(rowsOf(4, dim, 2), 37, -0.1)), { dim }, "range", ["KL_NEGATIVE"],
      [esc("q[37] (row 2, column 5)"), /-0\.1/]);
  }
  two("batch: length not a multiple of dim", f64(rowsOf(2, dim).slice(0, 30)), f64(rowsOf(2, dim)), { dim }, "range", ["KL_BAD_SHAPE"], [/\bp\b/]);
  two("batch: dim 0", f64(rowsOf(2, dim)), f64(rowsOf(2, dim)), { dim: 0 }, "range", ["KL_BAD_OPTION"], [/dim/]);
  two("batch: dim 2.5", f64(rowsOf(2, dim)), f64(rowsOf(2, dim)), { dim: 2.5 }, "range", ["KL_BAD_OPTION"], [/dim/, /2\.5/]);
  if (!single) pairOnly(two, norm, dim);
  if (name === "klTerms") return list; // klTerms takes no reduction / weights
  two("batch: unknown reduction", f64(rowsOf(2, dim)), f64(rowsOf(2, dim)), { dim, reduction: "avg" }, "either", ["KL_BAD_OPTION"], [/reduction/, /avg/]);
  two("batch: negative weight", f64(rowsOf(3, dim)), f64(rowsOf(3, dim, 2)), { dim, reduction: "sum", weights: [1, -1, 1] }, "range", ["KL_NEGATIVE"], [/weights\[1\]/, /-1/]);
  two("batch: weights of the wrong length", f64(rowsOf(3, dim)), f64(rowsOf(3, dim, 2)), { dim, reduction: "sum", weights: [1, 1] }, "range", ["KL_BAD_SHAPE"], [/weights/]);
  return list;
}

type Two = (label: string, p: Input, q: Input, opts: Record<string, unknown>, cls: ErrorClass, codes: string[], message: RegExp[]) => void;

/** the bad calls of the functions that take q (all but entropy) */
function pairOnly(two: Two, norm: Record<string, unknown>, dim: number): void {
  {
    two("q negative element", f64(P5), f64(at(Q5, 2, -1e-300)), norm, "range", ["KL_NEGATIVE"], [/\bq\[2\]/, /-1e-300/]);
    two("q NaN element (Float32Array)", Float32Array.from(P5), Float32Array.from(at(Q5, 1, NaN)), norm, "range", ["KL_NAN"], [/\bq\[1\]/, /NaN/]);
    two("q -Infinity probability", f64(P5), f64(at(Q5, 4, -Infinity)), norm, "range", ["KL_INFINITE"], [/\bq\[4\]/, /Infinity/]);
    two("length mismatch", f64(P5), f64(Q5.slice(0, 4)), norm, "range", ["KL_LENGTH_MISMATCH"], [/5/, /4/]);
    two("q element not a number", P5.slice(), [0.3, "0.1", 0.2, 0.25, 0.15] as unknown as number[], norm, "type", ["KL_NOT_NUMBER"], [/\bq\[1\]/]);
    two("base 1", f64(P5), f64(Q5), { base: 1 }, "range", ["KL_BAD_OPTION"], [/base/, /\b1\b/]);
    two("batch: rows mismatch", f64(rowsOf(3, dim)), f64(rowsOf(2, dim)), { dim }, "range", ["KL_BAD_SHAPE"], [/3/, /2/]);
  }
}

function gaussianBadCalls(): BadCall[] {
  const m = [0.5, -1, 2, 0];
  const v = [1, 0.5, 2, 3];
  const list: BadCall[] = [];
  const add = (label: string, a: number[], b: number[], c: number[], d: number[], opts: Record<string, unknown>, cls: ErrorClass, codes: string[], message: RegExp[]) => {
    const inputs = [a, b, c, d].map(f64);
    list.push({ label, inputs, cls, codes, message, call: () => (gaussianKL as AnyFn)(...inputs, opts) });
  };
  add("variance 0", m, at(v, 2, 0), m, v, {}, "range", ["KL_BAD_VARIANCE"], [/var1\[2\]/, /\b0\b/]);
  add("negative variance", m, v, m, at(v, 0, -1), {}, "range", ["KL_BAD_VARIANCE"], [/var2\[0\]/, /-1/]);
  add("NaN mean", at(m, 1, NaN), v, m, v, {}, "range", ["KL_NAN"], [/mean1\[1\]/, /NaN/]);
  add("infinite mean", m, v, at(m, 3, -Infinity), v, {}, "range", ["KL_INFINITE"], [/mean2\[3\]/, /Infinity/]);
  add("length mismatch", m, v, m, v.slice(0, 3), {}, "range", ["KL_LENGTH_MISMATCH"], [/4/, /3/]);
  add("empty", [], [], [], [], {}, "range", ["KL_EMPTY"], []);
  const dim = 8;
  const M = rowsOf(3, dim);
  const V = rowsOf(3, dim, 2);
  add("batch: variance 0, row and column named", M, at(V, 19, 0), [0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1], { dim }, "range", ["KL_BAD_VARIANCE"],
    [esc("var1[19] (row 2, column 3)"), /\b0\b/]);
  add("batch: length not a multiple of dim", M.slice(0, 20), V.slice(0, 20), M.slice(0, 20), V.slice(0, 20), { dim }, "range", ["KL_BAD_SHAPE"], []);
  add("bad base", m, v, m, v, { base: -2 }, "range", ["KL_BAD_OPTION"], [/base/, /-2/]);
  return list;
}

function batchBadCalls(): BadCall[] {
  const dim = 8;
  const A = f64(rowsOf(5, dim));
  const B = f64(rowsOf(7, dim, 2));
  const Bneg = f64(at(rowsOf(7, dim, 2), 13, -0.25));
  const list: BadCall[] = [];
  const add = (label: string, inputs: Input[], call: () => unknown, cls: ErrorClass, codes: string[], message: RegExp[]) =>
    list.push({ label, inputs, call, cls, codes, message });
  add("pairwise without dim", [A, B], () => (pairwise as AnyFn)("kl", A, B, {}), "either", ["KL_BAD_OPTION"], [/dim/]);
  add("pairwise: unknown measure", [A, B], () => (pairwise as AnyFn)("kld", A, B, { dim }), "either", ["KL_BAD_OPTION"], [/kld/]);
  add("pairwise: negative element, row and column named", [A, Bneg], () => (pairwise as AnyFn)("jsDivergence", A, Bneg, { dim }), "range", ["KL_NEGATIVE"],
    [/\b(B|b|q)\[13\] \(row 1, column 5\)/, /-0\.25/]);
  add("pairwise: length not a multiple of dim", [A, B], () => (pairwise as AnyFn)("kl", A.subarray(0, 30), B, { dim }), "range", ["KL_BAD_SHAPE"], []);
  add("pairwise: different dims of rows", [A, B], () => (pairwise as AnyFn)("kl", A, B.subarray(0, 7 * 7), { dim }), "range", ["KL_BAD_SHAPE"], []);
  add("topK: k > candidates", [A, B], () => (topK as AnyFn)("kl", A, B, { dim, k: 8 }), "range", ["KL_BAD_OPTION"], [/\bk\b/, /8/]);
  add("topK: k 0", [A, B], () => (topK as AnyFn)("kl", A, B, { dim, k: 0 }), "range", ["KL_BAD_OPTION"], [/\bk\b/, /0/]);
  add("topK: k 1.5", [A, B], () => (topK as AnyFn)("kl", A, B, { dim, k: 1.5 }), "range", ["KL_BAD_OPTION"], [/\bk\b/, /1\.5/]);
  add("topK without dim", [A, B], () => (topK as AnyFn)("kl", A, B, { k: 2 }), "either", ["KL_BAD_OPTION"], [/dim/]);
  add("topK: unknown measure", [A, B], () => (topK as AnyFn)("entropy", A, B, { dim, k: 2 }), "either", ["KL_BAD_OPTION"], [/entropy/]);
  add("topK: negative candidate element, row and column named", [A, Bneg], () => (topK as AnyFn)("hellinger", A, Bneg, { dim, k: 2 }), "range", ["KL_NEGATIVE"],
    [/\b(candidates|B|q)\[13\] \(row 1, column 5\)/, /-0\.25/]);
  const p = f64(at(P5, 3, -0.5));
  const q = f64(Q5);
  add("score: unknown measure", [q, q], () => (score as AnyFn)("kullback", q, q, {}), "either", ["KL_BAD_OPTION"], [/kullback/]);
  add("score: negative element", [p, q], () => (score as AnyFn)("totalVariation", p, q, {}), "range", ["KL_NEGATIVE"], [/\bp\[3\]/, /-0\.5/]);
  return list;
}

const ERROR_GROUPS: Array<[string, BadCall[]]> = [
  ...Object.entries(FUNCTIONS)
    .filter(([name]) => name !== "gaussianKL")
    .map(([name, fn]): [string, BadCall[]] => [name, pairBadCalls(name, fn)]),
  ["gaussianKL", gaussianBadCalls()],
  ["pairwise / topK / score", batchBadCalls()],
];

describe("typed errors", () => {
  for (const backendName of BACKENDS) {
    describe.skipIf(backendName === WASM && selected !== WASM)(`${backendName} backend`, () => {
      for (const [fnName, calls] of ERROR_GROUPS) {
        describe(fnName, () => {
          it.each(calls)("$label", (bad) => {
            useBackend(backendName);
            const before = bad.inputs.map((x) => snapshot(x));
            const error = thrown(bad.call);
            const where = `${fnName}: ${bad.label} [${backendName}]`;
            expect(error, `${where}: did not throw`).toBeDefined();
            const e = error as { code?: unknown; message?: unknown; name?: unknown };
            const isRange = error instanceof KLRangeError && error instanceof RangeError;
            const isType = error instanceof KLTypeError && error instanceof TypeError;
            const clsOk = bad.cls === "range" ? isRange : bad.cls === "type" ? isType : isRange || isType;
            expect(clsOk, `${where}: ${String(e.name)} is not the expected ${bad.cls} error: ${String(e.message)}`).toBe(true);
            expect(bad.codes, `${where}: code ${String(e.code)} (${String(e.message)})`).toContain(e.code);
            for (const re of bad.message) expect(String(e.message), `${where}: message`).toMatch(re);
            bad.inputs.forEach((x, i) => expect(unchanged(x, before[i]), `${where}: input ${i} modified`).toBe(true));
          });
        });
      }
    });
  }
});
