// pairwise and topK through a matrix product (issue 10, src/engine/matrix.ts), against the
// mpmath oracle in test/fixtures/matrix-cases.json (made by test/fixtures/generate_matrix.py).
// Small matrices with zeros (0 ln 0, q = 0 under p > 0), identical rows, scaled copies and
// near-identical rows: every entry of kl, crossEntropy (base e and 2) and hellinger, both
// backends, Float64Array and Float32Array. The large case (1000 × 1000 × 64, rows re-created
// here bit for bit from xorshift32): 400 spot entries and the topK (k = 10) of a few queries. Bounds: 1e-12 relative for Float64Array
// and for Float32Array alike (the query row is taken as doubles, as on the per-pair path);
// identical rows give exactly 0, Infinity exactly Infinity, topK indices exactly. topK's
// edge cases (k = 1 to every candidate, fewer finite candidates than k, exact ties) likewise.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { init, pairwise, topK, useBackend, type Backend } from "../src/index.js";
import { kernelBytes, WASM } from "./backends.js";
import { matrixStats } from "../src/engine/matrix.js";

type Num = number | "Infinity";
interface TopKExpected {
  indices: number[];
  scores: Num[];
}
interface SmallCase {
  name: string;
  kind: "f64" | "f32";
  dim: number;
  A: number[];
  B: number[];
  expected: Record<string, Num[]>;
  topK: { k: number; kl: TopKExpected[]; hellinger: TopKExpected[] };
}
interface EdgeCase {
  name: string;
  kind: "f64" | "f32";
  dim: number;
  A: number[];
  B: number[];
  topK: Record<string, { kl: TopKExpected[]; hellinger: TopKExpected[] }>;
}
interface LargeCase {
  name: string;
  kind: "f64" | "f32";
  rows: number;
  dim: number;
  spots: [number, number, Num][];
  topK: { k: number; queries: number[]; kl: TopKExpected[] };
}

const fixtures = JSON.parse(readFileSync(new URL("./fixtures/matrix-cases.json", import.meta.url), "utf8")) as {
  small: SmallCase[];
  large: LargeCase[];
  jeffreys: Num[][];
  renyi: Record<string, Num[][]>;
  renyiWide: { dim: number; A: number[]; B: number[]; expected: Record<string, Num[]> };
  topk: EdgeCase[];
  lnRows: { q: number[]; t: number[]; ln: number[] };
};
const BOUND = 1e-12;
// CI also runs the suite in a V8 without SIMD (KL_EXPECT_BACKEND=js): only the JS backend there
const hasSimd = process.env.KL_EXPECT_BACKEND !== "js";
const backends: Backend[] = hasSimd ? [WASM, "js"] : ["js"];

beforeAll(async () => {
  await init();
});

function close(got: number, want: Num): boolean {
  if (want === "Infinity") return got === Infinity;
  if (want === 0) return got === 0;
  return Math.abs(got - want) <= BOUND * Math.abs(want);
}

function expectClose(got: ArrayLike<number>, want: Num[], what: string): void {
  expect(got.length).toBe(want.length);
  const bad: string[] = [];
  for (let t = 0; t < want.length; t++) if (!close(got[t], want[t])) bad.push(`[${t}] got ${got[t]}, want ${want[t]}`);
  expect(bad, what).toEqual([]);
}

/** The large case's rows, as test/fixtures/generate_matrix.py makes them. */
function xorshiftValues(n: number, seed: number): Float64Array {
  let x = seed >>> 0 || 1;
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const u = x >>> 0;
    v[i] = u % 97 === 0 ? 0 : (u + 1) / 4294967297;
  }
  return v;
}

function largeRows(rows: number, dim: number, f32: boolean): [Float64Array | Float32Array, Float64Array | Float32Array] {
  const a = xorshiftValues(rows * dim, 1234), b = xorshiftValues(rows * dim, 5678);
  for (let j = 0; j < rows; j++) {
    for (let k = 0; k < dim; k++) {
      const src = a[j * dim + k];
      if (j % 50 === 1) b[j * dim + k] = src;
      else if (j % 50 === 0) b[j * dim + k] = src * (1 + 2 ** -20 * (k % 3));
      else if (j % 50 === 2) b[j * dim + k] = src * 4;
    }
  }
  return f32 ? [Float32Array.from(a), Float32Array.from(b)] : [a, b];
}

