// The logits kernel (assembly/logits.ts) on its own: the build init() selects here is
// instantiated from its bytes, rows are written at scratchPtr(), and the passes are combined the way a wrapper
// would (chunks of CHUNK elements, Neumaier sums in JS, logitsFinish at the end). Oracle:
// test/fixtures/logits-cases.json (mpmath, made by test/fixtures/generate_logits.py).
//
// Bounds: relative error ≤ 1e-12 for every case, temperature, placement and chunk size;
// Infinity exactly; exactly 0 for rows with identical softmax; an expected value below
// 1e-290 (subnormal territory, no 12 digits to match) within 1e-300. The batched variant
// matches the same oracle row by row ([value, status] per row; a row with status INVALID or
// REDO counts as NaN, and the call resumes after an INVALID row, where the kernel stops). e^x is measured in ulps
// against mpmath's correctly rounded values.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kernelBytes, WASM } from "./backends.js";
import { init, kl, useBackend } from "../src/index.js";

interface Kernel {
  memory: WebAssembly.Memory;
  scratchPtr(): number;
  logitsResultsPtr(): number;
  logitsMax(x: number, n: number): number;
  logitsSumExp(x: number, n: number, max: number, invT: number): number;
  logitsSoftmax(x: number, out: number, n: number, max: number, invT: number, l: number): void;
  logitsKL(a: number, b: number, n: number, ma: number, mb: number, invT: number, la: number, lb: number): number;
  logitsFinish(sumTerms: number, sumPD: number): number;
  logitsKLRows(a: number, b: number, rows: number, dim: number, aStep: number, bStep: number, invT: number, out: number): number;
  logitsStats(a: number, b: number, n: number, invT: number, ga: number, gb: number): void;
  logitsStatsPtr(): number;
}

interface Stored {
  encoding: "f64le" | "f32le" | "a+i8";
  b64: string;
  scale_log2?: number;
}
type Expected = number | "Infinity" | "NaN";
interface Case {
  name: string;
  category: string;
  n: number;
  a: Stored;
  b: Stored;
  exact_zero?: boolean;
  expected: { T: number; kl: Expected; kl_str: string }[];
}
interface Batch {
  name: string;
  rows: number;
  dim: number;
  aStep: number;
  bStep: number;
  T: number;
  a: Stored;
  b: Stored;
  expected: Expected[];
}
interface Fixtures {
  cases: Case[];
  batches: Batch[];
  exp: { n: number; x: string; hi: string; frac: string };
}

const fixtures: Fixtures = JSON.parse(readFileSync(new URL("./fixtures/logits-cases.json", import.meta.url), "utf8"));

function bytes(b64: string): ArrayBuffer {
  const buf = Buffer.from(b64, "base64");
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}
function f64s(b64: string): Float64Array {
  return new Float64Array(bytes(b64));
}
function decode(s: Stored, a?: Float64Array): Float64Array {
  if (s.encoding === "f64le") return f64s(s.b64);
  if (s.encoding === "f32le") return Float64Array.from(new Float32Array(bytes(s.b64)));
  const k = new Int8Array(bytes(s.b64)); // b = a + k·2^scale_log2, exact
  const scale = 2 ** s.scale_log2!;
  return a!.map((x, i) => x + k[i] * scale);
}

// Under KL_NO_SIMD=1 (a V8 without SIMD) the module fails validation and these tests are
// skipped; the normal run must have SIMD (KL_EXPECT_BACKEND says which run this is).
// the build init() selects here: the relaxed one where the engine has relaxed SIMD
const wasmBytes = await kernelBytes();
const simd = WebAssembly.validate(wasmBytes);
it("the kernel validates wherever SIMD is expected", () => {
  expect(simd).toBe(process.env.KL_EXPECT_BACKEND !== "js");
});

let w: Kernel;
beforeAll(async () => {
  if (!simd) return;
  const { instance } = await WebAssembly.instantiate(wasmBytes, { Math: { log: Math.log } });
  w = instance.exports as unknown as Kernel;
});

