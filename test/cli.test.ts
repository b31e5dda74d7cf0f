// The command line as users run it: the built dist/cli.js in a child process, on small files
// written to a temporary folder. Known answers come from SciPy (hard-coded below, with the
// expression that produced each), not from the library itself.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { KLRangeError, init, kl } from "../src/index.js";
import { parse } from "../src/cli/args.js";
import { CliError } from "../src/cli/errors.js";
import { Progress } from "../src/cli/progress.js";
import { run } from "../src/cli/run.js";
import { inProcess } from "../src/cli/scoring.js";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
// a test starts up to ten node processes, ~0.3 s each on an idle machine and several seconds on
// a loaded one (CI on shared cores timed out at vitest's default 5 s)
vi.setConfig({ testTimeout: 60_000 });
let dir = "";
const file = (name: string) => join(dir, name);

beforeAll(async () => {
  await init();
  dir = mkdtempSync(join(tmpdir(), "kl-simd-cli-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], input?: string | Uint8Array) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, input, maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8"), bytes: r.stdout };
}

/** The value column of `row,<measure>` CSV output. */
function column(stdout: string): number[] {
  const [header, ...lines] = stdout.trim().split("\n");
  expect(header).toMatch(/^row,/);
  return lines.map((l) => Number(l.split(",")[1]));
}

function expectClose(actual: number[], expected: number[], rel = 1e-12) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    if (expected[i] === 0) expect(Math.abs(a)).toBeLessThan(1e-15);
    else expect(Math.abs(a / expected[i] - 1), `element ${i}: ${a} vs ${expected[i]}`).toBeLessThan(rel);
  });
}

/** A minimal .npy writer, independent of src/cli/npy.ts. */
function npy(values: number[][], descr: "<f8" | "<f4"): Buffer {
  const rows = values.length, dim = values[0].length;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${rows}, ${dim}), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const header = Buffer.alloc(total, " ");
  header.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  header.writeUInt16LE(total - 10, 8);
  header.write(dict, 10, "latin1");
  header[total - 1] = 10;
  const data = descr === "<f8" ? new Float64Array(values.flat()) : new Float32Array(values.flat());
  return Buffer.concat([header, Buffer.from(data.buffer)]);
}

/** Reads a 1-D or 2-D .npy (float64 or int32) the plain way. */
function readNpy(bytes: Buffer): { shape: number[]; values: number[] } {
  expect([...bytes.subarray(0, 6)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
  const length = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + length).toString("latin1");
  const shape = /'shape': \(([^)]*)\)/.exec(header)![1].split(",").filter((s) => s.trim() !== "").map(Number);
  const data = bytes.subarray(10 + length);
  const values = header.includes("'<i4'")
    ? [...new Int32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length))]
    : [...new Float64Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length))];
  return { shape, values };
}

// P (3 rows) against q; SciPy 1.17.1, numpy 2.4.6
const P = [[0.1, 0.4, 0.5], [0.3, 0.3, 0.4], [0.8, 0.15, 0.05]];
const q = [0.25, 0.25, 0.5];
const Q = [[0.2, 0.2, 0.6], [0.3, 0.3, 0.4], [0.1, 0.1, 0.8]];
const SCIPY = {
  // [scipy.stats.entropy(p, q) for p in P]
  kl: [0.09637237851087874, 0.020135513550688863, 0.7387675496299438],
  // [scipy.stats.entropy(p, q, base=2) for p in P]
  klBits: [0.13903595255631887, 0.029049405545331346, 1.065816280220811],
  // [scipy.spatial.distance.jensenshannon(p, q, 2) for p in P]
  jsDistanceBits: [0.1911857839011702, 0.08543510262458807, 0.522040125769717],
  // [scipy.stats.entropy(p) for p in P]
  entropy: [0.9433483923290393, 1.0888999753452238, 0.6128694524619495],
  // np.mean([scipy.stats.entropy(p, q) for p in P])
  klMean: 0.2850918138971705,
  // [scipy.stats.entropy(p, qq) for p, qq in zip(P, Q)]
  against: [0.11678337577100627, 0, 1.5857435634481043],
  // scipy.stats.entropy([1, 2, 3], [2, 2, 2]) and scipy.special.kl_div([1, 2, 3], [2, 2, 2]).sum()
  countsKL: 0.08720802396075801,
  countsGeneralizedKL: 0.5232481437645478,
  // scipy.stats.entropy(softmax(a / 2), softmax(b / 2)), a = [2, 1, 0.1], b = [1.5, 1.2, 0.3]
  logitsT2: 0.015240761071105217,
};
const csv = (rows: number[][], sep = ",") => rows.map((r) => r.join(sep)).join("\n") + "\n";

describe("known answers (SciPy)", () => {
  it("kl of every row against --ref-values, --ref FILE, in nats and bits", () => {
    writeFileSync(file("p.csv"), csv(P));
    writeFileSync(file("q.csv"), csv([q]));
    expectClose(column(cli(["score", "p.csv", "--ref-values", q.join(",")]).stdout), SCIPY.kl);
    expectClose(column(cli(["score", "p.csv", "--ref", "q.csv"]).stdout), SCIPY.kl);
    expectClose(column(cli(["score", "p.csv", "--ref", "q.csv", "--base", "2"]).stdout), SCIPY.klBits);
  });

  it("other measures, the mean, --against, counts and logits", () => {
    writeFileSync(file("p.csv"), csv(P));
    writeFileSync(file("other.csv"), csv(Q));
    const ref = ["--ref-values", q.join(",")];
    expectClose(column(cli(["score", "p.csv", ...ref, "--measure", "js-distance", "--base", "2"]).stdout), SCIPY.jsDistanceBits);
    expectClose(column(cli(["score", "p.csv", "--measure", "entropy"]).stdout), SCIPY.entropy);
    expect(cli(["score", "p.csv", ...ref, "--reduction", "mean"]).stdout).toMatch(/^rows,kl_mean\n3,0\.28509181389717/);
    const mean = Number(cli(["score", "p.csv", ...ref, "--reduction", "mean"]).stdout.split("\n")[1].split(",")[1]);
    expectClose([mean], [SCIPY.klMean]);
    expectClose(column(cli(["score", "p.csv", "--against", "other.csv"]).stdout), SCIPY.against);
    writeFileSync(file("counts.csv"), "1,2,3\n");
    expectClose(column(cli(["score", "counts.csv", "--ref-values", "2,2,2"]).stdout), [SCIPY.countsKL]);
    expectClose(column(cli(["score", "counts.csv", "--ref-values", "2,2,2", "--measure", "generalized-kl"]).stdout), [SCIPY.countsGeneralizedKL]);
    writeFileSync(file("logits.ndjson"), '{"id": 1, "logits": [2.0, 1.0, 0.1]}\n');
    const out = cli(["score", "logits.ndjson", "--field", "logits", "--ref-values", "1.5,1.2,0.3", "--input", "logits", "--temperature", "2"]);
    expectClose(column(out.stdout), [SCIPY.logitsT2], 1e-13);
  });
});

describe("--reduction of rows whose sum leaves the double range (round four: Infinity, exit 0)", () => {
  it("the mean of six rows of 3.68e307 is theirs; their sum is an error (exit 1)", () => {
    writeFileSync(file("big.csv"), "1e308\n".repeat(6));
    // generalizedKL([1e308], [3.6787944117144235e307]) by mpmath (test/fixtures/generate_regressions.py, reduceBig/row)
    const args = ["score", "big.csv", "--ref-values", "3.6787944117144235e307", "-m", "generalized-kl", "--no-normalize"];
    const mean = cli([...args, "--reduction", "mean"]);
    expect(mean.status, mean.stderr).toBe(0);
    expectClose([Number(mean.stdout.split("\n")[1].split(",")[1])], [3.6787944117144235e307], 1e-15);
    const sum = cli([...args, "--reduction", "sum"]);
    expect(sum.status).toBe(1);
    expect(sum.stderr).toMatch(/the sum of the 6 rows exceeds the double range/);
  });
});