describe.each(backends)("matrix path on %s", (backend) => {
  for (const c of fixtures.small) {
    const types = c.kind === "f32" ? [Float32Array, Float64Array] : [Float64Array];
    for (const Type of types) {
      describe(`${c.name} as ${Type.name}`, () => {
        const A = Type.from(c.A), B = Type.from(c.B), dim = c.dim;
        for (const [label, measure, base] of [["kl", "kl", undefined], ["crossEntropy", "crossEntropy", undefined], ["kl base 2", "kl", 2], ["crossEntropy base 2", "crossEntropy", 2], ["hellinger", "hellinger", undefined]] as const) {
          it(`pairwise ${label}`, () => {
            useBackend(backend);
            expectClose(pairwise(measure, A, B, { dim, base }), c.expected[label], label);
          });
        }
        it.each(["jeffreys", "psi"] as const)("pairwise %s (zeros on either side: Infinity)", (measure) => {
          useBackend(backend);
          expectClose(pairwise(measure, A, B, { dim }), fixtures.jeffreys[fixtures.small.indexOf(c)], measure);
        });
        it.each(Object.keys(fixtures.renyi))("pairwise renyi, alpha = %s", (alpha) => {
          useBackend(backend);
          expectClose(pairwise("renyi", A, B, { dim, alpha: Number(alpha) }), fixtures.renyi[alpha][fixtures.small.indexOf(c)], `alpha ${alpha}`);
        });
        it.each([["jeffreys", null], ["psi", null], ["renyi", "2"], ["renyi", "0.5"]] as const)("topK %s (alpha %s, k = 4): the k smallest of the oracle's pairwise values", (measure, alpha) => {
          useBackend(backend);
          const all = alpha === null ? fixtures.jeffreys[fixtures.small.indexOf(c)] : fixtures.renyi[alpha][fixtures.small.indexOf(c)];
          const n = B.length / dim, k = 4, value = (v: Num): number => (v === "Infinity" ? Infinity : v);
          const got = topK(measure, A, B, { dim, k, ...(alpha === null ? {} : { alpha: Number(alpha) }) });
          for (let i = 0; i < A.length / dim; i++) {
            const row = all.slice(i * n, (i + 1) * n);
            const want = [...row.keys()].sort((x, y) => value(row[x]) - value(row[y]) || x - y).slice(0, k);
            expect(Array.from(got.indices.subarray(i * k, (i + 1) * k)), `query ${i}`).toEqual(want);
            expectClose(got.scores.subarray(i * k, (i + 1) * k), want.map((j) => row[j]), `query ${i}`);
          }
        });
        it("pairwise kl of identical rows and scaled copies is exactly 0", () => {
          useBackend(backend);
          const got = pairwise("kl", A, B, { dim });
          const n = B.length / dim;
          expect(got[0 * n + 0]).toBe(0);
          expect(got[2 * n + 3]).toBe(0);
          expect(got[1 * n + 6]).toBe(0);
          const h = pairwise("hellinger", A, B, { dim });
          expect([h[0], h[2 * n + 3], h[1 * n + 6]]).toEqual([0, 0, 0]);
          const j = pairwise("jeffreys", A, B, { dim });
          expect([j[0], j[2 * n + 3], j[1 * n + 6]]).toEqual([0, 0, 0]);
        });
        it.each(["kl", "hellinger"] as const)("topK %s (k = 4)", (measure) => {
          useBackend(backend);
          const got = topK(measure, A, B, { dim, k: c.topK.k });
          for (let i = 0; i < c.topK[measure].length; i++) {
            const want = c.topK[measure][i], k = c.topK.k;
            expect(Array.from(got.indices.subarray(i * k, (i + 1) * k)), `query ${i}`).toEqual(want.indices);
            expectClose(got.scores.subarray(i * k, (i + 1) * k), want.scores, `query ${i}`);
          }
        });
      });
    }
  }

  it.each(Object.keys(fixtures.renyiWide.expected))("pairwise renyi of rows spanning 1e-200..1 (powers out of the product's range: redone), alpha = %s", (alpha) => {
    useBackend(backend);
    const w = fixtures.renyiWide;
    expectClose(pairwise("renyi", Float64Array.from(w.A), Float64Array.from(w.B), { dim: w.dim, alpha: Number(alpha) }), w.expected[alpha], `alpha ${alpha}`);
  });

  // topK's edge cases: fewer finite candidates than k, a positive element far below 2⁻⁸⁰ of
  // its row over q = 0 (the f32 shortlist's rows), near-identical rows, exact ties, k = 1 to every candidate
  for (const c of fixtures.topk) {
    const types = c.kind === "f32" ? [Float32Array, Float64Array] : [Float64Array];
    for (const Type of types) {
      it.each(Object.keys(c.topK).flatMap((k) => (["kl", "hellinger"] as const).map((measure) => [k, measure] as const)))(`${c.name} as ${Type.name}: topK k = %s, %s`, (k, measure) => {
        useBackend(backend);
        const A = Type.from(c.A), B = Type.from(c.B), dim = c.dim, want = c.topK[k][measure], kk = Number(k);
        const got = topK(measure, A, B, { dim, k: kk });
        for (let i = 0; i < want.length; i++) {
          expect(Array.from(got.indices.subarray(i * kk, (i + 1) * kk)), `query ${i}`).toEqual(want[i].indices);
          expectClose(got.scores.subarray(i * kk, (i + 1) * kk), want[i].scores, `query ${i}`);
        }
      });
    }
  }

  // more candidates tie at the top than the kernel keeps per row (2k + 16): the row's
  // shortlist overflows and every candidate is scored exactly. Copies scaled by powers of 2
  // normalise to the same row, so their values are exactly 0 and the lowest indices win.
  it.each(["kl", "hellinger"] as const)("topK %s of a query with 80 copies among the candidates: the first k copies, exactly 0", (measure) => {
    useBackend(backend);
    const dim = 16, k = 10, row = Float64Array.from({ length: dim }, (_, t) => 1 + ((t * 7) % 5));
    const B = new Float64Array(100 * dim);
    for (let j = 0; j < 100; j++) for (let t = 0; t < dim; t++) B[j * dim + t] = j < 20 ? 1 + ((j * 13 + t * 3) % 11) : row[t] * 2 ** (j % 3);
    const A = new Float64Array(2 * dim);
    A.set(row);
    A.set(row.map((v) => 4 * v), dim);
    const got = topK(measure, A, B, { dim, k });
    expect(Array.from(got.indices)).toEqual([...Array.from({ length: k }, (_, t) => 20 + t), ...Array.from({ length: k }, (_, t) => 20 + t)]);
    expect(Array.from(got.scores)).toEqual(new Array(2 * k).fill(0));
    if (backend !== "js") expect(matrixStats.shortlisted).toBe(2 * 100);
  });

  for (const c of fixtures.large) {
    describe(c.name, () => {
      const [A, B] = largeRows(c.rows, c.dim, c.kind === "f32");
      const dim = c.dim;
      it("pairwise kl at 400 spots (and the special rows: identical, scaled, near-identical)", () => {
        useBackend(backend);
        // the js backend keeps the per-pair path: only the spot rows there, to stay quick
        const rows = backend === "js" ? [...new Set(c.spots.map(([i]) => i))].slice(0, 8) : null;
        if (rows === null) {
          const got = pairwise("kl", A, B, { dim });
          if (c.kind === "f64") {
            // redone exactly: near-identical pairs only, a small part of the million
            expect(matrixStats.redone).toBeGreaterThan(0);
            expect(matrixStats.redone).toBeLessThan(0.05 * matrixStats.pairs);
          }
          const bad = c.spots.filter(([i, j, want]) => !close(got[i * c.rows + j], want));
          expect(bad.map(([i, j, want]) => `(${i}, ${j}) got ${got[i * c.rows + j]}, want ${want}`)).toEqual([]);
        } else {
          for (const i of rows) {
            const got = pairwise("kl", A.subarray(i * dim, (i + 1) * dim), B, { dim });
            const bad = c.spots.filter(([si, j, want]) => si === i && !close(got[j], want));
            expect(bad).toEqual([]);
          }
        }
      });
      it("topK kl (k = 10) of a few queries against all candidates", () => {
        useBackend(backend);
        const k = c.topK.k;
        const queries = c.topK.queries;
        const Q = A instanceof Float32Array ? new Float32Array(queries.length * dim) : new Float64Array(queries.length * dim);
        queries.forEach((i, t) => Q.set(A.subarray(i * dim, (i + 1) * dim), t * dim));
        const got = topK("kl", Q, B, { dim, k });
        // the f32 shortlist keeps about k per query (each exact, near-identical or tied one too)
        if (backend !== "js") expect(matrixStats.shortlisted).toBeLessThanOrEqual(2 * k * queries.length);
        for (let t = 0; t < queries.length; t++) {
          const want = c.topK.kl[t];
          expect(Array.from(got.indices.subarray(t * k, (t + 1) * k)), `query ${queries[t]}`).toEqual(want.indices);
          expectClose(got.scores.subarray(t * k, (t + 1) * k), want.scores, `query ${queries[t]}`);
        }
      });
    });
  }
});

