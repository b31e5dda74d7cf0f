// The command line's --threads on binary files, whose rows the worker threads read themselves:
// the output is byte for byte that of --threads 1 (which the CLI suite checks against SciPy),
// bad rows are found and placed as with one thread, and --threads far above the cores is
// clamped to them.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { npyHeader } from "../src/cli/npy.js";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const DIM = 64, ROWS = 20_000; // 1.28e6 values: above the size where files go to the workers
let dir = "";
const file = (name: string) => join(dir, name);

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, maxBuffer: 1 << 28, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}

/** A C-order float64 .npy of rows × dim deterministic positive values. */
function npy(name: string, rows: number, dim: number, seed: number, edit?: (v: Float64Array) => void): string {
  const v = new Float64Array(rows * dim);
  let x = seed;
  for (let i = 0; i < v.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    v[i] = 1e-3 + (x >>> 0) / 4294967296;
  }
  edit?.(v);
  writeFileSync(file(name), Buffer.concat([npyHeader("<f8", [rows, dim]), Buffer.from(v.buffer)]));
  return name;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kl-simd-cli-threads-"));
  npy("p.npy", ROWS, DIM, 1);
  npy("q.npy", ROWS, DIM, 2);
  npy("bad.npy", ROWS, DIM, 3, (v) => {
    v[17_345 * DIM + 7] = -0.5;
    v[19_000 * DIM] = NaN;
  });
  writeFileSync(file("p.f64"), readFileSync(file("p.npy")).subarray(128));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const REF = Array.from({ length: DIM }, (_, i) => 1 + (i % 5)).join(",");
const same = (args: string[]) => {
  const one = cli([...args, "--threads", "1", "--stats"]), two = cli([...args, "--threads", "2", "--stats"]);
  expect(one.status, one.stderr).toBe(0);
  expect(two.status, two.stderr).toBe(0);
  expect(one.stderr).toMatch(/\[in-process\]/);
  expect(two.stderr).toMatch(availableParallelism() > 1 ? /\[2 threads\]/ : /\[in-process\]/);
  expect(two.stdout).toBe(one.stdout);
  return one.stdout;
};

describe("--threads on binary files: the workers read their own rows", () => {
  it("per row and reduced, against a reference row and against a second file, .npy and raw f64", () => {
    expect(same(["score", "p.npy", "--ref-values", REF]).split("\n").length).toBe(ROWS + 2);
    same(["score", "p.npy", "--against", "q.npy", "--measure", "jsDistance"]);
    same(["score", "p.npy", "--ref-values", REF, "--reduction", "mean"]);
    same(["score", "p.f64", "--dim", String(DIM), "--ref-values", REF, "--measure", "hellinger"]);
  }, 60_000);

  it("a bad row in a late block is placed as with one thread; --on-error skip leaves out the same rows", () => {
    const one = cli(["score", "bad.npy", "--ref-values", REF, "--threads", "1"]);
    const two = cli(["score", "bad.npy", "--ref-values", REF, "--threads", "2"]);
    expect(one.status).toBe(1);
    expect(two.status).toBe(1);
    expect(one.stderr).toMatch(/bad\.npy: row 17345, element 7 \(byte offset \d+\)/);
    expect(two.stderr).toBe(one.stderr);
    same(["score", "bad.npy", "--ref-values", REF, "--on-error", "skip"]);
  }, 60_000);

  it("--threads far above the cores is clamped to them", () => {
    const r = cli(["score", "p.npy", "--ref-values", REF, "--threads", "1000", "--stats", "-o", "/dev/null"]);
    expect(r.status, r.stderr).toBe(0);
    const cores = availableParallelism();
    expect(r.stderr).toContain(cores > 1 ? `[${cores} threads]` : "[in-process]");
  }, 30_000);
});
