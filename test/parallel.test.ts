// kl-simd/parallel: scoreParallel gives what the in-process score() gives, bit for bit (the
// workers run the same score() on chunks of rows), for every measure, shape, reduction and
// input type, and fails the way score() fails. It runs the built package (dist/, made by
// `pretest`): the workers load dist/parallel-worker.js, which imports dist/index.js.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { backend, init, kernelModule, KLRangeError, KLTypeError, score, useBackend, type MeasureName, type Vector } from "../dist/index.js";
import { Worker } from "node:worker_threads";
import { allocate, close, KLParallelError, maxThreads, PARALLEL_MIN_ELEMENTS, poolSize, scoreFileRows, scoreParallel, sharedMemory, type ParallelOptions } from "../dist/parallel.js";

await init();
afterAll(() => close());

const MEASURES: MeasureName[] = [
  "kl", "crossEntropy", "jsDivergence", "jsDistance", "jeffreys", "psi", "generalizedKL", "hellinger", "totalVariation", "entropy",
];

// Deterministic positive values with some zeros (xorshift32), so rows take the kernels'
// fast paths and, where a zero meets mass, the exact ones.
function values(n: number, seed: number, Type: Float64ArrayConstructor | Float32ArrayConstructor = Float64Array, zeros = 0.05): Float64Array | Float32Array {
  let x = seed >>> 0 || 1;
  const v = new Type(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    const u = (x >>> 0) / 4294967296;
    v[i] = u < zeros ? 0 : -Math.log(u);
  }
  return v;
}

/** Equal to the last bit (NaN payloads, −0) in every row, or the same number. */
function expectSame(actual: unknown, expected: unknown): void {
  if (typeof expected === "number") {
    expect(Object.is(actual, expected), `${String(actual)} vs ${expected}`).toBe(true);
    return;
  }
  expect(actual).toBeInstanceOf(Float64Array);
  const a = actual as Float64Array, b = expected as Float64Array;
  expect(a.length).toBe(b.length);
  expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))).toBe(true);
}

/** Both calls on the same arguments; workers forced on (minElements 0) unless told. */
async function compare(measure: MeasureName, p: Vector, q: Vector | null, options: ParallelOptions): Promise<void> {
  const { threads: _t, minElements: _m, callingThread: _c, ...rest } = options;
  const expected = score(measure, p, q, rest);
  const actual = await scoreParallel(measure, p, q, { minElements: 0, ...options });
  expectSame(actual, expected);
}

/** The error a call throws or rejects with, as [class, code, message]. */
async function failure(call: () => unknown): Promise<[unknown, unknown, string]> {
  try {
    await call();
  } catch (e) {
    const error = e as { code?: unknown; message: string };
    return [(e as object).constructor, error.code, error.message];
  }
  throw new Error("expected the call to fail");
}

