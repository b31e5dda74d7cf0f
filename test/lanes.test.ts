// KL of batches of short rows, the rows the kernel takes across lanes (assembly/kl-lanes.ts:
// up to 32 elements, two rows per f64x2 vector, four per f32x4) and, at dim 33, the per-row
// path past that threshold: every dim from 1 to 33, batches whose last vector is partial,
// same-shape rows and a broadcast reference row (either side), each batch with one special
// row (zeros in p or in both, q = 0 under p, subnormals, near-identical and identical rows,
// counts, tiny and huge totals) in a lane that moves with dim. Expected values:
// test/fixtures/lanes-cases.json from test/fixtures/generate_lanes.py (mpmath).
//
// Every case runs on both backends and every input type of its kind (test/input-types.ts):
// bound 1e-12 relative, 1e-6 for two Float32Arrays (the f32 kernel); Infinity exactly
// Infinity, identical rows exactly 0, inputs unchanged.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { TYPES } from "./input-types.js";
import { init, kl, useBackend } from "../src/index.js";

interface LanesCase {
  name: string;
  kind: "f64" | "f32";
  dim: number;
  special: string;
  p: number[];
  q: number[];
  expected: Array<number | "Infinity">;
}

const cases = (JSON.parse(readFileSync(new URL("./fixtures/lanes-cases.json", import.meta.url), "utf8")) as { cases: LanesCase[] }).cases;

// the SIMD backend where init() selects it (not in the KL_NO_SIMD=1 run)
const selected = await init();

for (const backend of ["wasm-simd", "js"] as const) describe.skipIf(backend === "wasm-simd" && selected !== "wasm-simd")(`kl of short rows on ${backend}`, () => {
  for (const type of TYPES) {
    it(`${type.name}: ${cases.filter((c) => c.kind === type.kind).length} batches against mpmath`, () => {
      useBackend(backend);
      const bound = type.f32 ? 1e-6 : 1e-12;
      const failures: string[] = [];
      for (const c of cases) {
        if (c.kind !== type.kind) continue;
        const p = type.make(c.p), q = type.make(c.q);
        const before = [Array.from(p.owner), Array.from(q.owner)];
        const got = kl(p.arg, q.arg, { dim: c.dim }) as Float64Array;
        c.expected.forEach((e, r) => {
          const v = got[r];
          const ok = e === "Infinity" ? v === Infinity : e === 0 ? v === 0 : Math.abs(v - e) <= bound * Math.abs(e);
          if (!ok) failures.push(`${c.name} row ${r}: expected ${e}, got ${v}`);
        });
        if (got.length !== c.expected.length) failures.push(`${c.name}: ${got.length} rows`);
        if (!Array.from(p.owner).every((x, i) => Object.is(x, before[0][i])) || !Array.from(q.owner).every((x, i) => Object.is(x, before[1][i]))) {
          failures.push(`${c.name}: an input changed`);
        }
      }
      expect(failures).toEqual([]);
    });
  }
});