describe("every input format gives the same rows", () => {
  const expected = SCIPY.kl;
  const ref = ["--ref-values", q.join(",")];
  const cases: [string, () => string | Buffer, string[]][] = [
    ["p.csv", () => csv(P), []],
    ["p.tsv", () => csv(P, "\t"), []],
    ["blank-separated.txt", () => csv(P, "  "), []],
    ["header.csv", () => "a,b,c\n" + csv(P), ["--header"]],
    ["crlf-quoted.csv", () => P.map((r) => r.map((x) => `"${x}"`).join(",")).join("\r\n"), []], // no final newline
    ["comments.csv", () => "# made by hand\n\n" + csv(P), ["--no-header"]],
    ["arrays.ndjson", () => P.map((r) => JSON.stringify(r)).join("\n") + "\n", []],
    ["objects.jsonl", () => P.map((r) => JSON.stringify({ probs: r, tag: "x" })).join("\n") + "\n", ["--field", "probs"]],
    ["p.npy", () => npy(P, "<f8"), []],
    ["p.f64", () => Buffer.from(new Float64Array(P.flat()).buffer), ["--format", "f64", "--dim", "3"]],
  ];
  for (const [name, content, extra] of cases) {
    it(`${name} ${extra.join(" ")}`, () => {
      writeFileSync(file(name), content());
      const out = cli(["score", name, ...ref, ...extra]);
      expect(out.stderr).toBe("");
      expectClose(column(out.stdout), expected);
    });
  }

  it("float32: .npy <f4 and raw f32 (the float32 values, to float32 accuracy)", () => {
    writeFileSync(file("p32.npy"), npy(P, "<f4"));
    writeFileSync(file("p.f32"), Buffer.from(new Float32Array(P.flat()).buffer));
    expectClose(column(cli(["score", "p32.npy", ...ref]).stdout), expected, 1e-6);
    expectClose(column(cli(["score", "p.f32", "--format", "f32", "--dim", "3", ...ref]).stdout), expected, 1e-6);
  });

  it("standard input: CSV, NDJSON and .npy are recognised from their bytes", () => {
    expectClose(column(cli(["score", "-", ...ref], csv(P)).stdout), expected);
    expectClose(column(cli(["score", "-", ...ref], P.map((r) => JSON.stringify(r)).join("\n")).stdout), expected);
    expectClose(column(cli(["score", "-", ...ref], npy(P, "<f8")).stdout), expected);
    expectClose(column(cli(["score", "-", "--format", "f64", "--dim", "3", ...ref], Buffer.from(new Float64Array(P.flat()).buffer)).stdout), expected);
  });

  it("numpy reads what it wrote and what the CLI writes (when python3 with numpy is here)", () => {
    const made = spawnSync("python3", ["-c", `import numpy as np; np.save("np.npy", np.array(${JSON.stringify(P)})); np.savetxt("np.txt", np.array(${JSON.stringify(P)}))`], { cwd: dir });
    if (made.status !== 0) return; // no numpy: the hand-written .npy cases above still run
    expectClose(column(cli(["score", "np.npy", ...ref]).stdout), expected);
    expectClose(column(cli(["score", "np.txt", ...ref]).stdout), expected); // savetxt: "%.18e", blank-separated
    cli(["score", "np.npy", ...ref, "-o", "out.npy"]);
    const loaded = spawnSync("python3", ["-c", "import numpy as np; a = np.load('out.npy'); print(a.dtype, a.shape, repr(a.tolist()))"], { cwd: dir });
    expect(loaded.stdout.toString()).toMatch(/^float64 \(3,\) \[/);
  });

  it("blocks: many rows in small blocks, a line longer than the read buffer", () => {
    const rows: number[][] = [];
    for (let r = 0; r < 5000; r++) rows.push(Array.from({ length: 16 }, (_, j) => ((r * 31 + j * 7) % 97) / 97 + 1e-3 * Math.sqrt(r + j)));
    const want = kl(new Float64Array(rows.flat()), new Float64Array(16).fill(1), { dim: 16 });
    const out = cli(["score", "-", "--ref-values", Array(16).fill(1).join(","), "--block-rows", "7"], csv(rows));
    expectClose(column(out.stdout), [...want], 1e-13); // the CLI runs SIMD; this process may run the JS path (test:no-simd)
    expect(column(out.stdout).length).toBe(5000);
    const long = Array.from({ length: 300_000 }, (_, j) => 1 + (j % 10)); // ~0.6–2 MB in one line
    const other = long.map((x) => 11 - x);
    const text = (rows: number[][]) => rows.map((r) => r.map((x) => x.toExponential(12)).join(",")).join("\n");
    writeFileSync(file("long.csv"), text([long, other]));
    writeFileSync(file("long2.csv"), text([other, long]));
    const want2 = [kl(new Float64Array(long), new Float64Array(other)), kl(new Float64Array(other), new Float64Array(long))];
    expectClose(column(cli(["score", "long.csv", "--against", "long2.csv"]).stdout), want2, 1e-13);
  }, 30_000); // two CLI runs of ~2 s each: the default 5 s ran out on a loaded 2-core machine (main too)
});

describe("outputs", () => {
  const ref = ["--ref-values", q.join(",")];
  it("CSV (default), NDJSON and .npy, to stdout and to files", () => {
    writeFileSync(file("p.csv"), csv(P));
    const nd = cli(["score", "p.csv", ...ref, "--output-format", "ndjson"]).stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(nd.map((o) => o.row)).toEqual([0, 1, 2]);
    expectClose(nd.map((o) => o.kl), SCIPY.kl);
    cli(["score", "p.csv", ...ref, "-o", "out.ndjson"]);
    expect(readFileSync(file("out.ndjson"), "utf8")).toMatch(/^\{"row":0,"kl":0\.0963723785108787/);
    cli(["score", "p.csv", ...ref, "-o", "out.npy"]);
    const a = readNpy(readFileSync(file("out.npy")));
    expect(a.shape).toEqual([3]);
    expectClose(a.values, SCIPY.kl);
    cli(["score", "p.csv", ...ref, "-o", "out.csv"]);
    expectClose(column(readFileSync(file("out.csv"), "utf8")), SCIPY.kl);
    writeFileSync(file("p.npy"), npy(P, "<f8"));
    const piped = readNpy(cli(["score", "p.npy", ...ref, "--output-format", "npy"]).bytes);
    expect(piped.shape).toEqual([3]);
    expectClose(piped.values, SCIPY.kl);
  });

  it(".npy to stdout needs a known row count", () => {
    writeFileSync(file("p.csv"), csv(P));
    const out = cli(["score", "p.csv", ...ref, "--output-format", "npy"]);
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/--output FILE\.npy/);
  });

  it("an infinite divergence: Infinity in CSV, the string in NDJSON", () => {
    writeFileSync(file("zero.csv"), "0.5,0.5\n");
    expect(column(cli(["score", "zero.csv", "--ref-values", "1,0"]).stdout)).toEqual([Infinity]);
    expect(JSON.parse(cli(["score", "zero.csv", "--ref-values", "1,0", "--output-format", "ndjson"]).stdout).kl).toBe("Infinity");
  });
});

describe("topk", () => {
  it("the k nearest candidates, in CSV, NDJSON and .npy", () => {
    writeFileSync(file("queries.csv"), "0.2,0.8\n0.5,0.5\n");
    writeFileSync(file("candidates.csv"), "0.5,0.5\n0.9,0.1\n0.25,0.75\n");
    const out = cli(["topk", "queries.csv", "--candidates", "candidates.csv", "--k", "2"]);
    const lines = out.stdout.trim().split("\n");
    expect(lines[0]).toBe("query,rank,index,score");
    expect(lines.slice(1).map((l) => l.split(",").slice(0, 3).join(","))).toEqual(["0,1,2", "0,2,0", "1,1,0", "1,2,2"]);
    // scipy.stats.entropy([0.2, 0.8], [0.25, 0.75]), entropy([0.2, 0.8], [0.5, 0.5]), 0, entropy([0.5, 0.5], [0.25, 0.75])
    expectClose(lines.slice(1).map((l) => Number(l.split(",")[3])), [0.007002106647214975, 0.19274475702175753, 0, 0.14384103622589045], 1e-14);
    const nd = JSON.parse(cli(["topk", "queries.csv", "--candidates", "candidates.csv", "--k", "1", "--output-format", "ndjson"]).stdout.split("\n")[0]);
    expect(nd.query).toBe(0);
    expect(nd.indices).toEqual([2]);
    cli(["topk", "queries.csv", "--candidates", "candidates.csv", "--k", "2", "-o", "near.npy"]);
    const indices = readNpy(readFileSync(file("near.npy"))), scores = readNpy(readFileSync(file("near.scores.npy")));
    expect(indices.shape).toEqual([2, 2]);
    expect(indices.values).toEqual([2, 0, 0, 2]);
    expect(scores.values[2]).toBe(0);
  });

  it("--input-p logits --temperature T beside probabilities: with --ref-values, --ref and topk's candidates (all were refused)", () => {
    writeFileSync(file("z.csv"), "1,2\n0,0\n");
    writeFileSync(file("zq.csv"), "0.5,0.5\n0.5,0.5\n");
    // scipy.stats.entropy(scipy.special.softmax(np.array([1., 2.]) / 2), [0.5, 0.5]), and of [0, 0]: 0
    const want = [0.030299861980765966, 0];
    const logits = ["--input-p", "logits", "--temperature", "2"];
    expectClose(column(cli(["score", "z.csv", "--ref-values", "0.5,0.5", ...logits]).stdout), want, 1e-14);
    writeFileSync(file("zr.csv"), "0.5,0.5\n");
    expectClose(column(cli(["score", "z.csv", "--ref", "zr.csv", ...logits]).stdout), want, 1e-14);
    expectClose(column(cli(["score", "z.csv", "--against", "zq.csv", ...logits]).stdout), want, 1e-14);
    const top = cli(["topk", "z.csv", "--candidates", "zq.csv", "--k", "1", ...logits]);
    expect(top.status, top.stderr).toBe(0);
    expectClose(top.stdout.trim().split("\n").slice(1).map((l) => Number(l.split(",")[3])), want, 1e-14);
  });

  it("k larger than the candidates is a usage error", () => {
    writeFileSync(file("queries.csv"), "0.2,0.8\n");
    writeFileSync(file("candidates.csv"), "0.5,0.5\n");
    const out = cli(["topk", "queries.csv", "--candidates", "candidates.csv", "--k", "3"]);
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/--k 3 is more than the 1 candidate rows/);
  });
});