describe("scoreParallel equals score() bit for bit", () => {
  const dim = 13, rows = 37;
  const p = values(rows * dim, 1), q = values(rows * dim, 2);

  for (const measure of MEASURES) {
    for (const threads of [1, 2]) {
      it(`${measure}, threads ${threads}`, async () => {
        await compare(measure, p, q, { dim, threads });
        await compare(measure, p, q, { dim, threads, base: 2, normalize: measure === "generalizedKL" });
      });
    }
  }

  it("broadcast rows: p one row, q one row, entropy's single side", async () => {
    for (const measure of MEASURES) {
      await compare(measure, p.subarray(0, dim), q, { dim, threads: 2 });
      await compare(measure, p, q.subarray(0, dim), { dim, threads: 2 });
    }
    await compare("entropy", p, null, { dim, threads: 2 });
  });

  it("reductions and weights (with masked rows) are combined over all chunks", async () => {
    const weights = values(rows, 9, Float64Array, 0.2);
    for (const measure of MEASURES) {
      for (const reduction of ["none", "sum", "mean"] as const) {
        await compare(measure, p, q, { dim, threads: 2, reduction });
        await compare(measure, p, q, { dim, threads: 2, reduction, weights });
      }
    }
    // a masked row that is +Infinity counts as nothing, as in score()
    const inf = p.slice(), w = new Float64Array(rows).fill(1);
    const qz = q.slice();
    for (let i = 30 * dim; i < 31 * dim; i++) if (inf[i] > 0) qz[i] = 0; // q = 0 under p's mass
    w[30] = 0;
    expect(score("kl", inf, qz, { dim })[30]).toBe(Infinity);
    await compare("kl", inf, qz, { dim, threads: 2, reduction: "mean", weights: w });
  });

  it("input kinds, temperature and smoothing go to the workers", async () => {
    const logits = Float64Array.from(p, (x, i) => (i % 3 === 0 ? -x : x));
    await compare("kl", logits, q, { dim, threads: 2, input: { p: "logits", q: "probabilities" }, temperature: 2 });
    await compare("jsDivergence", logits, logits.subarray(0, dim), { dim, threads: 2, input: "log-probabilities" });
    await compare("psi", p, q, { dim, threads: 2, smoothing: { mode: "replace-zeros", epsilon: 1e-4 } });
  });

  it("uneven chunking: row counts that do not divide, rows longer than a chunk", async () => {
    for (const n of [2, 3, 5, 7, 11, 101]) {
      await compare("kl", values(n * dim, n), values(n * dim, n + 1), { dim, threads: 2 });
    }
    // 100 000 doubles a row: two rows a chunk (and the kernels' long-row path)
    const long = 100_000;
    await compare("kl", values(5 * long, 3), values(5 * long, 4), { dim: long, threads: 2 });
    await compare("hellinger", values(5 * long, 3), values(long, 4), { dim: long, threads: 2, reduction: "sum" });
  });

  it("Float32Array (the f32 kernel), mixed types, number[]", async () => {
    const p32 = values(rows * dim, 5, Float32Array), q32 = values(rows * dim, 6, Float32Array);
    for (const measure of ["kl", "jsDistance", "entropy"] as MeasureName[]) {
      await compare(measure, p32, q32, { dim, threads: 2 });
      await compare(measure, p32, q, { dim, threads: 2 });
      await compare(measure, Array.from(p), Array.from(q32), { dim, threads: 2 });
    }
    await compare("kl", Array.from(p), Array.from(q.subarray(0, dim)), { dim, threads: 2, reduction: "mean" });
  });

  it("rows on a SharedArrayBuffer are read in place; no input is detached or written", async () => {
    const sp = new Float64Array(new SharedArrayBuffer(p.byteLength)), sq = new Float32Array(new SharedArrayBuffer(q.length * 4));
    sp.set(p);
    sq.set(q);
    await compare("kl", sp, sq, { dim, threads: 2 });
    await compare("kl", sp.subarray(dim, 10 * dim), q.subarray(3 * dim, 12 * dim), { dim, threads: 2 });
    const before = [p.slice(), q.slice(), sp.slice()];
    await scoreParallel("jeffreys", p, sp, { dim, threads: 2, minElements: 0 });
    expect(p.byteLength).toBe(before[0].byteLength);
    expectSame(new Float64Array(p), before[0]);
    expectSame(new Float64Array(q), before[1]);
    expectSame(new Float64Array(sp), before[2]);
  });

  it("callingThread: the calling thread takes chunks too, same values", async () => {
    for (const measure of MEASURES) {
      await compare(measure, p, q, { dim, threads: 2, callingThread: true });
      await compare(measure, Array.from(p), q.subarray(0, dim), { dim, threads: 3, callingThread: true, reduction: "mean" });
    }
    await compare("kl", p, q, { dim, threads: 1, callingThread: true }); // in-process
  });

  it("callingThread: false (copied rows: every chunk copied to a worker), same values", async () => {
    for (const measure of MEASURES) {
      await compare(measure, p, q, { dim, threads: 2, callingThread: false });
      await compare(measure, Array.from(p), q.subarray(0, dim), { dim, threads: 2, callingThread: false, reduction: "sum" });
    }
  });

  it("the workers run the caller's backend (useBackend)", async () => {
    const selected = backend();
    useBackend("js");
    try {
      await compare("kl", p, q, { dim, threads: 2 });
      await compare("jsDistance", p, q, { dim, threads: 2, reduction: "mean" });
    } finally {
      useBackend(selected);
    }
    await compare("kl", p, q, { dim, threads: 2 });
  });

  it("without dim, or below minElements, it scores in-process (same values)", async () => {
    expectSame(await scoreParallel("kl", p, q, {} as ParallelOptions), score("kl", p, q));
    expect(PARALLEL_MIN_ELEMENTS).toBeGreaterThan(0);
    expectSame(await scoreParallel("kl", p, q, { dim }), score("kl", p, q, { dim }));
  });
});

