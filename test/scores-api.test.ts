// The scoring API's promises beyond single values (the oracle is test/scores.test.ts):
// never NaN where SciPy's jensenshannon is (one-ulp pairs, scipy#20083), per-term
// contributions that add up to kl, reductions and weights consistent with per-row results,
// pairwise = each pair scored alone, both backends.
import { describe, expect, it } from "vitest";
import { init, jsDistance, KLRangeError, score, jsDivergence, kl, klTerms, pairwise, psi, topK, useBackend, type Backend } from "../src/index.js";
import { WASM } from "./backends.js";

const selected = await init();
const BACKENDS: Backend[] = selected === WASM ? [WASM, "js"] : ["js"];

// deterministic Dirichlet(1) rows (xorshift32 → exponential variates, normalised)
function rows(n: number, dim: number, seed: number): Float64Array {
  let x = seed;
  const v = new Float64Array(n * dim);
  for (let r = 0; r < n; r++) {
    let sum = 0;
    for (let i = 0; i < dim; i++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      sum += v[r * dim + i] = -Math.log(((x >>> 0) + 1) / 4294967297);
    }
    for (let i = 0; i < dim; i++) v[r * dim + i] /= sum;
  }
  return v;
}

const nextUp = (x: number): number => {
  const f = new Float64Array([x]), b = new BigInt64Array(f.buffer);
  b[0] += 1n;
  return f[0];
};

for (const backend of BACKENDS) {
  describe(`${backend}`, () => {
    it("one-ulp pairs: jsDivergence ≥ 0 and jsDistance never NaN (SciPy gives NaN for ~42 %)", () => {
      useBackend(backend);
      const p = rows(500, 16, 7);
      const q = p.map(nextUp);
      const js = jsDivergence(p, q, { dim: 16 }), jd = jsDistance(p, q, { dim: 16 });
      for (let r = 0; r < 500; r++) {
        expect(js[r]).toBeGreaterThanOrEqual(0);
        expect(Number.isNaN(jd[r])).toBe(false);
        // one ulp apart: JS ≈ Σ m·s²/2 with |s| ≤ 2^-53, so below 2^-106·(something small)
        expect(js[r]).toBeLessThan(1e-30);
      }
    });

    it("a row of zeros cannot be normalised: KL_ZERO_SUM from every measure, either side, every length", () => {
      useBackend(backend);
      for (const dim of [3, 16, 5000]) {
        const good = rows(3, dim, 31), zero = good.slice();
        zero.fill(0, dim, 2 * dim); // row 1
        for (const m of ["kl", "crossEntropy", "jsDivergence", "jeffreys", "psi", "hellinger", "totalVariation"] as const) {
          for (const [p, q, name] of [[good, zero, "q"], [zero, good, "p"]] as const) {
            let error: unknown;
            try {
              score(m, p, q, { dim });
            } catch (e) {
              error = e;
            }
            expect(error, `${m}, ${name} row 1 of zeros, dim ${dim}`).toBeInstanceOf(KLRangeError);
            expect((error as KLRangeError).code).toBe("KL_ZERO_SUM");
            expect((error as KLRangeError).message).toContain(`${name} row 1`);
          }
        }
      }
    });

    it("klTerms add up to kl, row by row", () => {
      useBackend(backend);
      const p = rows(20, 33, 11), q = rows(20, 33, 13);
      const terms = klTerms(p, q, { dim: 33 }), d = kl(p, q, { dim: 33 });
      for (let r = 0; r < 20; r++) {
        let s = 0;
        for (let i = 0; i < 33; i++) s += terms[r * 33 + i];
        expect(Math.abs(s - d[r])).toBeLessThanOrEqual(1e-14 * d[r] + 1e-16);
      }
    });

    it("sum, mean and weights agree with the per-row results", () => {
      useBackend(backend);
      const p = rows(50, 16, 17), q = rows(1, 16, 19); // q broadcast
      const each = psi(p, q, { dim: 16 });
      const w = Float64Array.from({ length: 50 }, (_, i) => (i % 3) * 0.5);
      let sum = 0, wsum = 0, wtot = 0;
      for (let r = 0; r < 50; r++) {
        sum += each[r];
        wsum += w[r] * each[r];
        wtot += w[r];
      }
      expect(psi(p, q, { dim: 16, reduction: "sum" })).toBeCloseTo(sum, 13);
      expect(psi(p, q, { dim: 16, reduction: "mean" })).toBeCloseTo(sum / 50, 14);
      expect(psi(p, q, { dim: 16, reduction: "mean", weights: w })).toBeCloseTo(wsum / wtot, 14);
      const weighted = psi(p, q, { dim: 16, weights: w });
      for (let r = 0; r < 50; r++) expect(weighted[r]).toBe(w[r] * each[r]);
    });

    it("pairwise and topK agree with each pair scored alone", () => {
      useBackend(backend);
      const a = rows(6, 24, 23), b = rows(9, 24, 29);
      const m = pairwise("jsDistance", a, b, { dim: 24 });
      for (let i = 0; i < 6; i++) {
        for (let j = 0; j < 9; j++) {
          const alone = jsDistance(a.subarray(i * 24, (i + 1) * 24), b.subarray(j * 24, (j + 1) * 24));
          expect(Math.abs(m[i * 9 + j] - alone)).toBeLessThanOrEqual(1e-13 * alone);
        }
      }
      const { indices, scores } = topK("jsDistance", a, b, { dim: 24, k: 3 });
      for (let i = 0; i < 6; i++) {
        const order = Array.from({ length: 9 }, (_, j) => j).sort((x, y) => m[i * 9 + x] - m[i * 9 + y] || x - y);
        expect(Array.from(indices.subarray(i * 3, i * 3 + 3))).toEqual(order.slice(0, 3));
        for (let t = 0; t < 3; t++) expect(scores[i * 3 + t]).toBe(m[i * 9 + order[t]]);
      }
    });
  });
}