describe.runIf(hasSimd)("matrix path agrees with the per-pair path", () => {
  // 37 query rows of 97 (odd: every pair has a scalar tail) against 2600 candidates, more than
  // the matrix area holds at once (the candidate rows and their (hⱼ, eⱼ) stream in chunks, each
  // in sub-blocks of 64), with zeros: query rows 0 and 1 and their copies, candidates 3 and 4,
  // zero at every 13th element; candidates 5 to 9 at every 11th (kl, jeffreys, psi: +Infinity
  // against the rows whose supports differ, set in JS)
  it.each(["kl", "crossEntropy", "hellinger", "jeffreys", "psi"] as const)("%s pairwise: candidates in chunks, odd dim, zeros; within 1e-12", (measure) => {
    const dim = 97, A = xorshiftValues(37 * dim, 4321).map((x) => x + 2 ** -10), B = xorshiftValues(2600 * dim, 8765).map((x) => x + 2 ** -10);
    for (let t = 0; t < 2 * dim; t += 13) A[t] = 0;
    B.set(A.subarray(0, 2 * dim), 3 * dim);
    for (let t = 5 * dim; t < 10 * dim; t += 11) B[t] = 0;
    useBackend(WASM);
    matrixStats.pairs = 0;
    const fast = pairwise(measure, A, B, { dim });
    expect(matrixStats.pairs).toBe(37 * 2600);
    useBackend("js");
    const slow = pairwise(measure, A, B, { dim });
    let worst = 0, infinite = 0, finite = 0;
    for (let t = 0; t < slow.length; t++) {
      if (slow[t] === Infinity) infinite++;
      else finite++;
      if (slow[t] === fast[t]) continue;
      worst = Math.max(worst, Math.abs(slow[t] - fast[t]) / Math.abs(slow[t]));
    }
    expect(worst).toBeLessThanOrEqual(BOUND);
    expect(finite).toBeGreaterThan(90_000);
    if (measure === "jeffreys" || measure === "psi") expect(infinite).toBeGreaterThan(2 * 2600);
    if (measure !== "crossEntropy") expect([fast[3], fast[2600 + 4]]).toEqual([0, 0]);
  });

  it.each(["kl", "crossEntropy", "hellinger", "jeffreys", "renyi"] as const)("%s pairwise and topK: wasm-simd (matrix) and js (per pair) within 1e-12, same indices", (measure) => {
    const [A, B] = largeRows(200, 64, false);
    const o = { dim: 64, ...(measure === "renyi" ? { alpha: 2.5 } : {}) };
    useBackend(WASM);
    matrixStats.pairs = 0;
    const fast = pairwise(measure, A, B, o), fastK = topK(measure, A, B, { ...o, k: 10 });
    expect(matrixStats.pairs).toBe(200 * 200); // through the product
    useBackend("js");
    const slow = pairwise(measure, A, B, o), slowK = topK(measure, A, B, { ...o, k: 10 });
    let worst = 0;
    for (let t = 0; t < slow.length; t++) {
      if (slow[t] === fast[t]) continue;
      worst = Math.max(worst, Math.abs(slow[t] - fast[t]) / Math.abs(slow[t]));
    }
    expect(worst).toBeLessThanOrEqual(BOUND);
    expect(Array.from(fastK.indices)).toEqual(Array.from(slowK.indices));
    const off = Array.from(slowK.scores).flatMap((s, t) => (close(fastK.scores[t], s === Infinity ? "Infinity" : s) ? [] : [`[${t}] ${fastK.scores[t]} vs ${s}`]));
    expect(off).toEqual([]);
  });
});

