// The Rényi kernel (assembly/pair.ts, pairRows measure 4 after setParameter(α)) on its own:
// the build init() selects here instantiated from its bytes, rows written at scratchPtr(), against
// mpmath (test/fixtures/renyi-kernel-cases.json, made by test/fixtures/generate_renyi_kernel.py): random rows,
// near-identical rows (1e-5 and 1e-8 relative perturbations, normalised or not), and extreme
// ones (dynamic range 1e-300..1, totals 1e±280, zeros, q = 2p, identical rows).
//
// Bounds: per row the kernel returns H = (Σ aᵅb^(1−α) − 1)/(−α(1 − α)) with status 0, within
// 1e-12 relative of mpmath's (exactly 0 where it is 0), or Q_ZERO where H is +Infinity, or
// REDO (the exact JS path then computes the row). REDO is expected where e(P, Q) cancels Σ e
// (totals far apart: the unnormalised near rows, q = 2p, totals 1e±280) and where aᵅb^(1−α)
// overflows (α = 100 on random rows); never on normalised near-identical rows, nor on random
// rows for α ≤ 10.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { kernelBytes } from "./backends.js";

interface Kernel {
  memory: WebAssembly.Memory;
  scratchPtr(): number;
  setParameter(alpha: number): void;
  pairRows(measure: number, p: number, q: number, rows: number, dim: number, pStep: number, qStep: number, out: number): number;
}
interface Case {
  name: string;
  n: number;
  p: string;
  q: string;
  expected: { alpha: number; H: string }[];
}

const fixtures: { alphas: number[]; cases: Case[] } = JSON.parse(readFileSync(new URL("./fixtures/renyi-kernel-cases.json", import.meta.url), "utf8"));
// the build init() selects here: the relaxed one where the engine has relaxed SIMD
const wasmBytes = await kernelBytes();
const simd = WebAssembly.validate(wasmBytes);
const Q_ZERO = 2, REDO = 8;

function f64s(b64: string): Float64Array {
  const buf = Buffer.from(b64, "base64");
  return new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

it("the kernel validates wherever SIMD is expected (else the kernel tests below are skipped)", () => {
  expect(simd).toBe(process.env.KL_EXPECT_BACKEND !== "js");
});

describe.runIf(simd)("Rényi kernel against mpmath", async () => {
  if (!simd) return; // vitest still collects a skipped suite: do not instantiate then
  const w = (await WebAssembly.instantiate(wasmBytes, { Math: { log: Math.log } })).instance.exports as unknown as Kernel;
  const base = w.scratchPtr();
  const worst = new Map<number, { error: number; where: string }>();
  const redone: string[] = [];
  for (const c of fixtures.cases) {
    it(c.name + ` (n = ${c.n})`, () => {
      const p = f64s(c.p), q = f64s(c.q);
      for (const { alpha, H } of c.expected) {
        const mem = new Float64Array(w.memory.buffer);
        mem.set(p, base >> 3);
        mem.set(q, (base >> 3) + c.n);
        const out = base + 16 * c.n;
        w.setParameter(alpha);
        w.pairRows(4, base, base + 8 * c.n, 1, c.n, c.n, c.n, out);
        const [value, status] = new Float64Array(w.memory.buffer, out, 2);
        const where = `${c.name}, α = ${alpha}`;
        if (status & REDO) {
          redone.push(where);
          continue;
        }
        if (H === "Infinity") {
          expect(status, where).toBe(Q_ZERO);
          continue;
        }
        expect(status, where).toBe(0);
        const want = Number(H);
        const error = want === 0 ? Math.abs(value) : Math.abs(value - want) / want;
        if (error > (worst.get(alpha)?.error ?? -1)) worst.set(alpha, { error, where });
        expect(error, `${where}: got ${value}, want ${H}`).toBeLessThanOrEqual(want === 0 ? 1e-300 : 1e-12);
      }
    });
  }
  it("redoes few rows, and reports the worst errors", () => {
    console.log("Rényi kernel, worst relative error per α:", [...worst].map(([a, e]) => `α = ${a}: ${e.error.toExponential(2)} (${e.where})`).join("; "));
    console.log(`redone (REDO) ${redone.length}: ${redone.join("; ")}`);
    const routine = redone.filter((r) => (r.startsWith("random") && !r.endsWith("α = 100")) || (r.startsWith("near") && !r.includes("unnormalised")));
    expect(routine).toEqual([]);
  });
});