// Float64Array views at byte offset `at`, growing memory first if needed (views are taken
// after any growth).
function place(at: number, ...rows: Float64Array[]): number[] {
  const total = rows.reduce((s, r) => s + r.length * 8, 0);
  const need = at + total - w.memory.buffer.byteLength;
  if (need > 0) w.memory.grow(Math.ceil(need / 65536));
  const ptrs: number[] = [];
  let p = at;
  for (const r of rows) {
    new Float64Array(w.memory.buffer, p, r.length).set(r);
    ptrs.push(p);
    p += r.length * 8;
  }
  return ptrs;
}

// Neumaier's compensated sum; a non-finite addend makes the sum that value (as plain + does).
class Sum {
  private s = 0;
  private c = 0;
  add(x: number): void {
    const t = this.s + x;
    this.c += Math.abs(this.s) >= Math.abs(x) ? this.s - t + x : x - t + this.s;
    this.s = t;
  }
  get value(): number {
    return Number.isFinite(this.s) ? this.s + this.c : this.s;
  }
}

// KL(softmax(a/T) ‖ softmax(b/T)) of rows at pa, pb (n elements) by chunked passes, as a
// wrapper would do it.
function klByChunks(pa: number, pb: number, n: number, T: number, chunk: number): number {
  const invT = 1 / T;
  let ma = -Infinity, mb = -Infinity;
  for (let i = 0; i < n; i += chunk) {
    const len = Math.min(chunk, n - i);
    ma = Math.max(ma, w.logitsMax(pa + 8 * i, len)); // Math.max keeps NaN
    mb = Math.max(mb, w.logitsMax(pb + 8 * i, len));
  }
  if (!Number.isFinite(ma) || !Number.isFinite(mb)) return NaN;
  const sa = new Sum(), sb = new Sum();
  for (let i = 0; i < n; i += chunk) {
    const len = Math.min(chunk, n - i);
    sa.add(w.logitsSumExp(pa + 8 * i, len, ma, invT));
    sb.add(w.logitsSumExp(pb + 8 * i, len, mb, invT));
  }
  const la = Math.log(sa.value), lb = Math.log(sb.value);
  const terms = new Sum(), pd = new Sum();
  const results = w.logitsResultsPtr();
  for (let i = 0; i < n; i += chunk) {
    const len = Math.min(chunk, n - i);
    terms.add(w.logitsKL(pa + 8 * i, pb + 8 * i, len, ma, mb, invT, la, lb));
    pd.add(new Float64Array(w.memory.buffer, results, 1)[0]);
  }
  return w.logitsFinish(terms.value, pd.value);
}

// The error of `got` against `expected` as a relative error (0 when exact); throws nothing.
function relError(got: number, expected: number): number {
  if (got === expected) return 0;
  if (expected === 0) return Infinity;
  return Math.abs(got - expected) / Math.abs(expected);
}

function check(got: number, expected: Expected, exactZero: boolean): number {
  if (expected === "NaN") {
    expect(got).toBeNaN();
    return 0;
  }
  if (expected === "Infinity") {
    expect(got).toBe(Infinity);
    return 0;
  }
  if (exactZero || expected === 0) {
    expect(got).toBe(0);
    return 0;
  }
  if (expected < 1e-290) {
    expect(Math.abs(got - expected)).toBeLessThanOrEqual(1e-300);
    return 0;
  }
  const e = relError(got, expected);
  expect(e, `got ${got}, expected ${expected}`).toBeLessThanOrEqual(1e-12);
  return e;
}

const worst = new Map<string, { err: number; where: string }>();
function record(category: string, err: number, where: string): void {
  const w0 = worst.get(category);
  if (!w0 || err > w0.err) worst.set(category, { err, where });
}
afterAll(() => {
  if (worst.size === 0) return;
  const lines = [...worst].map(([c, { err, where }]) => `  ${c.padEnd(10)} ${err.toExponential(2)}  (${where})`);
  console.log(`logits kernel, worst relative error per category:\n${lines.join("\n")}`);
});

