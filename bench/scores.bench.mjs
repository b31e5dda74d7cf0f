// The scoring API's workloads (issue 3): batches of drift histograms, long rows, pairwise
// matrices and LLM logits, each against the plain JS loop doing the same work, in this one
// run. Each workload runs in a process of its own (as in kl.bench.mjs). Where a workload names an
// onnxruntime-web graph (bench/peers.mjs loadOrt), ONNX Runtime Web runs it too, once with one
// thread and once with two (each in a process of its own beside kl-simd and the loop, since its
// thread count is fixed at its first session), with its largest relative error against
// kl-simd's values on the same inputs. Prints a Markdown table; `npm run bench` writes it to
// bench/SCORES.md and docs/performance.md.
import { Bench } from "tinybench";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as lib from "../dist/index.js";
import { ORT_HINT, loadOrt, peerVersions } from "./peers.mjs";

const { backend, init, useBackend } = lib;

const TIME_MS = Number(process.env.KL_BENCH_TIME ?? 400);

// Deterministic positive values (xorshift32 → exponential variates): unnormalised histograms.
function values(n, seed, Type = Float64Array) {
  let x = seed >>> 0 || 1;
  const v = new Type(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    v[i] = -Math.log(((x >>> 0) + 1) / 4294967297);
  }
  return v;
}

// Logits ~ N(0, 3) by Box–Muller on the same generator.
function logits(n, seed) {
  const u = values(2 * n, seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = 3 * Math.sqrt(2 * u[2 * i]) * Math.cos(2 * Math.PI * Math.exp(-u[2 * i + 1]));
  return v;
}

// ----- the plain loops a user would write for the same results (normalising each row) -----

function loopKL(p, q, dim, out) {
  for (let r = 0, rows = out.length; r < rows; r++) {
    const at = r * dim;
    let P = 0, Q = 0;
    for (let i = 0; i < dim; i++) {
      P += p[at + i];
      Q += q[at + i];
    }
    let s = 0;
    for (let i = 0; i < dim; i++) {
      const a = p[at + i] / P, b = q[at + i] / Q;
      if (a > 0) s += a * Math.log(a / b);
    }
    out[r] = s;
  }
}

/** Every row of p against one reference row q (normalised once, as a user would). */
function loopKLReference(p, q, dim, out) {
  let Q = 0;
  for (let i = 0; i < dim; i++) Q += q[i];
  for (let r = 0, rows = out.length; r < rows; r++) {
    const at = r * dim;
    let P = 0;
    for (let i = 0; i < dim; i++) P += p[at + i];
    let s = 0;
    for (let i = 0; i < dim; i++) {
      const a = p[at + i] / P, b = q[i] / Q;
      if (a > 0) s += a * Math.log(a / b);
    }
    out[r] = s;
  }
}

function loopJS(p, q, dim, out) {
  for (let r = 0, rows = out.length; r < rows; r++) {
    const at = r * dim;
    let P = 0, Q = 0;
    for (let i = 0; i < dim; i++) {
      P += p[at + i];
      Q += q[at + i];
    }
    let s = 0;
    for (let i = 0; i < dim; i++) {
      const a = p[at + i] / P, b = q[at + i] / Q, m = (a + b) / 2;
      if (a > 0) s += 0.5 * a * Math.log(a / m);
      if (b > 0) s += 0.5 * b * Math.log(b / m);
    }
    out[r] = s;
  }
}

function loopPSI(p, q, dim, out) {
  for (let r = 0, rows = out.length; r < rows; r++) {
    const at = r * dim;
    let P = 0, Q = 0;
    for (let i = 0; i < dim; i++) {
      P += p[at + i];
      Q += q[at + i];
    }
    let s = 0;
    for (let i = 0; i < dim; i++) {
      const a = p[at + i] / P, b = q[at + i] / Q;
      s += (a - b) * Math.log(a / b);
    }
    out[r] = s;
  }
}

/** Each row's total (rows of dim), as the pairwise loops normalise their rows. */
function rowTotals(v, dim) {
  return Float64Array.from({ length: v.length / dim }, (_, r) => v.subarray(r * dim, (r + 1) * dim).reduce((x, y) => x + y, 0));
}

function loopPairwise(a, b, dim, out) {
  const m = a.length / dim, n = b.length / dim;
  const A = rowTotals(a, dim), B = rowTotals(b, dim);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) {
        const x = a[i * dim + k] / A[i], y = b[j * dim + k] / B[j];
        if (x > 0) s += x * Math.log(x / y);
      }
      out[i * n + j] = s;
    }
  }
}

