// The kernels themselves, relaxed-SIMD build against SIMD build, no wrapper: each build
// instantiated on its own (build/kl.wasm, and the module init() loads here: the relaxed build), inputs
// written once at scratchPtr() (32 KiB a side: in L1/L2, so the arithmetic decides), each
// kernel timed interleaved round by round; prints the ratio of median times (SIMD ÷ relaxed:
// above 1, the relaxed build is faster). Run in Node 22: npm run bench:relaxed.
// KL_BENCH_OTHER_WASM=path/to/kl.wasm: this SIMD build against that module instead (e.g. another
// branch's build/kl.wasm; any Node), to check that deriving the SIMD build costs nothing.
import { readFileSync } from "node:fs";
import { init, kernelModule } from "../dist/index.js";

const simdBytes = readFileSync(new URL("../build/kl.wasm", import.meta.url));
const other = process.env.KL_BENCH_OTHER_WASM;
if (!other && (await init()) !== "wasm-relaxed-simd") throw new Error("run this in an engine with relaxed SIMD (Node 22)");
const [A, B] = other ? ["this SIMD build", other] : ["relaxed", "SIMD"];
const ROUNDS = Number(process.env.KL_BENCH_ROUNDS ?? 41), REPS = 200;

async function kernel(module) {
  const e = (await WebAssembly.instantiate(module, { Math: { log: Math.log } })).exports;
  e.memory.grow(16);
  const at = e.scratchPtr(), n = 4096; // 4096 doubles (or 8192 floats) a side
  const f64 = new Float64Array(e.memory.buffer), f32 = new Float32Array(e.memory.buffer);
  let x = 12345;
  const u = () => ((x = (x * 1103515245 + 12345) >>> 0) + 1) / 4294967297;
  const p = at, q = at + 8 * n, out = at + 16 * n;
  for (let i = 0; i < n; i++) { f64[p / 8 + i] = -Math.log(u()); f64[q / 8 + i] = -Math.log(u()); }
  const pf = out + 16 * n, qf = pf + 4 * 2 * n;
  for (let i = 0; i < 2 * n; i++) { f32[pf / 4 + i] = f64[p / 8 + (i % n)]; f32[qf / 4 + i] = f64[q / 8 + ((i * 7) % n)]; }
  return {
    "klF64 (f64 T-form terms)": () => e.klF64(p, q, n, 1),
    "klF32 (f32 terms: no madd)": () => e.klF32(pf, qf, 2 * n),
    "pairRows jsDivergence, 64 rows × 64": () => e.pairRows(2, p, q, 64, 64, 64, 64, out),
    "logitsKL (exp, log-sum-exp)": () => e.logitsKL(p, q, n, 10, 10, 1, 3, 3),
    "dotRowsF64 64 × 64 × 64 (matrix product)": () => e.dotRowsF64(p, 64, q, 64, 64, out, 64, 0, 0, 0),
  };
}
const builds = other
  ? [await kernel(new WebAssembly.Module(simdBytes)), await kernel(new WebAssembly.Module(readFileSync(other)))]
  : [await kernel(kernelModule()), await kernel(new WebAssembly.Module(simdBytes))];
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
let sink = 0;
for (const name of Object.keys(builds[0])) {
  const times = [[], []];
  for (let r = 0; r < ROUNDS; r++) {
    builds.forEach((b, k) => {
      const start = performance.now();
      for (let i = 0; i < REPS; i++) sink += b[name]();
      times[k].push(performance.now() - start);
    });
  }
  const [a, b] = times.map((t) => median(t.slice(ROUNDS >> 1)) / REPS * 1000);
  console.log(`${name}: ${A} ${a.toFixed(2)} µs, ${B} ${b.toFixed(2)} µs, ratio ${(b / a).toFixed(3)}`);
}
if (sink === 42) console.log(sink);