describe.runIf(simd)("logitsKL by chunked passes against mpmath", () => {
  // chunk 777: odd chunk boundaries inside a row; the +8 placement: rows off 16-byte alignment
  const placements = [
    { chunk: 4096, offset: 0 },
    { chunk: 777, offset: 8 },
  ];
  for (const c of fixtures.cases) {
    it(`${c.name} (n = ${c.n})`, () => {
      const a = decode(c.a);
      const b = decode(c.b, a);
      for (const { chunk, offset } of placements) {
        const [pa, pb] = place(w.scratchPtr() + offset, a, b);
        for (const { T, kl } of c.expected) {
          const got = klByChunks(pa, pb, c.n, T, chunk);
          const err = check(got, kl, c.exact_zero === true);
          record(c.category, err, `${c.name} T=${T}`);
        }
      }
    });
  }
});

describe.runIf(simd)("logitsKLRows (short rows in one call) against mpmath", () => {
  for (const bt of fixtures.batches) {
    it(`${bt.name} (aStep ${bt.aStep}, bStep ${bt.bStep}, T = ${bt.T})`, () => {
      const a = decode(bt.a), b = decode(bt.b);
      const [pa, pb, out] = place(w.scratchPtr() + 8, a, b, new Float64Array(2 * bt.rows));
      const got = new Float64Array(bt.rows);
      for (let start = 0; start < bt.rows; ) {
        const rows = bt.rows - start;
        w.logitsKLRows(pa + 8 * start * bt.aStep, pb + 8 * start * bt.bStep, rows, bt.dim, bt.aStep, bt.bStep, 1 / bt.T, out);
        const res = new Float64Array(w.memory.buffer, out, 2 * rows);
        let r = 0;
        for (; r < rows; r++) {
          got[start + r] = res[2 * r + 1] === 0 ? res[2 * r] : NaN;
          if (res[2 * r + 1] & 1) break; // INVALID: the kernel stopped after this row
        }
        start += r + 1;
      }
      bt.expected.forEach((e, r) => record("batched", check(got[r], e, e === 0), `${bt.name} row ${r}`));
    });
  }
});

describe.runIf(simd)("passes 1 and 2 at the edges", () => {
  it("logitsMax: every tail length, NaN and +Infinity reported, −∞ allowed", () => {
    for (let n = 0; n <= 35; n++) {
      const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 7.1) * 5);
      const [p] = place(w.scratchPtr() + 8, x);
      expect(w.logitsMax(p, n)).toBe(n === 0 ? -Infinity : Math.max(...x));
      for (let i = 0; i < n; i++) {
        for (const bad of [NaN, Infinity]) {
          const y = x.slice();
          y[i] = bad;
          place(p, y);
          expect(w.logitsMax(p, n)).toBeNaN();
        }
      }
      place(p, x.map(() => -Infinity));
      expect(w.logitsMax(p, n)).toBe(-Infinity);
    }
  });

  it("logitsSumExp: every tail length, −∞ adds 0", () => {
    for (let n = 1; n <= 35; n++) {
      const x = Float64Array.from({ length: n }, (_, i) => (i % 5 === 3 ? -Infinity : Math.cos(i * 3.3) * 4));
      const [p] = place(w.scratchPtr(), x);
      const m = Math.max(...x);
      const ref = x.reduce((s, v) => s + Math.exp((v - m) * 2), 0);
      expect(relError(w.logitsSumExp(p, n, m, 2), ref)).toBeLessThanOrEqual(1e-14);
    }
  });
});