/** Jeffreys divergence of every pair: Σ (a − b)·ln(a/b) on normalised rows. */
function loopJeffreysPairwise(a, b, dim, out) {
  const m = a.length / dim, n = b.length / dim;
  const A = rowTotals(a, dim), B = rowTotals(b, dim);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) {
        const x = a[i * dim + k] / A[i], y = b[j * dim + k] / B[j];
        s += (x - y) * Math.log(x / y);
      }
      out[i * n + j] = s;
    }
  }
}

/** Hellinger distance of every pair: √(1 − Σ √(aₖ·bₖ)) on normalised rows. */
function loopHellingerPairwise(a, b, dim, out) {
  const m = a.length / dim, n = b.length / dim;
  const A = rowTotals(a, dim), B = rowTotals(b, dim);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += Math.sqrt((a[i * dim + k] / A[i]) * (b[j * dim + k] / B[j]));
      out[i * n + j] = Math.sqrt(Math.max(0, 1 - s));
    }
  }
}

/** Rényi divergence of order 2 of every pair: ln(Σ aᵅ·b¹⁻ᵅ)/(α − 1) on normalised rows, with `**` as for any α. */
function loopRenyiPairwise(a, b, dim, out) {
  const m = a.length / dim, n = b.length / dim, alpha = 2;
  const A = rowTotals(a, dim), B = rowTotals(b, dim);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += (a[i * dim + k] / A[i]) ** alpha * (b[j * dim + k] / B[j]) ** (1 - alpha);
      out[i * n + j] = Math.log(s) / (alpha - 1);
    }
  }
}

/** The k = 10 smallest of each query's row of the pairwise loop (one row at a time, then k passes). */
function loopTopK(a, b, dim, out) {
  const m = a.length / dim, n = b.length / dim, k = 10;
  const A = rowTotals(a, dim), B = rowTotals(b, dim);
  const row = new Float64Array(n), taken = new Uint8Array(n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < dim; t++) {
        const x = a[i * dim + t] / A[i], y = b[j * dim + t] / B[j];
        if (x > 0) s += x * Math.log(x / y);
      }
      row[j] = s;
    }
    taken.fill(0);
    for (let t = 0; t < k; t++) {
      let best = -1;
      for (let j = 0; j < n; j++) if (!taken[j] && (best < 0 || row[j] < row[best])) best = j;
      taken[best] = 1;
      out[i] = best;
    }
  }
}