describe("bad input: file:line:column, exit codes, --on-error skip", () => {
  const ref = ["--ref-values", "0.5,0.5"];
  const cases: [string, string, RegExp][] = [
    ["not-a-number", "0.2,0.8\n0.5,x\n", /^kl-simd: not-a-number\.csv:2:5: "x" is not a number$/m],
    ["negative", "0.2,0.8\n0.5,0.5\n-0.1,1.1\n", /^kl-simd: negative\.csv:3:1: -0\.1 is negative; probabilities must be ≥ 0$/m],
    ["too-long", "0.2,0.8\n0.1,0.2,0.7\n", /^kl-simd: too-long\.csv:2:9: row has 3 values, expected 2$/m],
    ["too-short", "0.2,0.8\n1\n", /^kl-simd: too-short\.csv:2:2: row has 1 value, expected 2$/m],
    ["empty-field", "0.2,\n", /^kl-simd: empty-field\.csv:1:5: empty field: expected a number$/m],
    ["nan", "0.2,nan\n", /^kl-simd: nan\.csv:1:5: nan is NaN; values must be numbers$/m],
    ["zero-row", "0.2,0.8\n0,0\n", /^kl-simd: zero-row\.csv:2: the row sums to 0 and cannot be normalised$/m],
  ];
  for (const [name, content, message] of cases) {
    it(name, () => {
      writeFileSync(file(`${name}.csv`), content);
      const out = cli(["score", `${name}.csv`, ...ref]);
      expect(out.status).toBe(1);
      expect(out.stderr).toMatch(message);
    });
  }

  it("NDJSON: a --field the object lacks is missing, a name of Object.prototype too (was \"not an array\")", () => {
    writeFileSync(file("objects.ndjson"), '{"probs": [0.2, 0.8]}\n');
    for (const field of ["logits", "constructor", "__proto__"]) {
      const out = cli(["score", "objects.ndjson", ...ref, "--field", field]);
      expect(out.status, field).toBe(1);
      expect(out.stderr).toBe(`kl-simd: objects.ndjson:1:1: field "${field}" is missing\n`);
    }
  });

  it("binary input: the row, element and byte offset", () => {
    writeFileSync(file("bad.npy"), npy([[0.2, 0.8], [0.5, 0.5], [-0.1, 1.1]], "<f8"));
    const out = cli(["score", "bad.npy", ...ref]);
    expect(out.status).toBe(1);
    expect(out.stderr).toBe("kl-simd: bad.npy: row 2, element 0 (byte offset 160): -0.1 is negative; probabilities must be ≥ 0\n");
    writeFileSync(file("partial.f64"), Buffer.from(new Float64Array([0.5, 0.5, 0.2]).buffer));
    const partial = cli(["score", "partial.f64", "--format", "f64", "--dim", "2", ...ref]);
    expect(partial.status).toBe(1);
    expect(partial.stderr).toMatch(/partial\.f64: 8 bytes at byte offset 16 are not a whole row of 2 f64 values/);
    writeFileSync(file("truncated.npy"), npy([[0.2, 0.8], [0.5, 0.5]], "<f8").subarray(0, 128 + 20));
    expect(cli(["score", "truncated.npy", ...ref]).stderr).toMatch(/truncated: the header says 2 rows, the data ends after 1 rows and 4 bytes/);
  });

  it("--on-error skip leaves bad rows out, counts them on stderr, exits 0", () => {
    writeFileSync(file("mixed.csv"), "0.2,0.8\n0.5,x\n0.1,0.2,0.7\n0.5,0.5\n-1,2\n0,0\n0.9,0.1\n");
    const out = cli(["score", "mixed.csv", ...ref, "--on-error", "skip"]);
    expect(out.status).toBe(0);
    expect(out.stderr).toBe('kl-simd: skipped 4 bad rows (the first: mixed.csv:2:5: "x" is not a number)\n');
    expect(out.stdout.trim().split("\n").map((l) => l.split(",")[0])).toEqual(["row", "0", "3", "6"]);
    writeFileSync(file("mixed.npy"), npy([[0.2, 0.8], [-0.1, 1.1], [0.5, 0.5]], "<f8"));
    const bin = cli(["score", "mixed.npy", ...ref, "--on-error", "skip", "-o", "skipped.npy"]);
    expect(bin.stderr).toMatch(/skipped 1 bad row \(the first: mixed\.npy: row 1, element 0/);
    const values = readNpy(readFileSync(file("skipped.npy"))).values;
    expect(values.length).toBe(3); // one value per input row: NaN where skipped
    expect(values[1]).toBeNaN();
    // --against: a row bad in either file is left out
    writeFileSync(file("left.csv"), "0.2,0.8\n0.5,0.5\n0.9,0.1\n");
    writeFileSync(file("right.csv"), "0.5,0.5\n0.5,y\n0.5,0.5\n");
    const pair = cli(["score", "left.csv", "--against", "right.csv", "--on-error", "skip"]);
    expect(pair.stdout.trim().split("\n").map((l) => l.split(",")[0])).toEqual(["row", "0", "2"]);
    expect(pair.stderr).toMatch(/skipped 1 bad row \(the first: right\.csv:2:5: "y" is not a number\)/);
    // a bad reference is never skipped
    const badRef = cli(["score", "mixed.csv", "--ref-values", "0,0", "--on-error", "skip"]);
    expect(badRef.status).toBe(1);
    expect(badRef.stderr).toMatch(/^kl-simd: --ref-values: the row sums to 0/);
  });

  it("usage errors exit 2 with a hint", () => {
    writeFileSync(file("p.csv"), csv(P));
    const cases: [string[], RegExp][] = [
      [["score", "p.csv"], /say what to score against/],
      [["score", "p.csv", "--ref-values", "1,1,1", "--measure", "kld"], /--measure "kld" is not a measure; one of: kl, entropy/],
      // names of Object.prototype are not measures either (the table was a plain object: the library's message said "got undefined")
      [["score", "p.csv", "--ref-values", "1,1,1", "--measure", "constructor"], /--measure "constructor" is not a measure; one of: kl, entropy/],
      [["score", "p.csv", "--ref-values", "1,1,1", "--measure", "__proto__"], /--measure "__proto__" is not a measure; one of: kl, entropy/],
      [["score", "missing.csv", "--ref-values", "1,1,1"], /cannot open missing\.csv: no such file/],
      [["score", "p.csv", "--ref-values", "1,1,1", "--bogus"], /Unknown option '--bogus'/],
      [["score", "p.csv", "--ref-values", "1,1,1", "--smoothing", "zeros"], /--smoothing must be MODE:EPSILON/],
      // below the library's least epsilon (ε·t must stay a normal double)
      [["score", "p.csv", "--ref-values", "1,1,1", "--smoothing", "additive:1e-300"], /2\^-500 ≤ EPSILON < 1/],
      [["score", "p.csv", "--ref-values", "1,1,1", "--base", "1"], /options\.base must be a finite number > 1/],
      [["frobnicate"], /unknown command "frobnicate"/],
      [[], /no command/],
    ];
    for (const [args, message] of cases) {
      const out = cli(args);
      expect(out.status, args.join(" ")).toBe(2);
      expect(out.stderr).toMatch(message);
    }
  });
});

describe("help, progress, stats", () => {
  it("kl-simd --help, score --help, topk --help, help topk", () => {
    const main = cli(["--help"]);
    expect(main.status).toBe(0);
    expect(main.stdout).toMatch(/^kl-simd — /);
    expect(main.stdout).toMatch(/Examples:\n {2}kl-simd score counts\.csv --ref-values/);
    const score = cli(["score", "--help"]).stdout;
    for (const option of ["--ref", "--ref-values", "--against", "--measure", "--format", "--output-format", "--on-error", "--smoothing", "--reduction", "--input-p"]) {
      expect(score).toContain(option);
    }
    expect(cli(["topk", "--help"]).stdout).toMatch(/--candidates FILE/);
    expect(cli(["help", "topk"]).stdout).toBe(cli(["topk", "--help"]).stdout);
    expect(cli(["--version"]).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("the examples in score --help and topk --help print what they say", () => {
    writeFileSync(file("rows.csv"), "0.2,0.8\n0.5,0.5\n0.9,0.1\n");
    writeFileSync(file("queries.csv"), "0.2,0.8\n0.5,0.5\n");
    writeFileSync(file("candidates.csv"), "0.5,0.5\n0.9,0.1\n0.25,0.75\n");
    for (const command of ["score", "topk"]) {
      const help = cli([command, "--help"]).stdout;
      // each "$ kl-simd …" line that is followed by output lines
      const examples = [...help.matchAll(/^ {2}\$ kl-simd (.+)\n((?: {2}[^$ ].*\n)+)/gm)];
      expect(examples.length).toBe(command === "score" ? 2 : 1);
      for (const m of examples) {
        const out = cli(m[1].split(" "));
        expect(out.stdout, m[1]).toBe(m[2].replace(/^ {2}/gm, ""));
      }
    }
  });

  it("no progress output unless stderr is a terminal; the bar when it is", () => {
    writeFileSync(file("p.csv"), csv(P));
    expect(cli(["score", "p.csv", "--ref-values", q.join(",")]).stderr).toBe("");
    const written: string[] = [];
    let t = 0;
    const bar = new Progress({ isTTY: true, write: (s: string) => written.push(s) }, true, 1000, () => (t += 500));
    bar.update(2000, 500);
    bar.done();
    expect(written[0]).toMatch(/^\r\[#{12}-{12}\]  50%  2,000 rows {2}[\d,]+ rows\/s/);
    expect(written[1]).toBe("\r\x1b[K");
    const quiet: string[] = [];
    Progress.for({ isTTY: true, write: (s: string) => quiet.push(s) }, true, null).update(1, 1);
    expect(quiet).toEqual([]);
  });

  it("--stats prints rows, rows/s, MB/s and the split of the time", () => {
    writeFileSync(file("p.csv"), csv(P));
    const out = cli(["score", "p.csv", "--ref-values", q.join(","), "--stats"]);
    expect(out.stderr).toMatch(/^kl-simd: 3 rows × 3 in [\d.]+ s: [\d,.]+ rows\/s, [\d,.]+ MB\/s of input \([\d.]+ MB\)/);
    // a small input's rate has significant digits, not a rounded "0 rows/s" or "0.0 MB/s"
    const [, rate, mbs] = /: ([\d,.]+) rows\/s, ([\d,.]+) MB\/s/.exec(out.stderr)!;
    expect(Number(rate.replace(/,/g, ""))).toBeGreaterThan(0);
    expect(Number(mbs.replace(/,/g, ""))).toBeGreaterThan(0);
    expect(out.stderr).toMatch(/read \+ parse .*score .*write .*max RSS \d+ MB/);
  });
});

// issue 12: the command line never loses or invents data
describe("no data lost or invented", () => {
  const ref = ["--ref-values", "0.5,0.5"];
  // scipy.stats.entropy([0.1, 0.9], [0.5, 0.5]) and entropy([0.2, 0.8], [0.5, 0.5])
  const KL_01 = 0.3680642071684972, KL_02 = 0.19274475702175745;
  const listing = () => readdirSync(dir).filter((f) => f.includes("kl-simd-tmp"));

  it("-o naming an input file is refused and the input is kept (also --against, --ref, topk's .scores.npy)", () => {
    const rows = "0.5,0.5\n".repeat(20_000);
    writeFileSync(file("keep.csv"), rows);
    const out = cli(["score", "keep.csv", ...ref, "-o", "keep.csv"]);
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/^kl-simd: --output keep\.csv is the input file keep\.csv/);
    expect(readFileSync(file("keep.csv"), "utf8")).toBe(rows);
    writeFileSync(file("other.csv"), "0.5,0.5\n");
    expect(cli(["score", "other.csv", "--against", "keep.csv", "-o", "./keep.csv"]).status).toBe(2);
    expect(cli(["score", "keep.csv", "--ref", "other.csv", "-o", join(dir, "other.csv")]).status).toBe(2);
    expect(readFileSync(file("other.csv"), "utf8")).toBe("0.5,0.5\n");
    writeFileSync(file("c.scores.npy"), npy([[0.5, 0.5]], "<f8"));
    const topk = cli(["topk", "other.csv", "--candidates", "c.scores.npy", "--k", "1", "-o", "c.npy"]);
    expect(topk.status).toBe(2);
    expect(readFileSync(file("c.scores.npy"))).toEqual(npy([[0.5, 0.5]], "<f8"));
    expect(readFileSync(file("keep.csv"), "utf8")).toBe(rows);
    expect(listing()).toEqual([]);
  });

  it("a run that fails leaves the previous output file as it was, and no temporary file", () => {
    writeFileSync(file("results.csv"), "earlier results\n");
    writeFileSync(file("bad-late.csv"), "0.2,0.8\n".repeat(10_000) + "0.5,x\n");
    const out = cli(["score", "bad-late.csv", ...ref, "--block-rows", "100", "-o", "results.csv"]);
    expect(out.status).toBe(1);
    expect(readFileSync(file("results.csv"), "utf8")).toBe("earlier results\n");
    expect(listing()).toEqual([]);
    // and a run that completes replaces it
    writeFileSync(file("good.csv"), "0.2,0.8\n");
    expect(cli(["score", "good.csv", ...ref, "-o", "results.csv"]).status).toBe(0);
    expectClose(column(readFileSync(file("results.csv"), "utf8")), [KL_02]);
    expect(listing()).toEqual([]);
  });

  it("a run ended by SIGINT, SIGTERM or SIGHUP removes its temporary file, keeps the previous output, exits 128 + the signal", async () => {
    // one row a block (--block-rows 1): seconds of work, so the signal comes while the run writes
    writeFileSync(file("long.npy"), npy(Array.from({ length: 600_000 }, () => [0.2, 0.8]), "<f8"));
    const cases = [
      { signal: "SIGINT", input: ["long.npy", "--threads", "1"] }, // busy: heard between blocks
      { signal: "SIGTERM", input: ["long.npy", "--threads", "2"] }, // the worker threads' scorer
      { signal: "SIGHUP", input: ["-", "--threads", "1"], stdin: "0.2,0.8\n".repeat(25_000) }, // waiting for more input
    ] as const;
    for (const { signal, input, ...more } of cases) {
      writeFileSync(file("results.csv"), "earlier results\n");
      const child = spawn(process.execPath, [CLI, "score", ...input, ...ref, "--block-rows", "1", "-o", "results.csv"], { cwd: dir });
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += chunk));
      child.stdin.on("error", () => {}); // EPIPE: what the run had not read when it ended
      if ("stdin" in more) child.stdin.write(more.stdin); // and left open
      // the shell's view: a death by the signal is 128 + its number
      const exited = new Promise<number>((resolve) => child.on("exit", (code, by) => resolve(code ?? 128 + constants.signals[by!])));
      // polled, not slept: the temporary file is there once the run has started (seconds on a loaded machine)
      while (listing().length === 0 && child.exitCode === null && child.signalCode === null) await new Promise((r) => setTimeout(r, 10));
      expect(listing(), `${signal}: the run ended before it wrote: ${stderr}`).toHaveLength(1);
      child.kill(signal);
      expect(await exited, `${signal}: ${stderr}`).toBe(128 + constants.signals[signal]);
      expect(listing(), signal).toEqual([]);
      expect(readFileSync(file("results.csv"), "utf8"), signal).toBe("earlier results\n");
    }
  });

  // adversarial round three: a failed final rename left the complete results under a temporary
  // name without saying so
  it("a final rename that fails (the output became a folder) keeps the complete results and names their file (exit 3)", async () => {
    rmSync(file("results.csv"), { recursive: true, force: true });
    writeFileSync(file("results.csv"), "earlier results\n");
    const child = spawn(process.execPath, [CLI, "score", "-", ...ref, "--threads", "1", "--block-rows", "1", "-o", "results.csv"], { cwd: dir });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.stdin.write("0.2,0.8\n".repeat(25_000));
    while (listing().length === 0 && child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
    // while the run waits for more input, its output's name becomes a folder that is not empty
    rmSync(file("results.csv"));
    mkdirSync(file("results.csv"));
    writeFileSync(join(file("results.csv"), "x"), "x");
    child.stdin.end();
    expect(await exited, stderr).toBe(3);
    const kept = listing();
    expect(kept, stderr).toHaveLength(1);
    expect(stderr).toContain(`the complete results are kept in ${join(dir, kept[0]!)}`);
    expectClose(column(readFileSync(file(kept[0]!), "utf8")), new Array(25_000).fill(KL_02));
    rmSync(file(kept[0]!));
    rmSync(file("results.csv"), { recursive: true, force: true });
  });

  // adversarial round four (CLI and parallel): each of these lost data with exit 0 or exit 1
  const mountable = (() => {
    if (process.platform !== "linux" || process.getuid?.() !== 0) return false;
    const at = mkdtempSync(join(tmpdir(), "kl-simd-mnt-"));
    const ok = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", at]).status === 0;
    if (ok) spawnSync("umount", [at]);
    rmSync(at, { recursive: true, force: true });
    return ok;
  })();

  it.skipIf(!mountable)("a disk that fills up: exit 3 and the earlier results kept, for -o and for a stdout that is a file (it was a truncated file and exit 0)", () => {
    const full = mkdtempSync(join(tmpdir(), "kl-simd-full-"));
    expect(spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", full]).status).toBe(0);
    try {
      writeFileSync(file("rows.csv"), "0.2,0.8\n".repeat(3000)); // ~75 KB of results: past the 64 KiB disk
      writeFileSync(join(full, "out.csv"), "earlier results\n");
      const out = cli(["score", "rows.csv", ...ref, "-o", join(full, "out.csv")]);
      expect(out.status, out.stderr).toBe(3);
      expect(out.stderr).toMatch(/no space left on device \(ENOSPC\)/);
      expect(readFileSync(join(full, "out.csv"), "utf8")).toBe("earlier results\n");
      expect(readdirSync(full)).toEqual(["out.csv"]);
      for (const format of ["csv", "ndjson"]) {
        const fd = openSync(join(full, `stdout.${format}`), "w");
        const r = spawnSync(process.execPath, [CLI, "score", "rows.csv", ...ref, "--output-format", format], { cwd: dir, stdio: ["ignore", fd, "pipe"] });
        closeSync(fd);
        expect(r.status, `${format}: ${r.stderr}`).toBe(3);
        expect(r.stderr.toString()).toMatch(/cannot write <stdout>: no space left on device/);
      }
    } finally {
      spawnSync("umount", [full]);
      rmSync(full, { recursive: true, force: true });
    }
  });

  it("an input that is the output file is refused: standard input by -o or a stdout opened on it, a named input by a stdout appending to it; the file kept", () => {
    const rows = "0.2,0.8\n".repeat(100);
    writeFileSync(file("rows.csv"), rows);
    for (const how of ["-o", "stdout"]) {
      const input = openSync(file("rows.csv"), "r");
      const output = how === "stdout" ? openSync(file("rows.csv"), "r+") : "pipe";
      const r = spawnSync(process.execPath, [CLI, "score", "-", ...ref, ...(how === "-o" ? ["-o", "rows.csv"] : [])], { cwd: dir, stdio: [input, output, "pipe"] });
      closeSync(input);
      if (typeof output === "number") closeSync(output);
      expect(r.status, `${how}: ${r.stderr}`).toBe(2);
      expect(r.stderr.toString()).toMatch(/is the input file \(standard input\)/);
      expect(readFileSync(file("rows.csv"), "utf8"), how).toBe(rows);
    }
    // and a stdout appending to an input named by its path (`score rows.csv … >> rows.csv`)
    const output = openSync(file("rows.csv"), "a");
    const r = spawnSync(process.execPath, [CLI, "score", "rows.csv", ...ref], { cwd: dir, stdio: ["ignore", output, "pipe"] });
    closeSync(output);
    expect(r.status, r.stderr.toString()).toBe(2);
    expect(r.stderr.toString()).toMatch(/standard output is the input file rows\.csv/);
    expect(readFileSync(file("rows.csv"), "utf8")).toBe(rows);
  });

  it.skipIf(process.platform !== "linux" || process.getuid?.() !== 0)("an output whose folder takes no new file (the file itself writable) is refused before anything is written (a failed run left half a file)", () => {
    // as another user (root writes anywhere): the folder is root's, the file the user's
    const folder = mkdtempSync(join(tmpdir(), "kl-simd-ro-"));
    chmodSync(folder, 0o755);
    try {
      writeFileSync(join(folder, "rows.csv"), "0.2,0.8\n".repeat(5000) + "0.5,x\n");
      writeFileSync(join(folder, "out.csv"), "earlier results\n");
      chmodSync(join(folder, "out.csv"), 0o666);
      const r = spawnSync(process.execPath, [CLI, "score", "rows.csv", ...ref, "--block-rows", "100", "-o", "out.csv"], { cwd: folder, uid: 65534, gid: 65534 });
      expect(r.status, r.stderr.toString()).toBe(2);
      expect(r.stderr.toString()).toMatch(/cannot write out\.csv safely: its folder takes no temporary file \(EACCES\)/);
      expect(readFileSync(join(folder, "out.csv"), "utf8")).toBe("earlier results\n");
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it("-o through a symbolic link replaces the file it names, keeping the link and the file's permissions", () => {
    writeFileSync(file("good.csv"), "0.2,0.8\n");
    writeFileSync(file("real-results.csv"), "old\n");
    chmodSync(file("real-results.csv"), 0o600);
    rmSync(file("link.csv"), { force: true });
    symlinkSync("real-results.csv", file("link.csv"));
    expect(cli(["score", "good.csv", ...ref, "-o", "link.csv"]).status).toBe(0);
    expect(lstatSync(file("link.csv")).isSymbolicLink()).toBe(true);
    expectClose(column(readFileSync(file("real-results.csv"), "utf8")), [KL_02]);
    expect(statSync(file("real-results.csv")).mode & 0o777).toBe(0o600);
    expect(listing()).toEqual([]);
  });

  it("a headerless CSV whose first row has a bad number is an error on line 1, not a header", () => {
    for (const first of ["0.5,0.5,1e", "0x10,0.5,0.5", "1O,0.5,0.5"]) {
      writeFileSync(file("first-bad.csv"), `${first}\n0.2,0.3,0.5\n0.1,0.1,0.8\n`);
      const out = cli(["score", "first-bad.csv", "--ref-values", "1,1,1"]);
      expect(out.status, first).toBe(1);
      expect(out.stderr).toMatch(/^kl-simd: first-bad\.csv:1:\d+: "(1e|0x10|1O)" is not a number \(if this line is a header, say --header\)\n$/);
      expect(out.stdout).toBe("");
    }
  });

  it("the header: names are taken and said on stderr; 0,1,2 is data, with a note; --header / --no-header are silent", () => {
    writeFileSync(file("named.csv"), "p0,p1\n0.1,0.9\n0.2,0.8\n");
    const named = cli(["score", "named.csv", ...ref]);
    expect(named.stderr).toBe("kl-simd: named.csv: line 1 taken as a header: p0,p1 (--header or --no-header says so and silences this)\n");
    expect(named.stdout).toMatch(/^row,kl\n0,/);
    expectClose(column(named.stdout), [KL_01, KL_02]);
    // pandas' df.to_csv(index=False) of unnamed columns: "0,1"
    writeFileSync(file("pandas.csv"), "0,1\n0.1,0.9\n0.2,0.8\n");
    const guessed = cli(["score", "pandas.csv", ...ref]);
    expect(guessed.stderr).toMatch(/^kl-simd: pandas\.csv: line 1 \(0,1,…,1\) was scored as data; if it is a header of column numbers, say --header/);
    // KL([0, 1] ‖ [1/2, 1/2]) = ln 2
    expectClose(column(guessed.stdout), [Math.LN2, KL_01, KL_02]);
    const header = cli(["score", "pandas.csv", ...ref, "--header"]);
    expect(header.stderr).toBe("");
    expectClose(column(header.stdout), [KL_01, KL_02]);
    const none = cli(["score", "pandas.csv", ...ref, "--no-header"]);
    expect(none.stderr).toBe("");
    expect(column(none.stdout).length).toBe(3);
  });

  it("a write error is one line naming the output, exit 3 (stdout and -o), as --help documents", () => {
    writeFileSync(file("good.csv"), "0.2,0.8\n".repeat(1000));
    if (existsSync("/dev/full")) {
      const full = openSync("/dev/full", "w");
      const r = spawnSync(process.execPath, [CLI, "score", "good.csv", ...ref], { cwd: dir, stdio: ["ignore", full, "pipe"] });
      closeSync(full);
      expect(r.status).toBe(3);
      expect(r.stderr.toString()).toBe("kl-simd: cannot write <stdout>: no space left on device (ENOSPC)\n");
      const o = cli(["score", "good.csv", ...ref, "-o", "/dev/full"]);
      expect(o.status).toBe(3);
      expect(o.stderr).toBe("kl-simd: cannot write /dev/full: no space left on device (ENOSPC)\n");
    }
    expect(cli(["--help"]).stdout).toMatch(/3 the output could not be written .*70 internal error/s);
  });

  it("a UTF-8 byte order mark before a headerless CSV is skipped", () => {
    writeFileSync(file("bom.csv"), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("0.1,0.9\n0.2,0.8\n")]));
    const out = cli(["score", "bom.csv", ...ref]);
    expect(out.stderr).toBe("");
    expectClose(column(out.stdout), [KL_01, KL_02]);
  });

  it("mixed separators name the separator expected and the one found", () => {
    writeFileSync(file("mixed-tab.csv"), "0.1,0.9\n0.2\t0.8\n");
    expect(cli(["score", "mixed-tab.csv", ...ref]).stderr).toBe('kl-simd: mixed-tab.csv:2:4: expected "," between values (the separator of line 1), found a tab\n');
    writeFileSync(file("mixed-semicolon.csv"), "0.1,0.9\n0.2;0.8\n");
    expect(cli(["score", "mixed-semicolon.csv", ...ref]).stderr).toBe('kl-simd: mixed-semicolon.csv:2:4: expected "," between values (the separator of line 1), found ";"\n');
    writeFileSync(file("mixed-blank.txt"), "0.1 0.9\n0.2,0.8\n");
    const blank = cli(["score", "mixed-blank.txt", ...ref]);
    expect(blank.status).toBe(1);
    expect(blank.stderr).toBe('kl-simd: mixed-blank.txt:2:4: expected blanks between values (the separator of line 1), found ","\n');
  });

  it("standard input named twice is a usage error, not an empty result", () => {
    const out = cli(["score", "-", "--ref", "-"], "0.5,0.5\n");
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/the input and --ref both read standard input/);
    expect(cli(["topk", "-", "--candidates", "-"], "0.5,0.5\n").status).toBe(2);
  });

  it("--on-error skip with every row bad exits 1 instead of printing a NaN mean or an empty table", () => {
    writeFileSync(file("all-bad.csv"), "0.5,x\n-1,2\n");
    for (const reduction of ["mean", "sum", "none"]) {
      const out = cli(["score", "all-bad.csv", ...ref, "--on-error", "skip", "--reduction", reduction]);
      expect(out.status, reduction).toBe(1);
      expect(out.stderr).toMatch(/^kl-simd: every row was bad: 2 skipped \(the first: all-bad\.csv:1:5: "x" is not a number/);
      expect(out.stdout).not.toMatch(/NaN/);
    }
    writeFileSync(file("empty.csv"), "");
    const mean = cli(["score", "empty.csv", ...ref, "--reduction", "mean"]);
    expect(mean.status).toBe(1);
    expect(mean.stderr).toBe("kl-simd: empty.csv has no rows: their mean is undefined\n");
  });

  it("a +Infinity row makes --reduction sum and mean +Infinity, as the library's reduction (was NaN)", () => {
    // numpy: np.mean([0.0, np.inf]) and np.sum(...) are inf; kl([0,1]‖[0,1]) = 0, kl([.5,.5]‖[0,1]) = inf
    writeFileSync(file("inf-row.csv"), "0,1\n0.5,0.5\n");
    for (const reduction of ["mean", "sum"]) {
      expect(cli(["score", "inf-row.csv", "--ref-values", "0,1", "--reduction", reduction]).stdout).toBe(`rows,kl_${reduction}\n2,Infinity\n`);
      const ndjson = cli(["score", "inf-row.csv", "--ref-values", "0,1", "--reduction", reduction, "--output-format", "ndjson"]).stdout;
      expect(ndjson).toBe(`{"rows":2,"measure":"kl","${reduction}":"Infinity"}\n`);
    }
  });

  it("option numbers follow the data's grammar: 0x10, 1O, blanks are refused", () => {
    writeFileSync(file("good.csv"), "0.2,0.8\n");
    for (const [option, value] of [["--base", "0x10"], ["--base", " 2"], ["--temperature", "1O"], ["--dim", "0x2"], ["--block-rows", "0b11"]]) {
      const out = cli(["score", "good.csv", ...ref, option, value]);
      expect(out.status, `${option} ${value}`).toBe(2);
      expect(out.stderr).toContain(JSON.stringify(value));
    }
    expectClose(column(cli(["score", "good.csv", ...ref, "--base", "2e0"]).stdout), [KL_02 / Math.LN2]);
  });
});

describe("--against row counts, empty rows, rows bad before the row length is known", () => {
  // scipy.stats.entropy([0.2, 0.8], [0.5, 0.5]) and entropy([0.5, 0.5], [0.2, 0.8])
  const KL_02 = 0.19274475702175747, KL_05_02 = 0.22314355131420974;
  const rows = (n: number) => "0.2,0.8\n".repeat(n);
  const unequal = (p: string, n: number | string, q: string, m: number | string) =>
    `kl-simd: ${p} has ${n} and ${q} (--against) has ${m}; they must have as many (row i is scored against row i)\n`;

  it("unequal row counts name both files with their counts, exit 1 (a longer --against was said to have fewer rows)", () => {
    writeFileSync(file("four.csv"), rows(4));
    writeFileSync(file("six.csv"), rows(6));
    writeFileSync(file("two.csv"), rows(2));
    writeFileSync(file("none.csv"), "");
    const cases: [string, string, string[], string][] = [
      ["four.csv", "six.csv", [], unequal("four.csv", "4 rows", "six.csv", "6 rows")], // within one block (was "six.csv has fewer rows … ends after 6")
      ["four.csv", "six.csv", ["--block-rows", "2"], unequal("four.csv", "4 rows", "six.csv", "6 rows")], // the input ends at a block's end
      ["six.csv", "four.csv", ["--block-rows", "4"], unequal("six.csv", "6 rows", "four.csv", "4 rows")],
      ["four.csv", "two.csv", ["--block-rows", "3"], unequal("four.csv", "4 rows", "two.csv", "2 rows")],
      ["four.csv", "none.csv", [], unequal("four.csv", "4 rows", "none.csv", "0 rows")],
      ["none.csv", "two.csv", [], unequal("none.csv", "0 rows", "two.csv", "2 rows")],
    ];
    for (const [p, q, more, message] of cases) {
      const out = cli(["score", p, "--against", q, ...more]);
      expect(out.status, `${p} ${q} ${more}`).toBe(1);
      expect(out.stderr).toBe(message);
    }
    // a bad row past the first block stops the count of the longer file
    writeFileSync(file("long-bad.csv"), rows(7) + "0.5,x\n");
    expect(cli(["score", "four.csv", "--against", "long-bad.csv", "--block-rows", "3"]).stderr).toBe(unequal("four.csv", "4 rows", "long-bad.csv", "more than 6 rows"));
    // as many rows: scored; no rows on either side: an empty table
    expectClose(column(cli(["score", "two.csv", "--against", "two.csv"]).stdout), [0, 0]);
    expect(cli(["score", "none.csv", "--against", "none.csv"]).stdout).toBe("row,kl\n");
  });

  it(".npy files whose headers disagree on the row count are refused before anything is written", () => {
    writeFileSync(file("four.npy"), npy(Array(4).fill([0.2, 0.8]), "<f8"));
    writeFileSync(file("one.npy"), npy([[0.2, 0.8]], "<f8"));
    const out = cli(["score", "one.npy", "--against", "four.npy", "--block-rows", "1"]);
    expect(out.status).toBe(1);
    expect(out.stderr).toBe(unequal("one.npy", "1 row", "four.npy", "4 rows"));
    expect(out.stdout).toBe("");
  });

  it("rows of different lengths are said to be so, also where their blocks hold different numbers of rows (was \"fewer rows\")", () => {
    // a block holds at most 2^22 values: one row of 2^21 + 1, but 4096 rows of 1
    writeFileSync(file("wide.csv"), `${"1,".repeat(2 ** 21)}1\n`.repeat(2));
    writeFileSync(file("narrow.csv"), "1\n1\n");
    const out = cli(["score", "wide.csv", "--against", "narrow.csv"]);
    expect(out.status).toBe(1);
    expect(out.stderr).toBe(`kl-simd: rows of wide.csv have ${2 ** 21 + 1} values, rows of narrow.csv have 1\n`);
  });

  it("an empty row [] is bad data at its line, first or later, in either file (a first one was exit 2 \"options.dim must be a positive integer\")", () => {
    writeFileSync(file("first-empty.ndjson"), "[]\n[0.2, 0.8]\n[0.5, 0.5]\n");
    writeFileSync(file("later-empty.ndjson"), "[0.2, 0.8]\n[ ]\n[0.5, 0.5]\n");
    writeFileSync(file("field-empty.ndjson"), '{"v": [0.2, 0.8]}\n{"v": []}\n');
    writeFileSync(file("only-empty.ndjson"), "[]\n");
    writeFileSync(file("pairs.csv"), "0.5,0.5\n0.5,0.5\n0.2,0.8\n");
    const cases: [string[], string][] = [
      [["score", "first-empty.ndjson", "--against", "pairs.csv"], "first-empty.ndjson:1:1"],
      [["score", "pairs.csv", "--against", "first-empty.ndjson"], "first-empty.ndjson:1:1"],
      [["score", "first-empty.ndjson", "--against", "first-empty.ndjson"], "first-empty.ndjson:1:1"],
      [["score", "first-empty.ndjson", "--ref-values", "0.5,0.5"], "first-empty.ndjson:1:1"],
      [["score", "later-empty.ndjson", "--against", "pairs.csv"], "later-empty.ndjson:2:1"],
      [["score", "field-empty.ndjson", "--field", "v", "--ref-values", "0.5,0.5"], "field-empty.ndjson:2:1"],
      [["score", "pairs.csv", "--ref", "only-empty.ndjson"], "only-empty.ndjson:1:1"],
      [["topk", "pairs.csv", "--candidates", "first-empty.ndjson", "--k", "1"], "first-empty.ndjson:1:1"],
    ];
    for (const [args, place] of cases) {
      const out = cli(args);
      expect(out.status, args.join(" ")).toBe(1);
      expect(out.stderr).toBe(`kl-simd: ${place}: empty row: no values\n`);
    }
    // --on-error skip leaves it out as any bad row; row i is still scored against row i
    const skipped = cli(["score", "first-empty.ndjson", "--against", "pairs.csv", "--on-error", "skip"]);
    expect(skipped.status).toBe(0);
    expect(skipped.stdout).toMatch(/^row,kl\n1,[^\n]*\n2,[^\n]*\n$/);
    expectClose(column(skipped.stdout), [KL_02, KL_05_02]);
    expect(skipped.stderr).toBe("kl-simd: skipped 1 bad row (the first: first-empty.ndjson:1:1: empty row: no values)\n");
    const none = cli(["score", "only-empty.ndjson", "--against", "only-empty.ndjson", "--on-error", "skip"]);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/^kl-simd: every row was bad: 2 skipped \(the first: only-empty\.ndjson:1:1: empty row: no values\)/);
  });

  it("--on-error skip: rows bad before the first good one keep their places (they were dropped: row i met row i + 1 of --against)", () => {
    // four bad rows (not a number, not JSON, negative) before the first good one, whatever the block size
    writeFileSync(file("bad-start.csv"), "x,1\n[\n1,y\n\n-1,2\n0.2,0.8\n0.5,0.5\n");
    writeFileSync(file("good-start.csv"), "0.5,0.5\n".repeat(4) + "0.5,0.5\n0.2,0.8\n");
    for (const blockRows of ["1", "2", "3", "4096"]) {
      const out = cli(["score", "bad-start.csv", "--against", "good-start.csv", "--on-error", "skip", "--block-rows", blockRows]);
      expect(out.status, blockRows).toBe(0);
      expect(out.stdout).toMatch(/^row,kl\n4,[^\n]*\n5,[^\n]*\n$/);
      expectClose(column(out.stdout), [KL_02, KL_05_02]);
      expect(out.stderr).toMatch(/^kl-simd: skipped 4 bad rows \(the first: bad-start\.csv:1:1: "x" is not a number/);
    }
    // the same in the --against file, and in .npy output: NaN in the bad rows' places
    const out = cli(["score", "good-start.csv", "--against", "bad-start.csv", "--on-error", "skip", "--block-rows", "2", "-o", "bad-start.npy"]);
    expect(out.status).toBe(0);
    const { values } = readNpy(readFileSync(file("bad-start.npy")));
    expect(values.slice(0, 4).every(Number.isNaN)).toBe(true);
    expectClose(values.slice(4), [KL_05_02, KL_02]);
  });
});

describe("reader and topk findings (hostile testing, round five)", () => {
  /** The CLI run with a preload that prints the child's max RSS (kB) as the last line of stderr. */
  function cliRss(args: string[]) {
    const preload = file("rss.cjs");
    writeFileSync(preload, 'process.on("exit", () => process.stderr.write("maxRSS " + process.resourceUsage().maxRSS + "\\n"));\n');
    const r = spawnSync(process.execPath, ["--require", preload, CLI, ...args], { cwd: dir, maxBuffer: 1 << 28 });
    const stderr = r.stderr.toString("utf8");
    return { status: r.status, stdout: r.stdout.toString("utf8"), stderr: stderr.replace(/maxRSS \d+\n$/, ""), rssKB: Number(/maxRSS (\d+)\n$/.exec(stderr)![1]) };
  }

  it("topk: a query row that overflows against a candidate but the first is exit 1 at its line, or skipped (was exit 70, a TypeError)", () => {
    writeFileSync(file("tq.csv"), "1e308\n");
    writeFileSync(file("tc.csv"), "1e308\n1e-300\n");
    const out = cli(["topk", "tq.csv", "--candidates", "tc.csv", "--k", "2", "-m", "generalized-kl"]);
    expect(out.status, out.stderr).toBe(1);
    expect(out.stderr).toBe("kl-simd: tq.csv:1: the result exceeds the double range (about 1.8e308); scale the inputs down\n");
    // score says the same of the same row
    expect(cli(["score", "tq.csv", "--ref-values", "1e-300", "-m", "generalized-kl"]).stderr).toBe(out.stderr);
    writeFileSync(file("tq2.csv"), "1e308\n0.5\n");
    const skip = cli(["topk", "tq2.csv", "--candidates", "tc.csv", "--k", "2", "-m", "generalized-kl", "--on-error", "skip"]);
    expect(skip.status, skip.stderr).toBe(0);
    expect(skip.stderr).toBe("kl-simd: skipped 1 bad row (the first: tq2.csv:1: the result exceeds the double range (about 1.8e308); scale the inputs down)\n");
    const lines = skip.stdout.trim().split("\n");
    expect(lines.slice(0, 1).concat(lines.slice(1).map((l) => l.split(",").slice(0, 3).join(",")))).toEqual(["query,rank,index,score", "1,1,1", "1,2,0"]);
    // mpmath (40 digits): p log(p/q) - p + q for p = 0.5, q = 1e-300 and q = 1e308
    expectClose(lines.slice(1).map((l) => Number(l.split(",")[3])), [344.5411903588269, 1e308], 1e-15);
  });

  it("topk: a block the library refuses whose rows it takes one by one reports the library's error (exit 1), not a crash", async () => {
    writeFileSync(file("tq3.csv"), "0.2,0.8\n0.5,0.5\n");
    writeFileSync(file("tc3.csv"), "0.5,0.5\n0.9,0.1\n");
    const parsed = parse(["topk", file("tq3.csv"), "--candidates", file("tc3.csv"), "--k", "1"]);
    if (parsed.kind !== "run") throw new Error("not a run");
    // a scorer that refuses every block of more than one row (an error of the block as a whole)
    const scoring = {
      ...inProcess,
      topK: ((measure, queries, candidates, options) => {
        if (queries.length > options.dim!) throw new KLRangeError("KL_OVERFLOW", "the block as a whole overflows");
        return inProcess.topK(measure, queries, candidates, options);
      }) as typeof inProcess.topK,
    };
    const chunks: string[] = [];
    const stdout = { write: (t: string) => (chunks.push(t), true) } as unknown as NodeJS.WritableStream;
    const error = await run(parsed.args, { stdin: process.stdin, stdout, stderr: { write: () => true }, scoring }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(1);
    expect((error as CliError).message).toMatch(/tq3\.csv: .*the block as a whole overflows/);
  });

  it(".npy: a v2/v3 header length beyond the file or the cap is exit 1 before allocating it (2³¹ and more were exit 70)", () => {
    const v = (major: number, length: number) => Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]), Buffer.from(new Uint32Array([length]).buffer), Buffer.from("{'descr':'<f8'")]);
    for (const [major, length] of [[2, 0xfffffff0], [3, 0xc0000000], [2, 0x80000000], [2, 0x7ffffff0], [2, 100_000]]) {
      writeFileSync(file("huge.npy"), v(major, length));
      const out = cliRss(["score", "huge.npy", "--ref-values", "0.5,0.5"]);
      expect(out.status, out.stderr).toBe(1);
      expect(out.stderr).toMatch(/^kl-simd: huge\.npy: (truncated \.npy header: it says|the \.npy header says)/);
      expect(out.rssKB).toBeLessThan(400_000);
      // standard input: no file size to check against, the cap still holds
      const piped = cli(["score", "-", "--ref-values", "0.5,0.5"], v(major, length));
      expect(piped.status, piped.stderr).toBe(1);
      expect(piped.stderr).toMatch(/^kl-simd: <stdin>: (truncated \.npy header|the \.npy header says)/);
    }
    // a file long enough for the length it declares: the cap (NumPy reads 10,000 bytes of header at most)
    writeFileSync(file("huge.npy"), Buffer.concat([v(2, 100_000), Buffer.alloc(200_000, 32)]));
    expect(cli(["score", "huge.npy", "--ref-values", "0.5,0.5"]).stderr).toBe("kl-simd: huge.npy: the .npy header says it is 100012 bytes long, more than the 65545 this tool reads (a corrupt file?)\n");
  });

  it("a line of 48 MB of garbage is refused in bounded memory (the whole line was held: ~5× its size)", () => {
    // bytes of a fixed pseudo-random sequence, no "\n" (a binary file given as CSV)
    const garbage = Buffer.alloc(48 << 20);
    for (let i = 0, x = 12345; i < garbage.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      garbage[i] = x >>> 24 === 10 ? 11 : x >>> 24;
    }
    garbage[0] = 0xff;
    writeFileSync(file("garbage.bin"), garbage);
    const out = cliRss(["score", "garbage.bin", "--ref-values", "0.5,0.5", "--format", "csv"]);
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/^kl-simd: garbage\.bin:1:1: "[^\n]+" is not a number/);
    expect(out.stderr.length).toBeLessThan(400); // the token cut short, not a megabyte of it
    expect(out.rssKB).toBeLessThan(160_000); // was ~250 MB; node and the kernel take ~60 MB
    // the row length still unknown (--against): refused at once too
    writeFileSync(file("small.csv"), "0.5,0.5\n");
    const against = cliRss(["score", "garbage.bin", "--against", "small.csv", "--format", "csv"]);
    expect(against.status).toBe(1);
    expect(against.rssKB).toBeLessThan(160_000);
  });

  it("long lines: valid ones are read, blanks beyond the bound are refused naming the line, --on-error skip goes on after a long bad line", () => {
    // a valid line of 300,000 values with the row length known from --ref (a file of one row)
    const long = Array.from({ length: 300_000 }, (_, j) => 1 + (j % 10));
    writeFileSync(file("long-q.csv"), long.map((x) => 11 - x).join(",") + "\n");
    writeFileSync(file("long-p.csv"), long.join(", ") + "\n");
    const want = kl(new Float64Array(long), new Float64Array(long.map((x) => 11 - x)));
    expectClose(column(cli(["score", "long-p.csv", "--ref", "long-q.csv"]).stdout), [want], 1e-13);
    // two values and 3 MB of blanks: far beyond what two values take
    writeFileSync(file("blanks.csv"), "0.5,0.5\n0.2,0.8" + " ".repeat(3 << 20) + "\n0.5,0.5\n");
    const blanks = cli(["score", "blanks.csv", "--ref-values", "0.5,0.5"]);
    expect(blanks.status).toBe(1);
    expect(blanks.stderr).toMatch(/^kl-simd: blanks\.csv:2:\d+: the line is longer than 1,048,832 bytes/);
    // a comment line of any length is skipped; a bad long line is skipped with --on-error skip
    writeFileSync(file("long-bad.csv"), "0.5,0.5\n# " + "c".repeat(3 << 20) + "\n" + "0.5,y".repeat(1 << 20) + "\n0.2,0.8\n");
    const skip = cli(["score", "long-bad.csv", "--ref-values", "0.5,0.5", "--on-error", "skip"]);
    expect(skip.status, skip.stderr).toBe(0);
    expect(skip.stdout).toMatch(/^row,kl\n0,0\n2,/);
    expect(skip.stderr).toBe('kl-simd: skipped 1 bad row (the first: long-bad.csv:3:5: "y0.5" is not a number)\n');
    // an NDJSON object may carry long other fields (up to 16 MiB)
    writeFileSync(file("doc.ndjson"), JSON.stringify({ text: "t".repeat(4 << 20), probs: [0.2, 0.8] }) + "\n");
    expectClose(column(cli(["score", "doc.ndjson", "--field", "probs", "--ref-values", "0.5,0.5"]).stdout), [0.19274475702175753], 1e-14);
  });

  it("messages: ; and | are not separators, an unterminated NDJSON array, 1e400 out of the double range, --field without NDJSON", () => {
    const ref = ["--ref-values", "0.5,0.5"];
    writeFileSync(file("semi.csv"), "0.5;0.5\n");
    expect(cli(["score", "semi.csv", ...ref]).stderr).toBe('kl-simd: semi.csv:1:4: found ";", which is not a separator: values are separated by ",", a tab or blanks\n');
    writeFileSync(file("open.ndjson"), "[0.5,\n");
    expect(cli(["score", "open.ndjson", ...ref]).stderr).toBe("kl-simd: open.ndjson:1:6: unterminated array (no ])\n");
    writeFileSync(file("open2.ndjson"), "[\n");
    expect(cli(["score", "open2.ndjson", ...ref]).stderr).toBe("kl-simd: open2.ndjson:1:2: unterminated array (no ])\n");
    writeFileSync(file("over.ndjson"), "[1e400,0.5]\n");
    expect(cli(["score", "over.ndjson", ...ref]).stderr).toBe("kl-simd: over.ndjson:1:2: 1e400 is beyond the double range (about 1.8e308); probabilities must be finite\n");
    writeFileSync(file("over.csv"), "0.5,-1e400\n");
    expect(cli(["score", "over.csv", ...ref]).stderr).toBe("kl-simd: over.csv:1:5: -1e400 is beyond the double range (about 1.8e308); probabilities must be finite\n");
    expect(cli(["score", "over.csv", ...ref, "--input-p", "logits"]).status).toBe(0); // -1e400 is a logit of -inf: probability 0
    writeFileSync(file("over2.csv"), "1e400,0\n");
    expect(cli(["score", "over2.csv", ...ref, "--input-p", "logits"]).stderr).toBe("kl-simd: over2.csv:1:1: 1e400 is beyond the double range (about 1.8e308); logits must be < Infinity (-inf means probability 0)\n");
    writeFileSync(file("inf.csv"), "inf,0.5\n");
    expect(cli(["score", "inf.csv", ...ref]).stderr).toBe("kl-simd: inf.csv:1:1: inf is infinite; probabilities must be finite\n");
    writeFileSync(file("objects.ndjson"), '{"probs": [1e400, 0.8]}\n');
    expect(cli(["score", "objects.ndjson", ...ref, "--field", "probs"]).stderr).toBe("kl-simd: objects.ndjson:1:1: probs[0] is beyond the double range (about 1.8e308); probabilities must be finite\n");
    // --field names a field of NDJSON objects: with no NDJSON input it is a usage error
    writeFileSync(file("plain.csv"), "0.5,0.5\n");
    const field = cli(["score", "plain.csv", ...ref, "--field", "p"]);
    expect(field.status).toBe(2);
    expect(field.stderr).toMatch(/^kl-simd: --field p names a field of NDJSON objects, and no input is NDJSON/);
    writeFileSync(file("objects2.ndjson"), '{"probs": [0.5, 0.5]}\n');
    // an NDJSON input beside CSV ones: --field is for it
    expect(cli(["score", "plain.csv", "--against", "objects2.ndjson", "--field", "probs"]).stdout).toBe("row,kl\n0,0\n");
    expect(cli(["topk", "plain.csv", "--candidates", "objects2.ndjson", "--field", "probs", "--k", "1"]).status).toBe(0);
  });
});