// The product path reads the values only in its row totals (matrixPair leaves the checks to it
// and, where it stops, to the per-pair path): a bad value anywhere, on either side, in a row
// after a row that sums to 0 too, gets the per-pair path's error, naming the argument, row and
// column.
describe.each(backends)("bad values on the product path (%s)", (backend) => {
  const cases = [
    [NaN, "a", 5, "KL_NAN", "a[5] (row 1, column 1) is NaN"],
    [-1, "b", 7, "KL_NEGATIVE", "b[7] (row 1, column 3) is -1; values must be ≥ 0"],
    [Infinity, "a", 15, "KL_INFINITE", "a[15] (row 3, column 3) is Infinity; values must be finite"],
    [-Infinity, "b", 11, "KL_INFINITE", "b[11] (row 2, column 3) is -Infinity; values must be finite"],
  ] as const;
  it.each(cases)("%s in %s[%i]: %s", (bad, where, at, code, message) => {
    useBackend(backend);
    for (const zeroRow of [false, true]) {
      const a = new Float64Array(16).fill(1), b = new Float64Array(12).fill(2);
      if (zeroRow) a.fill(0, 0, 4); // row 0 of a sums to 0: the product path stops there
      (where === "a" ? a : b)[at] = bad;
      for (const measure of ["kl", "hellinger", "jeffreys"] as const) {
        expect(() => pairwise(measure, a, b, { dim: 4 })).toThrow(expect.objectContaining({ code, message }));
        const named = message.replace(/^a\[/, "queries[").replace(/^b\[/, "candidates[");
        expect(() => topK(measure, a, b, { dim: 4, k: 2 })).toThrow(expect.objectContaining({ code, message: named }));
      }
    }
  });
});

// The row preparation's logarithms on the kernel alone (assembly/matrix.ts lnRows, the build
// init() selects here): ln(q/t) within 8ε·|ln(q/t)| of mpmath's, the bound src/engine/matrix.ts
// takes (one element per row, so that each has its own total; rows of odd length meet the
// kernel through the small cases above); 0 for a subnormal q (the caller decides it).
describe.runIf(hasSimd)("lnRows against mpmath", () => {
  it("is within 8ε of ln(q/t), and 0 for subnormal q", async () => {
    const { instance } = await WebAssembly.instantiate(await kernelBytes(), { Math: { log: Math.log } });
    const e = instance.exports as unknown as { memory: WebAssembly.Memory; scratchPtr(): number; lnRows(x: number, rows: number, dim: number, totals: number): void };
    const { q, t, ln } = fixtures.lnRows, n = q.length, at = e.scratchPtr(), m = new Float64Array(e.memory.buffer, at, 2 * n);
    m.set(q);
    m.set(t, n);
    e.lnRows(at, n, 1, at + n * 8);
    const bad: string[] = [];
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const want = q[i] < 2.2250738585072014e-308 ? 0 : ln[i];
      const error = want === 0 ? Math.abs(m[i]) : Math.abs(m[i] - want) / (2 ** -53 * Math.abs(want));
      worst = Math.max(worst, error);
      if (!(error <= 8)) bad.push(`q ${q[i]} t ${t[i]}: got ${m[i]}, want ${want} (${error} ε)`);
    }
    expect(bad).toEqual([]);
    expect(worst).toBeGreaterThan(1); // the fixture reaches the rounding it bounds
  });
});