/** Max-subtracted log-softmax of both rows, then Σ p·(log p − log q). */
function loopLogits(a, b, dim, out) {
  for (let r = 0, rows = out.length; r < rows; r++) {
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

// ----- the workloads -----

const WORKLOADS = {
  "kl rows 1e5 × 16": { rows: 1e5, dim: 16, run: (k, p, q, dim) => k.kl(p, q, { dim }), loop: loopKL, ort: "klRows" },
  "kl rows 1e5 × 16 (Float32Array)": { rows: 1e5, dim: 16, f32: true, run: (k, p, q, dim) => k.kl(p, q, { dim }), loop: loopKL, ort: "klRows" },
  "kl rows 1e5 × 16 vs a reference row": { rows: 1e5, qRows: 1, dim: 16, run: (k, p, q, dim) => k.kl(p, q, { dim }), loop: loopKLReference },
  "kl rows 1e5 × 16 vs a reference row (Float32Array)": { rows: 1e5, qRows: 1, dim: 16, f32: true, run: (k, p, q, dim) => k.kl(p, q, { dim }), loop: loopKLReference },
  "jsDivergence rows 1e5 × 16": { rows: 1e5, dim: 16, run: (k, p, q, dim) => k.jsDivergence(p, q, { dim }), loop: loopJS },
  "psi rows 1e5 × 16": { rows: 1e5, dim: 16, run: (k, p, q, dim) => k.psi(p, q, { dim }), loop: loopPSI },
  "kl rows 1e4 × 1024": { rows: 1e4, dim: 1024, run: (k, p, q, dim) => k.kl(p, q, { dim }), loop: loopKL },
  "kl single vector 1e6 (reference)": { rows: 1, dim: 1e6, run: (k, p, q) => k.kl(p, q), loop: loopKL, ort: "klRows" },
  "kl single vector 1e6 (Float32Array)": { rows: 1, dim: 1e6, f32: true, run: (k, p, q) => k.kl(p, q), loop: loopKL, ort: "klRows" },
  "kl pairwise 1000 × 1000 × 64": { rows: 1000, cols: 1000, dim: 64, run: (k, a, b, dim) => k.pairwise("kl", a, b, { dim }), loop: loopPairwise, ort: "klPairwise" },
  "kl pairwise 1000 × 1000 × 64 (Float32Array)": { rows: 1000, cols: 1000, dim: 64, f32: true, run: (k, a, b, dim) => k.pairwise("kl", a, b, { dim }), loop: loopPairwise, ort: "klPairwise" },
  "hellinger pairwise 1000 × 1000 × 64": { rows: 1000, cols: 1000, dim: 64, run: (k, a, b, dim) => k.pairwise("hellinger", a, b, { dim }), loop: loopHellingerPairwise },
  "jeffreys pairwise 1000 × 1000 × 64": { rows: 1000, cols: 1000, dim: 64, run: (k, a, b, dim) => k.pairwise("jeffreys", a, b, { dim }), loop: loopJeffreysPairwise },
  "jeffreys pairwise 1000 × 1000 × 64 (Float32Array)": { rows: 1000, cols: 1000, dim: 64, f32: true, run: (k, a, b, dim) => k.pairwise("jeffreys", a, b, { dim }), loop: loopJeffreysPairwise },
  "renyi (alpha = 2) pairwise 1000 × 1000 × 64": { rows: 1000, cols: 1000, dim: 64, run: (k, a, b, dim) => k.pairwise("renyi", a, b, { dim, alpha: 2 }), loop: loopRenyiPairwise },
  "kl topK k=10, 1000 queries × 1000 candidates × 64": { rows: 1000, cols: 1000, dim: 64, outRows: 1000, run: (k, a, b, dim) => k.topK("kl", a, b, { dim, k: 10 }).scores, loop: loopTopK },
  "kl logits 64 × 131072": { rows: 64, dim: 131072, logits: true, run: (k, a, b, dim) => k.kl(a, b, { dim, input: "logits" }), loop: loopLogits },
};

/** A workload's inputs and the loop's output array. */
function inputs(w) {
  const Type = w.f32 || w.logits ? Float32Array : Float64Array;
  const make = (rows, seed) => (w.logits ? logits(rows * w.dim, seed) : values(rows * w.dim, seed, Type));
  return { p: make(w.rows, 1234), q: make(w.qRows ?? w.cols ?? w.rows, 5678), out: new Float64Array(w.outRows ?? w.rows * (w.cols ?? 1)) };
}

/** The largest |got − want| / |want| over the results (each a number or an array; want: kl-simd's). */
function maxRelativeError(got, want) {
  const [gots, wants] = [got, want].map((x) => (typeof x === "number" ? [x] : x));
  let worst = 0;
  for (let i = 0; i < wants.length; i++) worst = Math.max(worst, Math.abs(gots[i] - wants[i]) / Math.abs(wants[i]));
  return worst;
}

/** Times kl-simd and the loop on workload `name`, and onnxruntime-web with `ortThreads` threads where given. */
async function measure(name, ortThreads) {
  const w = WORKLOADS[name];
  const { p, q, out } = inputs(w);
  const elements = w.rows * (w.cols ?? 1) * w.dim;
  let sink = 0;
  const bench = new Bench({ time: TIME_MS, warmupTime: 100, iterations: 3 });
  const wasm = backend(); // the build init() selected
  bench.add("wasm-simd", () => {
    useBackend(wasm);
    const r = w.run(lib, p, q, w.dim);
    sink += typeof r === "number" ? r : r[0];
  });
  bench.add("plain loop", () => {
    w.loop(p, q, w.dim, out);
    sink += out[0];
  });
  const ort = ortThreads ? await loadOrt(ortThreads) : undefined;
  if (ort) {
    // the f64 workloads' inputs are copied to float32 inside the timed call, as a user's would be
    bench.add("onnxruntime-web", async () => {
      sink += (await ort[w.ort](p, q, w.dim))[0];
    });
  }
  await bench.run();
  const rate = Object.fromEntries(bench.tasks.map((t) => [t.name, elements / (t.result.latency.p50 / 1000)]));
  if (!w.ort) return { name, elements, ...rate, sink };
  // kl-simd on Float64Array copies (exact for float32 values): within 1e-12 of the exact values
  useBackend(wasm);
  const reference = w.run(lib, Float64Array.from(p), Float64Array.from(q), w.dim);
  const error = w.f32 ? maxRelativeError(w.run(lib, p, q, w.dim), reference) : undefined; // kl-simd's own, in float32
  const peer = ort && { threads: ort.threads, error: maxRelativeError(await ort[w.ort](p, q, w.dim), reference) };
  return { name, elements, ...rate, error, peer, sink };
}

const fmt = (x) => (x >= 1e9 ? (x / 1e9).toFixed(2) + " G" : x >= 1e6 ? (x / 1e6).toFixed(1) + " M" : (x / 1e3).toFixed(0) + " k");

if (process.env.KL_BENCH_WORKLOAD) {
  if ((await init()) === "js") console.warn("warning: init() selected js");
  console.log(JSON.stringify(await measure(process.env.KL_BENCH_WORKLOAD, Number(process.env.KL_BENCH_ORT_THREADS ?? 0))));
  process.exit(0);
}

const only = process.env.KL_BENCH_ONLY;

// KL_BENCH_AB=<another build's dist/index.js>: each workload (KL_BENCH_ONLY selects) through this
// build, the other and the plain loop, interleaved round by round in one process, so that load
// from other processes hits all three alike; prints the medians over KL_AB_ROUNDS (default 31)
// rounds of the per-round ratios. Writes nothing.
if (process.env.KL_BENCH_AB) {
  const other = await import(pathToFileURL(process.env.KL_BENCH_AB).href);
  if ((await init()) === "js" || (await other.init()) === "js") console.warn("warning: init() selected js");
  const rounds = Number(process.env.KL_AB_ROUNDS ?? 31);
  const time = (f) => {
    const t = performance.now();
    f();
    return performance.now() - t;
  };
  const median = (x) => x.sort((a, b) => a - b)[x.length >> 1];
  for (const name of Object.keys(WORKLOADS)) {
    if (only && !name.includes(only)) continue;
    const w = WORKLOADS[name], { p, q, out } = inputs(w);
    const ratios = { "loop ÷ this build": [], "loop ÷ other build": [], "other ÷ this": [] };
    for (let i = -3; i < rounds; i++) {
      const a = time(() => w.run(lib, p, q, w.dim)), b = time(() => w.run(other, p, q, w.dim)), c = time(() => w.loop(p, q, w.dim, out));
      if (i < 0) continue; // warm-up rounds
      ratios["loop ÷ this build"].push(c / a);
      ratios["loop ÷ other build"].push(c / b);
      ratios["other ÷ this"].push(b / a);
    }
    console.log(`${name}: ${Object.entries(ratios).map(([k, v]) => `${k} ${median(v).toFixed(2)}×`).join(", ")}`);
  }
  process.exit(0);
}
const ortVersion = peerVersions().versions?.["onnxruntime-web"];
if (!ortVersion) console.error(`${ORT_HINT}.`);
const ORT_THREADS = ortVersion ? [1, 2] : [0]; // 0: kl-simd and the loop only
const runChild = (name, threads) =>
  JSON.parse(
    execFileSync(process.execPath, [fileURLToPath(import.meta.url)], {
      env: { ...process.env, KL_BENCH_WORKLOAD: name, KL_BENCH_ORT_THREADS: String(threads) },
      encoding: "utf8",
    }).trim().split("\n").pop(),
  );
const results = [];
for (const name of Object.keys(WORKLOADS)) {
  if (only && !name.includes(only)) continue;
  // kl-simd's row is the first process's; each onnxruntime-web row has its own process's loop
  const runs = WORKLOADS[name].ort ? ORT_THREADS.map((threads) => runChild(name, threads)) : [runChild(name, 0)];
  results.push(runs[0]);
  for (const r of runs.filter((r) => r.peer)) {
    const threads = `${r.peer.threads} thread${r.peer.threads > 1 ? "s" : ""}`;
    results.push({ name: `↳ onnxruntime-web ${ortVersion}, ${threads}, float32`, elements: r.elements, "wasm-simd": r["onnxruntime-web"], "plain loop": r["plain loop"], error: r.peer.error });
  }
  process.stderr.write(`${name} done\n`);
}
const mhz = cpus()[0]?.speed;
const lines = [
  `Machine: ${cpus()[0]?.model ?? "unknown CPU"}${mhz ? ` @ ${mhz} MHz` : ""}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; load average ${loadavg()[0].toFixed(1)} at the end; ${new Date().toISOString().slice(0, 10)}.`,
  "Each workload in a process of its own; rates are elements/s (rows × dim, × columns for pairwise) from the median sample; the loop is the plain JS a user would write for the same results (row totals, then the sum with `Math.log`; for logits, max, Σ exp, then Σ p·(log p − log q)), measured in the same process.",
  ...(ortVersion
    ? ["A ↳ row is ONNX Runtime Web on the workload above it (its wasm SIMD backend, `ort.env.wasm.numThreads` threads; the graph of bench/onnx-graphs.mjs in float32, a Float64Array copied to float32 inside the timed call; tensors made, `session.run()` awaited and the output read, each call), beside the loop of its own process. Max relative error: against kl-simd's values for the same inputs as Float64Array (within 1e-12 of the exact values), given on the workloads that have ↳ rows, for kl-simd itself where it computes in float32 (a Float32Array pair)."]
    : []),
  "",
  "| workload | elements | kl-simd (↳ peer) | plain JS loop | ÷ loop | max relative error |",
  "|---|---:|---:|---:|---:|---:|",
  ...results.map((r) => `| ${r.name} | ${r.elements.toExponential(2)} | ${fmt(r["wasm-simd"])}/s | ${fmt(r["plain loop"])}/s | **${(r["wasm-simd"] / r["plain loop"]).toFixed(2)}×** | ${r.error === undefined ? "" : r.error === 0 ? "0" : r.error.toExponential(1)} |`),
];
const table = lines.join("\n");
console.log(table);
if (!only) {
  // a full run is the one to keep: bench/SCORES.md and the copy in docs/performance.md
  writeFileSync(new URL("./SCORES.md", import.meta.url), `# Scoring API benchmark\n\n\`npm run bench\` (bench/scores.bench.mjs)\n\n${table}\n`);
  const docUrl = new URL("../docs/performance.md", import.meta.url);
  const doc = readFileSync(docUrl, "utf8");
  const marked = /<!-- scores-bench:start -->[\s\S]*<!-- scores-bench:end -->/;
  if (marked.test(doc)) writeFileSync(docUrl, doc.replace(marked, `<!-- scores-bench:start -->\n${table}\n<!-- scores-bench:end -->`));
}