describe("reductions are score()'s, also where a row is +Infinity", () => {
  const dim = 8, rows = 40;
  const p = values(rows * dim, 31, Float64Array, 0), q = values(rows * dim, 32, Float64Array, 0);
  const qz = q.slice();
  qz[17 * dim + 3] = 0; // q = 0 under p's mass: row 17 is +Infinity

  it("+Infinity rows, masked or not", async () => {
    const w = values(rows, 33, Float64Array, 0.3);
    expect(score("kl", p, qz, { dim })[17]).toBe(Infinity);
    for (const reduction of ["none", "sum", "mean"] as const) {
      await compare("kl", p, qz, { dim, threads: 2, reduction });
      await compare("kl", p, qz, { dim, threads: 2, reduction, weights: w });
      w[17] = 0;
      await compare("kl", p, qz, { dim, threads: 2, reduction, weights: w });
      w[17] = 1;
    }
  });

  it("a base ≤ 1 is score()'s typed error (issue 9: it made divergences negative)", async () => {
    for (const measure of ["kl", "jsDistance", "entropy"] as MeasureName[]) {
      const expected = await failure(() => score(measure, p, q, { dim, base: 0.5 }));
      expect(expected[1]).toBe("KL_BAD_OPTION");
      expect(await failure(() => scoreParallel(measure, p, q, { dim, threads: 2, base: 0.5, minElements: 0 }))).toEqual(expected);
    }
  });
});