// Rows longer than a chunk through kl() (src/wasm/long-rows.ts: logitsStats in one pass, then
// logitsKL where the direct form may have lost digits), on both backends, against the same
// oracle: each case's elements spread over a row of L > 4096 elements, −∞ on both sides
// elsewhere (zero mass: the same KL). L runs through 4097..4163 (every tail after the last
// whole chunk) or, for the long cases, the case's length plus 1..67. The elements go in the
// case's order, and sorted by a, ascending: the max then comes last, so the running maxima
// grow chunk by chunk, past logitsStats's margin on wide rows. Rows of float32 values are
// passed as Float32Array too.
describe("long rows through kl() against mpmath", async () => {
  const selected = await init();
  for (const backend of [WASM, "js"] as const) {
    describe.skipIf(backend === WASM && selected !== WASM)(backend, () => {
      fixtures.cases.forEach((c, index) => {
        it(`${c.name} (n = ${c.n})`, () => {
          useBackend(backend);
          const a = decode(c.a), b = decode(c.b, a);
          const L = Math.max(4096, c.n) + 1 + (index % 67);
          const ascending = Array.from(a.keys()).sort((i, j) => a[i]! - a[j]! || i - j);
          for (const order of [Array.from(a.keys()), ascending]) {
            for (const Type of c.a.encoding === "f32le" && c.b.encoding === "f32le" ? [Float64Array, Float32Array] : [Float64Array]) {
              const ra = new Type(L).fill(-Infinity), rb = new Type(L).fill(-Infinity);
              order.forEach((from, k) => {
                const at = Math.floor((k * L) / c.n);
                ra[at] = a[from]!;
                rb[at] = b[from]!;
              });
              for (const { T, kl: expected } of c.expected) {
                // NaN: no row to score here (every fixture case has a finite logit per side)
                const got = kl(ra, rb, { input: "logits", temperature: T });
                const err = check(got, expected, c.exact_zero === true);
                record(`long ${backend}`, err, `${c.name} T=${T} L=${L}`);
              }
            }
          }
        });
      });
    });
  }
});

// e^x through logitsSoftmax(max = 0, invT = 1, l = 0), in ulps of the correctly rounded value
describe.runIf(simd)("e^x (expF64x2) against mpmath", () => {
  const x = f64s(fixtures.exp.x), hi = f64s(fixtures.exp.hi), frac = f64s(fixtures.exp.frac);
  const bits = (v: number) => new BigInt64Array(Float64Array.of(v).buffer)[0];
  let maxUlps = 0;
  let at = 0;
  it(`${fixtures.exp.n} points over [−745.2, 709.78], subnormal results included: ≤ 1.05 ulps`, () => {
    const [px, out] = place(w.scratchPtr(), x, new Float64Array(x.length));
    w.logitsSoftmax(px, out, x.length, 0, 1, 0);
    const y = new Float64Array(w.memory.buffer, out, x.length);
    for (let i = 0; i < x.length; i++) {
      const ulps = Math.abs(Number(bits(y[i]) - bits(hi[i])) - frac[i]);
      if (ulps > maxUlps) [maxUlps, at] = [ulps, x[i]];
    }
    console.log(`e^x: max error ${maxUlps.toFixed(3)} ulps (at x = ${at}) over ${x.length} points`);
    // 1.015 on the 2^20-point sweep of scripts/logits-exp-ulps.py
    expect(maxUlps).toBeLessThanOrEqual(1.05);
  });

  it("the table exp of logitsStats (one element, shift 0): ≤ 1.05 ulps where it is taken", () => {
    const f = new Float64Array(w.memory.buffer), stats = w.logitsStatsPtr() >> 3, at = w.scratchPtr();
    let worstUlps = 0, taken = 0;
    for (let i = 0; i < x.length; i++) {
      f[at >> 3] = x[i]!;
      f[(at >> 3) + 1] = 0;
      w.logitsStats(at, at + 8, 1, 1, 0, 0);
      if (f[stats] !== 0) continue; // the chunk went to expF64x2 with its own max as shift
      taken++;
      worstUlps = Math.max(worstUlps, Math.abs(Number(bits(f[stats + 2]!) - bits(hi[i]!)) - frac[i]!));
    }
    expect(taken).toBeGreaterThan(x.length / 3); // 2018 of the 4096 (the rest: x > 64 or the subnormal window)
    // 1.014 on the 2^20-point sweep of scripts/logits-exp-ulps.py
    expect(worstUlps).toBeLessThanOrEqual(1.05);
  });

  it("special arguments", () => {
    const xs = Float64Array.of(-Infinity, -1e308, -746, -745.2, 0, -0, 710, 1e308, Infinity, NaN);
    const [px, out] = place(w.scratchPtr(), xs, new Float64Array(xs.length));
    w.logitsSoftmax(px, out, xs.length, 0, 1, 0);
    expect(Array.from(new Float64Array(w.memory.buffer, out, xs.length))).toEqual([0, 0, 0, 0, 1, 1, Infinity, Infinity, Infinity, NaN]);
  });
});
