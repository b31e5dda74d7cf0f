// node bench/logits-ab.mjs [other/dist/index.js] (after npm run build): the "kl logits 64 × 131072"
// workload of scores.bench.mjs (4 rows per sample) through this tree's dist/, through another
// build's (e.g. main's, from a worktree), and the same plain loop, interleaved round by round in
// one process, so that load from other processes hits all three alike. Prints the medians over
// the rounds of the per-round ratios loop ÷ build. KL_AB_ROUNDS (default 31).
import { pathToFileURL } from "node:url";

const DIM = 131072, ROWS = 4, ROUNDS = Number(process.env.KL_AB_ROUNDS ?? 31);
const builds = [new URL("../dist/index.js", import.meta.url).href];
if (process.argv[2]) builds.push(pathToFileURL(process.argv[2]).href);
const libs = await Promise.all(builds.map((b) => import(b)));
for (const lib of libs) if ((await lib.init()) !== "wasm-simd") console.warn("warning: not on wasm-simd");

// the generator and the loop of scores.bench.mjs
function values(n, seed) {
  let x = seed >>> 0 || 1;
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    v[i] = -Math.log(((x >>> 0) + 1) / 4294967297);
  }
  return v;
}
function logits(n, seed) {
  const u = values(2 * n, seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = 3 * Math.sqrt(2 * u[2 * i]) * Math.cos(2 * Math.PI * Math.exp(-u[2 * i + 1]));
  return v;
}
function loopLogits(a, b, dim, out) {
  for (let r = 0; r < out.length; r++) {
    const at = r * dim;
    let ma = -Infinity, mb = -Infinity;
    for (let i = 0; i < dim; i++) {
      if (a[at + i] > ma) ma = a[at + i];
      if (b[at + i] > mb) mb = b[at + i];
    }
    let sa = 0, sb = 0;
    for (let i = 0; i < dim; i++) {
      sa += Math.exp(a[at + i] - ma);
      sb += Math.exp(b[at + i] - mb);
    }
    const la = ma + Math.log(sa), lb = mb + Math.log(sb);
    let s = 0;
    for (let i = 0; i < dim; i++) {
      const lp = a[at + i] - la, lq = b[at + i] - lb;
      s += Math.exp(lp) * (lp - lq);
    }
    out[r] = s;
  }
}

const a = logits(ROWS * DIM, 1234), b = logits(ROWS * DIM, 5678), out = new Float64Array(ROWS);
let sink = 0;
const tasks = [() => { loopLogits(a, b, DIM, out); sink += out[0]; }, ...libs.map((lib) => () => { sink += lib.kl(a, b, { dim: DIM, input: "logits" })[0]; })];
const t = tasks.map(() => []);
for (let r = 0; r < ROUNDS; r++) {
  tasks.forEach((f, i) => {
    const t0 = performance.now();
    f();
    t[i].push(performance.now() - t0);
  });
}
const median = (x) => [...x].sort((p, q) => p - q)[x.length >> 1];
const names = ["this tree", ...(process.argv[2] ? [process.argv[2]] : [])];
for (let i = 1; i < tasks.length; i++) {
  const ns = (median(t[i]) * 1e6) / (ROWS * DIM);
  console.log(`${names[i - 1]}: loop ÷ kl-simd ${median(t[0].map((x, k) => x / t[i][k])).toFixed(2)}× (${ns.toFixed(2)} ns/element)`);
}
if (!(sink > 0)) console.log("(sink)");