describe("scoreFileRows: the workers read the rows from a file", () => {
  it("equals score() on the same rows bit for bit: f64 and f32, q broadcast, in memory or in a file; bad arguments are typed errors", async () => {
    const dim = 24, rows = 500, header = 40;
    const dir = mkdtempSync(join(tmpdir(), "kl-simd-file-rows-"));
    try {
      const p = values(rows * dim, 41, Float64Array, 0), q = values(rows * dim, 42, Float64Array, 0), p32 = Float32Array.from(p);
      const file = join(dir, "rows.bin");
      // a header of 40 bytes, p as f64, q as f64, p as f32
      writeFileSync(file, Buffer.concat([Buffer.alloc(header, 7), Buffer.from(p.buffer), Buffer.from(q.buffer), Buffer.from(p32.buffer)]));
      const at = { p: header, q: header + 8 * rows * dim, p32: header + 16 * rows * dim };
      const rowsIn = (offset: number, type: "f32" | "f64" = "f64") => ({ file, offset, rows, dim, type });
      expectSame(await scoreFileRows("kl", rowsIn(at.p), q, { dim, threads: 2 }), score("kl", p, q, { dim }));
      expectSame(await scoreFileRows("jsDistance", rowsIn(at.p), rowsIn(at.q), { dim, threads: 2, base: 2 }), score("jsDistance", p, q, { dim, base: 2 }));
      expectSame(await scoreFileRows("kl", rowsIn(at.p32, "f32"), q.subarray(0, dim), { dim, threads: 2 }), score("kl", p32, q.subarray(0, dim), { dim }));
      expectSame(await scoreFileRows("entropy", rowsIn(at.p), null, { dim, threads: 2 }), score("entropy", p, null, { dim }));
      // callingThread: this thread reads and scores chunks of the file too
      expectSame(await scoreFileRows("kl", rowsIn(at.p), rowsIn(at.q), { dim, threads: 2, callingThread: true }), score("kl", p, q, { dim }));
      expectSame(await scoreFileRows("hellinger", rowsIn(at.p32, "f32"), q.subarray(0, dim), { dim, threads: 2, callingThread: true }), score("hellinger", p32, q.subarray(0, dim), { dim }));
      const bad = async (call: () => Promise<unknown>) => (await failure(call)).slice(0, 2);
      expect(await bad(() => scoreFileRows("kl", rowsIn(at.p), q, { dim, reduction: "mean" }))).toEqual([KLRangeError, "KL_BAD_OPTION"]);
      expect(await bad(() => scoreFileRows("kl", { ...rowsIn(at.p), offset: -8 }, q, { dim }))).toEqual([KLRangeError, "KL_BAD_OPTION"]);
      expect(await bad(() => scoreFileRows("kl", { ...rowsIn(at.p), type: "f16" as "f32" }, q, { dim }))).toEqual([KLTypeError, "KL_BAD_OPTION"]);
      expect(await bad(() => scoreFileRows("kl", rowsIn(at.p), q.subarray(0, 7 * dim), { dim }))).toEqual([KLRangeError, "KL_BAD_SHAPE"]);
      // a bad value: score()'s error for the chunk's rows
      const [type, code] = await bad(() => scoreFileRows("kl", rowsIn(at.p), q.map((x, i) => (i === 5 ? -1 : x)), { dim, threads: 2 }));
      expect([type, code]).toEqual([KLRangeError, "KL_NEGATIVE"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("scoreFileRows: errors name the whole file's indices; file problems are KL_FILE", () => {
  const dim = 16, rows = 600; // threads 2: 4 chunks of 150 rows, so row 450 is row 0 of its chunk
  const dir = mkdtempSync(join(tmpdir(), "kl-simd-file-errors-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const p = values(rows * dim, 51, Float64Array, 0) as Float64Array, q = values(rows * dim, 52, Float64Array, 0) as Float64Array;
  let files = 0;
  const fileOf = (v: Float64Array) => {
    const file = join(dir, `rows${files++}.f64`);
    writeFileSync(file, Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    return { file, offset: 0, rows: v.length / dim, dim, type: "f64" as const };
  };
  const edit = (v: Float64Array, at: number, x: number) => v.map((y, i) => (i === at ? x : y));

  it("a bad value or row in a late chunk: score()'s error for the rows loaded whole, from a worker or the calling thread (was the row within the chunk)", async () => {
    const zeroRow = p.slice().fill(0, 599 * dim, 600 * dim);
    const cases: [MeasureName, Float64Array, Vector, boolean][] = [
      ["kl", edit(p, 450 * dim + 5, NaN), q, false], // p in the file, q in memory
      ["kl", zeroRow, q.subarray(0, dim), false], // q broadcast: its name never shifts
      ["jsDivergence", p, edit(q, 300 * dim, -1), true], // both in files
      ["hellinger", edit(p.subarray(0, 3 * dim), 2 * dim + 5, Infinity), q.subarray(0, 3 * dim), false], // chunks of one row
    ];
    for (const [measure, pv, qv, qInFile] of cases) {
      const expected = await failure(() => score(measure, pv, qv, { dim }));
      for (const callingThread of [false, true]) {
        const got = await failure(() => scoreFileRows(measure, fileOf(pv), qInFile ? fileOf(qv as Float64Array) : qv, { dim, threads: 2, callingThread }));
        expect(got, `${measure} ${expected[2]}, callingThread ${callingThread}`).toEqual(expected);
      }
    }
    expect((await failure(() => score("kl", edit(p, 450 * dim + 5, NaN), q, { dim })))[2]).toBe("p[7205] (row 450, column 5) is NaN");
    // a number[] q with a string: score()'s KLTypeError, its index in the whole array
    const words = Array.from(q) as unknown[];
    words[400 * dim + 3] = "1";
    const expected = await failure(() => score("kl", p, words as number[], { dim }));
    expect(expected[2]).toBe('q[6403] must be a number, got "1"');
    expect(await failure(() => scoreFileRows("kl", fileOf(p), words as number[], { dim, threads: 2 }))).toEqual(expected);
    // q in memory that is not rows of dim: score()'s error for it
    expect(await failure(() => scoreFileRows("kl", fileOf(p), new Proxy(q, {}), { dim, threads: 2 }))).toEqual(await failure(() => score("kl", p, new Proxy(q, {}), { dim })));
  });

  it("a missing file, a directory, rows past the end: KLParallelError KL_FILE, the same from a worker or the calling thread (was a plain Error)", async () => {
    const good = fileOf(p);
    const longer = fileOf(values((rows + 10) * dim, 53, Float64Array, 0) as Float64Array); // p beside a q file of 610 rows
    const cases: [object, RegExp][] = [
      [{ ...good, file: join(dir, "missing.f64") }, /^kl-simd\/parallel: cannot read .*missing\.f64: ENOENT/],
      [{ ...good, file: dir }, /^kl-simd\/parallel: cannot read .*: EISDIR/],
      [{ ...good, rows: rows + 10 }, /^kl-simd\/parallel: .*rows\d+\.f64 has 76800 bytes; its rows end at byte 78080 \(610 rows of 16 f64 from byte 0\)$/],
      [{ ...good, offset: 8 }, /has 76800 bytes; its rows end at byte 76808/],
    ];
    for (const [rowsIn, message] of cases) {
      for (const side of ["p", "q"]) {
        const sides = side === "p" ? [rowsIn as typeof good, q.subarray(0, dim)] : [{ ...longer, rows: (rowsIn as typeof good).rows }, rowsIn as typeof good];
        const call = (callingThread: boolean) => failure(() => scoreFileRows("kl", sides[0] as typeof good, sides[1], { dim, threads: 2, callingThread }));
        const [type, code, text] = await call(false);
        expect([type, code], text).toEqual([KLParallelError, "KL_FILE"]);
        expect(text).toMatch(message);
        expect(await call(true)).toEqual([type, code, text]);
      }
    }
  });
});

describe("independent expected values", () => {
  it("kl, rows against one row, per row and weighted mean: SciPy", async () => {
    // python3: from scipy.stats import entropy; p = [[1,2,3,4],[.5,.25,.125,.125],[0,1,1,2]];
    // q = [4,3,2,1]; k = [entropy(r, q) for r in p]; np.sum(k * w) / np.sum(w), w = [1,.5,2]
    // (SciPy 1.17.1)
    const p = [1, 2, 3, 4, 0.5, 0.25, 0.125, 0.125, 0, 1, 1, 2], q = [4, 3, 2, 1];
    const expected = [0.4564348191467836, 0.03513387671717547, 0.814924454847114];
    const rows = await scoreParallel("kl", p, q, { dim: 4, threads: 2, minElements: 0 });
    for (let r = 0; r < 3; r++) expect(rows[r]).toBeCloseTo(expected[r], 15);
    const mean = await scoreParallel("kl", p, q, { dim: 4, threads: 2, minElements: 0, reduction: "mean", weights: [1, 0.5, 2] });
    expect(Math.abs(mean / 0.6011001906284569 - 1)).toBeLessThan(4e-16);
  });
});

describe("errors are score()'s: class, code, and the caller's indices", () => {
  const dim = 16, rows = 200;
  const p = values(rows * dim, 11, Float64Array, 0), q = values(rows * dim, 12, Float64Array, 0);
  const both = async (measure: MeasureName, a: Vector, b: Vector | null, options: ParallelOptions) => {
    const { threads: _t, minElements: _m, callingThread: _c, ...rest } = options;
    const expected = await failure(() => score(measure, a, b, rest));
    const actual = await failure(() => scoreParallel(measure, a, b, { minElements: 0, ...options }));
    expect(actual).toEqual(expected);
    return actual;
  };

  it("an invalid element in a late chunk names its row and column in the whole input", async () => {
    const bad = p.slice();
    bad[173 * dim + 5] = -1;
    const [type, code, message] = await both("kl", bad, q, { dim, threads: 2 });
    expect(type).toBe(KLRangeError);
    expect(code).toBe("KL_NEGATIVE");
    expect(message).toBe("p[2773] (row 173, column 5) is -1; values must be ≥ 0");
    expect(await both("kl", bad, q, { dim, threads: 2, callingThread: true })).toEqual([type, code, message]);
    const early = p.slice();
    early[3] = -2; // in the first chunk, which the calling thread takes
    expect((await both("kl", early, q, { dim, threads: 2, callingThread: true }))[2]).toBe("p[3] (row 0, column 3) is -2; values must be ≥ 0");
    const nan = q.slice();
    nan[199 * dim + 15] = NaN;
    expect((await both("jsDivergence", p, nan, { dim, threads: 1 }))[2]).toBe("q[3199] (row 199, column 15) is NaN");
    const inf = Float32Array.from(q);
    inf[100 * dim] = Infinity;
    expect((await both("hellinger", Float32Array.from(p), inf, { dim, threads: 2 }))[1]).toBe("KL_INFINITE");
  });

  it("a row that sums to 0, logits with no finite value", async () => {
    const zero = p.slice();
    zero.fill(0, 150 * dim, 151 * dim);
    expect((await both("kl", zero, q, { dim, threads: 2 }))[2]).toBe("p row 150 sums to 0 and cannot be normalised");
    const logits = p.slice();
    logits.fill(-Infinity, 120 * dim, 121 * dim);
    expect((await both("kl", logits, q, { dim, threads: 2, input: { p: "logits" } }))[1]).toBe("KL_ZERO_SUM");
  });

  it("a Proxy of a typed array, and a detached one: score()'s KL_NOT_ARRAY and KL_DETACHED (the Proxy was a plain TypeError)", async () => {
    const [type, code, message] = await both("kl", new Proxy(p, {}), q, { dim, threads: 2 });
    expect([type, code, message]).toEqual([KLTypeError, "KL_NOT_ARRAY", "p is a Proxy of a typed array: pass the array itself"]);
    expect((await both("kl", p, new Proxy(q, {}), { dim, threads: 2, callingThread: true }))[1]).toBe("KL_NOT_ARRAY");
    expect((await both("kl", Object.create(p) as Float64Array, q, { dim, threads: 2 }))[1]).toBe("KL_NOT_ARRAY");
    const detached = p.slice();
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    expect((await both("kl", detached, q, { dim, threads: 2 }))[1]).toBe("KL_DETACHED");
  });

  it("types, shapes, options and weights", async () => {
    const array = Array.from(p) as unknown[];
    array[1000] = "1";
    expect((await both("kl", array as number[], q, { dim, threads: 2 }))[0]).toBe(KLTypeError);
    await both("kl", p, q.subarray(0, 2 * dim), { dim, threads: 2 });
    await both("kl", p, q.subarray(0, 7), { dim, threads: 2 });
    await both("kl", p, q, { dim, threads: 2, reduction: "average" as "mean" });
    await both("kl", p, q, { dim, threads: 2, weights: new Float64Array(rows - 1) });
    await both("kl", p, q, { dim, threads: 2, weights: new Float64Array(rows).fill(-1) });
    await both("nope" as MeasureName, p, q, { dim, threads: 2 });
    for (const [threads, type] of [[0, KLRangeError], [1.5, KLRangeError], [NaN, KLRangeError], ["2", KLTypeError]] as const) {
      expect((await failure(() => scoreParallel("kl", p, q, { dim, threads: threads as number }))).slice(0, 2)).toEqual([type, "KL_BAD_OPTION"]);
    }
    expect((await failure(() => scoreParallel("kl", p, q, { dim, minElements: -1 })))[2]).toBe("options.minElements must be a number ≥ 0, got -1");
    expect((await failure(() => scoreParallel("kl", p, q, { dim, callingThread: 1 as unknown as boolean })))[0]).toBe(KLTypeError);
  });
});

describe("the pool", () => {
  const dim = 32, rows = 300;
  const p = values(rows * dim, 21), q = values(rows * dim, 22);

  it("threads far above the cores are clamped to them: no more workers, quickly, same values", async () => {
    await close();
    const started = Date.now();
    await compare("kl", p, q, { dim, threads: 1000 });
    await compare("jsDivergence", p, q, { dim, threads: 1000, callingThread: true, reduction: "mean" });
    expect(poolSize()).toBeGreaterThan(0);
    expect(poolSize()).toBeLessThanOrEqual(maxThreads());
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("a worker that dies is replaced and its rows run again; one that dies twice on them is reported", async () => {
    const post = Worker.prototype.postMessage;
    let kills = 1;
    // the first chunk posted kills its worker (as a crash or an outside terminate() would)
    Worker.prototype.postMessage = function (this: Worker, ...args: Parameters<Worker["postMessage"]>) {
      post.apply(this, args);
      if (kills-- > 0) void this.terminate();
    };
    try {
      await close();
      // callingThread: false, so that chunks go to the workers (this thread would otherwise
      // score them all while the workers load)
      await compare("kl", p, q, { dim, threads: 2, callingThread: false });
      expect(kills).toBeLessThan(0); // the kill happened
      kills = Infinity;
      const lost = await failure(() => scoreParallel("kl", p, q, { dim, threads: 2, minElements: 0, callingThread: false }));
      expect(lost.slice(0, 2)).toEqual([KLParallelError, "KL_WORKER_LOST"]);
    } finally {
      Worker.prototype.postMessage = post;
    }
    await compare("kl", p, q, { dim, threads: 2 });
  });

  it("workers that cannot load are not started forever: the call is rejected after two, the next call starts afresh", async () => {
    const emit = Worker.prototype.emit;
    // every worker fails as it would loading (an error instead of its first message)
    Worker.prototype.emit = function (this: Worker, event: string | symbol, ...args: unknown[]) {
      if (event === "message" && (args[0] as { ready?: boolean })?.ready) return emit.call(this, "error", new Error("cannot load"));
      return emit.call(this, event, ...args);
    } as typeof emit;
    try {
      await close();
      const started = Date.now();
      const lost = await failure(() => scoreParallel("kl", p, q, { dim, threads: 2, minElements: 0, callingThread: false }));
      expect(lost.slice(0, 2)).toEqual([KLParallelError, "KL_WORKER_LOST"]);
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      Worker.prototype.emit = emit;
    }
    await compare("kl", p, q, { dim, threads: 2, callingThread: false });
  });

  it("the workers get the caller's compiled kernel (kernelModule()), and give the same values", async () => {
    const module = kernelModule();
    if ((await init()) === "js") expect(module).toBeNull(); // no SIMD here: no kernel to share
    else expect(WebAssembly.Module.exports(module!).map((e) => e.name)).toEqual(expect.arrayContaining(["klF64", "klRows", "pairRows", "memory"]));
    await close();
    await compare("jeffreys", p, q, { dim, threads: 2, callingThread: false });
  });

  it("allocate: rows on shared memory, zeroed, read in place; bad lengths and types are typed errors", async () => {
    expect(sharedMemory()).toBe(true);
    const a = allocate(rows * dim), b = allocate(rows * dim, Float32Array);
    expect(a).toBeInstanceOf(Float64Array);
    expect(b).toBeInstanceOf(Float32Array);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(a.every((x) => x === 0)).toBe(true);
    a.set(p);
    b.set(q);
    await compare("hellinger", a, b, { dim, threads: 2 });
    // a shared WebAssembly.Memory (as AssemblyScript's threads build makes) is a SharedArrayBuffer
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true });
    const m = new Float64Array(memory.buffer, 8, rows * dim);
    m.set(p);
    await compare("jsDistance", m, q, { dim, threads: 2, callingThread: false });
    expect((await failure(() => allocate(-1))).slice(0, 2)).toEqual([KLRangeError, "KL_BAD_OPTION"]);
    expect((await failure(() => allocate(1.5))).slice(0, 2)).toEqual([KLRangeError, "KL_BAD_OPTION"]);
    expect((await failure(() => allocate("8" as unknown as number)))[0]).toBe(KLTypeError);
    expect((await failure(() => allocate(8, Int32Array as unknown as Float64ArrayConstructor)))[0]).toBe(KLTypeError);
  });

  it("close() settles after a rejected call and in the middle of one: 20 processes, each exits 0 after close()", async () => {
    const script = `
      import { close, scoreParallel } from ${JSON.stringify(new URL("../dist/parallel.js", import.meta.url).href)};
      const dim = 64, n = dim * 40000;
      const p = new Float64Array(n).map((_, i) => 1 + (i % 7)), q = p.map((x, i) => 1 + (i % 3));
      const bad = p.slice();
      bad[5] = -1; // the first chunk: the call rejects while the other worker is still busy
      const options = { dim, threads: 2, minElements: 0 };
      const rejected = await scoreParallel("kl", bad, q, options).then(() => "resolved", (e) => e.code);
      await close();
      const running = scoreParallel("kl", p, q, options).then(() => "resolved", (e) => e.code);
      await new Promise((r) => setTimeout(r, 5));
      await close();
      console.log("after close()", rejected, await running);`;
    const dir = mkdtempSync(join(tmpdir(), "kl-simd-parallel-"));
    const file = join(dir, "close.mjs");
    writeFileSync(file, script);
    const one = () => new Promise<[number | null, string]>((done) => {
      const child = spawn(process.execPath, [file], { stdio: ["ignore", "pipe", "inherit"], timeout: 30_000 });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.on("close", (code) => done([code, out.trim()]));
    });
    try {
      for (let round = 0; round < 10; round++) {
        // two at a time: one per core
        for (const [code, out] of await Promise.all([one(), one()])) {
          expect(code).toBe(0);
          expect(out).toMatch(/^after close\(\) KL_NEGATIVE (resolved|KL_POOL_CLOSED)$/);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("serves concurrent calls with different options, and again after close()", async () => {
    const calls = [
      compare("kl", p, q, { dim, threads: 2 }),
      compare("psi", p, q.subarray(0, dim), { dim, threads: 1, reduction: "sum" }),
      compare("entropy", p, null, { dim, threads: 2, base: 2 }),
      compare("hellinger", q, p, { dim, threads: 2, reduction: "mean" }),
    ];
    await Promise.all(calls);
    await close();
    await compare("kl", p, q, { dim, threads: 2 });
    await close();
    await close(); // closing a closed pool is fine
  });

  it("close() rejects the calls in progress", async () => {
    const big = values(64 * 20_000, 23), other = values(64 * 20_000, 24);
    const outcome = (call: Promise<unknown>) => call.then(() => "resolved", (e: Error) => e.message);
    const started = outcome(scoreParallel("kl", big, other, { dim: 64, threads: 2 }));
    await close();
    expect(await started).toBe("kl-simd/parallel: the pool was closed");
    // chunks already at the workers
    await scoreParallel("kl", p, q, { dim, threads: 2 }); // the pool is up
    const running = outcome(scoreParallel("kl", big, other, { dim: 64, threads: 2 }));
    await new Promise((r) => setTimeout(r, 1));
    await close();
    expect(await running).toMatch(/^kl-simd\/parallel: (the pool was closed|a worker exited)/);
    await compare("kl", p, q, { dim, threads: 2 });
  });

  it("keeps a process alive while a call runs, and lets it exit when idle (no close())", () => {
    const script = `
      import { scoreParallel } from ${JSON.stringify(new URL("../dist/parallel.js", import.meta.url).href)};
      const p = new Float64Array(64 * 1000).fill(1), q = p.map((x, i) => 1 + (i % 3));
      const mean = await scoreParallel("kl", p, q, { dim: 64, threads: 2, minElements: 0, reduction: "mean" });
      console.log(mean.toFixed(6));`;
    const started = Date.now();
    const file = join(mkdtempSync(join(tmpdir(), "kl-simd-parallel-")), "exit.mjs");
    writeFileSync(file, script);
    const out = execFileSync(process.execPath, [file], { encoding: "utf8", timeout: 20_000 });
    rmSync(dirname(file), { recursive: true, force: true });
    expect(Number(out)).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
