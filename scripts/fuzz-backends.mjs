// Differential fuzz of the SIMD path against the JS path (the exactness reference): random
// inputs, every measure, input kind, element type, batch shape, pairwise, topK, reductions,
// smoothing and bases; reports cases where the two differ by more than the documented bound
// (1e-12; 1e-6 for two Float32Arrays on the f32 kernel), give different errors, or return NaN.
// Not part of the test suite: each bug it found is a regression test (test/regressions.test.ts,
// sections 29–33). Usage, after `npm run build`:
//   node scripts/fuzz-backends.mjs [seed] [cases] [extreme]
// "extreme" draws values from a set of edge values (0, subnormals, 1e±300, logits ±1e300)
// instead of random magnitudes.
import * as lib from "../dist/index.js";

await lib.init();
let seed = Number(process.argv[2] ?? 1) >>> 0 || 1;
const cases = Number(process.argv[3] ?? 2000), extreme = process.argv[4] === "extreme";
const rnd = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) / 4294967296; };
const pick = (a) => a[Math.floor(rnd() * a.length)];
const EDGE_P = [0, 0, 5e-324, 1e-310, 2.2250738585072014e-308, 1e-200, 1e-30, 0.1, 1, 1, 2, 1e30, 1e200, 1e300, 1.7e308];
const EDGE_L = [-Infinity, -1e300, -745, -700, -50, -1, 0, 0, 1, 50, 700, 745, 1e300];
const TWO = ["kl", "crossEntropy", "jsDivergence", "jsDistance", "jeffreys", "psi", "hellinger", "totalVariation", "generalizedKL", "renyi"];

function value(kind, scale) {
  if (extreme) return pick(kind === "probabilities" ? EDGE_P : EDGE_L);
  const r = rnd();
  if (kind !== "probabilities") return r < 0.03 ? -Infinity : scale * (rnd() - 0.5) * 40;
  if (r < 0.05) return 0;
  if (r < 0.07) return pick([5e-324, 1e-310, 2.2e-308, 1e-200, 1e200, 1e300]);
  return scale * Math.exp(-12 * rnd());
}

let bad = 0;
for (let it = 0; it < cases; it++) {
  const dim = 1 + Math.floor(rnd() * pick(extreme ? [3, 8, 20, 70] : [8, 40, 200, 5000])), rows = rnd() < 0.3 ? 1 : 1 + Math.floor(rnd() * 8);
  const kind = pick(["probabilities", "probabilities", "logits", "log-probabilities"]);
  const scale = kind === "probabilities" ? pick([1, 1e-20, 1e-150, 1e-300, 1e30, 1e150]) : pick([1, 10, 0.001]);
  const T = pick([Float32Array, Float64Array, Array]);
  const near = rnd() < 0.5, eps = pick([2 ** -10, 2 ** -30, 2 ** -45]);
  const make = (f) => { const a = T === Array ? [] : new T(dim * rows); for (let i = 0; i < dim * rows; i++) a[i] = f(i); return a; };
  const p = make(() => value(kind, scale));
  const q = make((i) => (near && !extreme ? (kind === "probabilities" ? p[i] * (1 + (rnd() - 0.5) * eps) : p[i] + (rnd() - 0.5) * eps) : value(kind, scale)));
  const m = pick([...TWO, "entropy", "klTerms"]);
  const mode = m === "klTerms" || m === "entropy" ? "plain" : pick(["plain", "plain", "pairwise", "topK", "reduce"]);
  const opts = kind === "probabilities" ? {} : { input: kind };
  if (m === "renyi") opts.alpha = pick([0.5, 2, 0.999, 1.001, Infinity, 0.01, 50]);
  if (rnd() < 0.15 && ["kl", "generalizedKL", "jeffreys", "crossEntropy", "entropy", "klTerms"].includes(m)) opts.normalize = false;
  if (kind === "logits" && rnd() < 0.3) opts.temperature = pick([0.5, 2, 1e-3]);
  if (rnd() < 0.15 && kind === "probabilities") opts.smoothing = { mode: pick(["clip", "replace-zeros", "additive"]), epsilon: pick([1e-9, 1e-3]) };
  if (rnd() < 0.2) opts.base = pick([2, 10]);
  const run = (backend) => {
    lib.useBackend(backend);
    try {
      if (mode === "pairwise") return [...lib.pairwise(m, p, q, { ...opts, dim })];
      if (mode === "topK") return [...lib.topK(m, p.slice(0, dim), q, { ...opts, dim, k: Math.min(3, rows) }).scores];
      const o = rows > 1 || mode === "reduce" ? { ...opts, dim } : opts;
      if (mode === "reduce") {
        o.reduction = pick(["sum", "mean"]);
        if (rnd() < 0.5) o.weights = Array.from({ length: rows }, () => rnd());
      }
      const r = m === "entropy" ? lib.entropy(p, o) : lib[m](p, q, o);
      return typeof r === "number" ? [r] : [...r];
    } catch (e) {
      return e.code ?? `untyped: ${e.message}`;
    }
  };
  const at = seed, a = run("wasm-simd");
  seed = at; // the same draws (weights) for the JS path
  const b = run("js");
  const bound = T === Float32Array && ["kl", "crossEntropy", "entropy"].includes(m) && kind === "probabilities" ? 1e-6 : 1e-12;
  let differs = typeof a === "string" || typeof b === "string" ? a !== b : a.length !== b.length;
  if (!differs && typeof a !== "string") {
    differs = a.some((x, i) => Number.isNaN(x) || !(Object.is(x, b[i]) || Math.abs(x - b[i]) <= bound * Math.abs(b[i]) + 1e-300));
  }
  if (differs) {
    bad++;
    if (bad <= 5) console.log(JSON.stringify({ m, mode, kind, type: T.name, dim, rows, opts, simd: typeof a === "string" ? a : a.slice(0, 4), js: typeof b === "string" ? b : b.slice(0, 4) }));
  }
}
console.log(`${cases} cases, ${bad} differing`);
process.exitCode = bad === 0 ? 0 : 1;
