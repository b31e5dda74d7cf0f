// npm run bench:relaxed: the relaxed-SIMD build against the SIMD build and the plain loop, in
// one process: kl(p, q) of two independent Dirichlet(1) vectors of n elements (KL_BENCH_N,
// default 1e6), f32 and f64, then pairwise, jsDivergence rows and logits. Each build is loaded
// into its own copy of the library (dist/index.js imported twice: init() as it selects, and
// init(build/kl.wasm)), timed interleaved round by round; prints median times and ratios of
// medians. It runs in Node 22 (test/runtimes, `npm run runtimes:install`), where init()
// selects the relaxed build. KL_BENCH_OTHER=path/to/dist/index.js: that copy (e.g. another
// branch's) in place of the SIMD build, to compare SIMD builds under Node 20.
import { readFileSync } from "node:fs";
import { plainLoop32, plainLoop64 } from "./peers.mjs";

const n = Number(process.env.KL_BENCH_N ?? 1e6);
const ROUNDS = Number(process.env.KL_BENCH_ROUNDS ?? 31);
const bytes = (name) => readFileSync(new URL(`../build/${name}`, import.meta.url));
const relaxed = await import("../dist/index.js?relaxed");
const simd = await import(process.env.KL_BENCH_OTHER ?? "../dist/index.js?simd");
const builds = [[relaxed, await relaxed.init()], [simd, await simd.init(process.env.KL_BENCH_OTHER ? undefined : bytes("kl.wasm"))]];

function dirichlet(n, seed, Type) {
  let x = seed >>> 0, sum = 0;
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    sum += v[i] = -Math.log(((x >>> 0) + 1) / 4294967297);
  }
  return new Type(v.map((y) => y / sum));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
let sink = 0;
for (const Type of [Float32Array, Float64Array]) {
  const p = dirichlet(n, 12345 + n, Type), q = dirichlet(n, 67890 + n, Type);
  const loop = Type === Float32Array ? plainLoop32 : plainLoop64;
  const tasks = [...builds.map(([m, name]) => [name, () => m.kl(p, q)]), ["plain loop", () => loop(p, q)]];
  const times = tasks.map(() => []);
  const reps = Math.max(1, Math.round(2e6 / n));
  for (let r = 0; r < ROUNDS; r++) {
    tasks.forEach(([, f], k) => {
      const start = performance.now();
      for (let i = 0; i < reps; i++) sink += f();
      times[k].push((performance.now() - start) / reps);
    });
  }
  const med = times.map((t) => median(t.slice(3))); // the first rounds warm up
  const values = tasks.map(([, f]) => f());
  console.log(`${Type.name} n=${n}: ` + tasks.map(([name], k) => `${name} ${med[k].toFixed(3)} ms (${(med.at(-1) / med[k]).toFixed(2)}× the loop)`).join(", ") +
    `; relaxed/simd speed ${(med[1] / med[0]).toFixed(3)}; values ${values.slice(0, 2).join(" ")}`);
}
// workloads through the other kernels: relaxed against SIMD only
const values = (len, seed) => dirichlet(len, seed, Float64Array).map((v) => v * len);
const workloads = [
  ["kl pairwise 300 × 300 × 64", (m, a, b) => m.pairwise("kl", a, b, { dim: 64 }), values(300 * 64, 1), values(300 * 64, 2)],
  ["jsDivergence rows 1e4 × 64", (m, a, b) => m.jsDivergence(a, b, { dim: 64 }), values(1e4 * 64, 3), values(1e4 * 64, 4)],
  ["kl logits 8 × 65536", (m, a, b) => m.kl(a, b, { dim: 65536, input: "logits" }), values(8 * 65536, 5).map((v) => Math.log(v)), values(8 * 65536, 6).map((v) => Math.log(v))],
];
for (const [name, f, a, b] of workloads) {
  const times = builds.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    builds.forEach(([m], k) => {
      const start = performance.now();
      sink += f(m, a, b).length ?? 1;
      times[k].push(performance.now() - start);
    });
  }
  const med = times.map((t) => median(t.slice(ROUNDS >> 1))); // the first half warms up (tier-up)
  console.log(`${name}: ${builds.map(([, b], k) => `${b} ${med[k].toFixed(3)} ms`).join(", ")}; relaxed/simd speed ${(med[1] / med[0]).toFixed(3)}`);
}
if (sink === 42) console.log(sink);
