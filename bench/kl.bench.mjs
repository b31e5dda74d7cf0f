// npm run bench: elements/second of kl() on the SIMD kernel (marshalling included), on the
// JS fallback, and of the plain loop a user would write, all in this one run. Prints a
// Markdown table and writes it to bench/RESULTS.md with the machine named. Each row (type,
// n) runs in a process of its own, so the JIT state one size leaves cannot skew the next;
// within a row the three are measured side by side.
import { Bench } from "tinybench";
import { cpus, totalmem } from "node:os";
import { readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { init, kl, useBackend } from "../dist/index.js";

const SIZES = (process.env.KL_BENCH_SIZES ?? "16,100,1000,10000,100000,1000000,10000000").split(",").map(Number);
const TIME_MS = Number(process.env.KL_BENCH_TIME ?? 400);

/**
 * What a user would write: Σ p·ln(p/q) (already-normalised input, no zero handling). One
 * copy per array type, so each stays monomorphic: the loop's best case.
 */
function plainLoop32(p, q) {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += p[i] * Math.log(p[i] / q[i]);
  return s;
}
function plainLoop64(p, q) {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += p[i] * Math.log(p[i] / q[i]);
  return s;
}

// Deterministic Dirichlet(1) vectors: normalised exponential variates.
function dirichlet(n, seed, Type) {
  let x = seed >>> 0;
  const v = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; // xorshift32
    v[i] = -Math.log(((x >>> 0) + 1) / 4294967297);
    sum += v[i];
  }
  for (let i = 0; i < n; i++) v[i] /= sum;
  return new Type(v);
}

const backendName = await init();
if (backendName !== "wasm-simd") console.warn(`warning: init() selected "${backendName}"; the wasm rows measure the fallback`);

let sink = 0;
async function measureRow(Type, n) {
  const p = dirichlet(n, 12345 + n, Type);
  const q = dirichlet(n, 67890 + n, Type);
  // small inputs: repeat inside one sample so the timer resolves it
  const reps = Math.max(1, Math.round(20000 / n));
  const plainLoop = Type === Float32Array ? plainLoop32 : plainLoop64;
  const bench = new Bench({ time: TIME_MS, warmupTime: 100, iterations: 5 });
  bench.add("kl wasm-simd", () => {
    useBackend("wasm-simd");
    for (let r = 0; r < reps; r++) sink += kl(p, q);
  });
  bench.add("kl js fallback", () => {
    useBackend("js");
    for (let r = 0; r < reps; r++) sink += kl(p, q);
  });
  bench.add("plain loop", () => {
    for (let r = 0; r < reps; r++) sink += plainLoop(p, q);
  });
  await bench.run();
  return { type: Type.name, n, ...Object.fromEntries(bench.tasks.map((t) => [t.name, (n * reps) / (t.result.latency.p50 / 1000)])) };
}

if (process.env.KL_BENCH_ROW) {
  // child: one row, as JSON on stdout
  const [type, n] = process.env.KL_BENCH_ROW.split(":");
  console.log(JSON.stringify(await measureRow(type === "Float32Array" ? Float32Array : Float64Array, Number(n))));
  process.exit(0);
}

const rows = [];
for (const type of ["Float32Array", "Float64Array"]) {
  for (const n of SIZES) {
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url)], {
      env: { ...process.env, KL_BENCH_ROW: `${type}:${n}` },
      encoding: "utf8",
    });
    rows.push(JSON.parse(out.trim().split("\n").pop()));
    process.stderr.write(`${type} n=${n} done\n`);
  }
}
const fmt = (x) => (x >= 1e9 ? (x / 1e9).toFixed(2) + " G" : x >= 1e6 ? (x / 1e6).toFixed(1) + " M" : (x / 1e3).toFixed(0) + " k");
const mhz = cpus()[0]?.speed; // 0 where the VM hides it
const cpu = `${cpus()[0]?.model ?? "unknown CPU"}${mhz ? ` @ ${mhz} MHz` : ""}`;
const lines = [
  `Machine: ${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`,
  `Inputs: independent Dirichlet(1) vectors. Rates are elements/s from the median sample; ratios are against the plain loop \`s += p[i]*Math.log(p[i]/q[i])\`, measured in the same run. \`kl\` includes validation and copying into wasm memory.`,
  "",
  "| type | n | kl wasm-simd | kl js fallback | plain loop | wasm ÷ plain | js ÷ plain |",
  "|---|---:|---:|---:|---:|---:|---:|",
  ...rows.map((r) =>
    `| ${r.type} | ${r.n.toLocaleString("en-US")} | ${fmt(r["kl wasm-simd"])}/s | ${fmt(r["kl js fallback"])}/s | ${fmt(r["plain loop"])}/s | **${(r["kl wasm-simd"] / r["plain loop"]).toFixed(2)}×** | ${(r["kl js fallback"] / r["plain loop"]).toFixed(2)}× |`,
  ),
];
const table = lines.join("\n");
console.log(table);
if (!process.env.KL_BENCH_SIZES) {
  // a full run is the one to keep: bench/RESULTS.md and the README's copy
  writeFileSync(new URL("./RESULTS.md", import.meta.url), `# Benchmark results\n\n\`npm run bench\`\n\n${table}\n`);
  const readmeUrl = new URL("../README.md", import.meta.url);
  const readme = readFileSync(readmeUrl, "utf8");
  const marked = /<!-- bench:start -->[\s\S]*<!-- bench:end -->/;
  if (marked.test(readme)) writeFileSync(readmeUrl, readme.replace(marked, `<!-- bench:start -->\n${table}\n<!-- bench:end -->`));
}
if (sink === 42) console.log(""); // keep the results alive
