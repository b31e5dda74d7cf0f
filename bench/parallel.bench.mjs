// npm run bench:parallel: kl-simd/parallel against the in-process score() on the same rows.
// kl of Float64Array batches (p and q both full matrices), rows in an ordinary ArrayBuffer
// (copied to the workers chunk by chunk) and in a SharedArrayBuffer (read in place), by
// `threads` 1 and 2; then the batch size where two threads start to pay (minElements).
// The runs of the configurations are interleaved, round by round, so that load from other
// processes falls on all of them alike; each figure is the median of the rounds.
// KL_BENCH_RUNS sets the rounds (default 7).
import { cpus, loadavg, totalmem } from "node:os";
import { init, score } from "../dist/index.js";
import { close, scoreParallel } from "../dist/parallel.js";

const RUNS = Math.max(5, Number(process.env.KL_BENCH_RUNS ?? 7));
await init();

// Deterministic positive values (xorshift32 → exponential variates): unnormalised histograms.
function values(n, seed, target = new Float64Array(n)) {
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    target[i] = -Math.log(((x >>> 0) + 1) / 4294967297);
  }
  return target;
}
const shared = (n) => new Float64Array(new SharedArrayBuffer(8 * n));
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

/** Wall time and the process's CPU time (all threads, ms) of one call. */
async function time(fn) {
  const c0 = process.cpuUsage(), t0 = performance.now();
  await fn();
  const wall = performance.now() - t0, c = process.cpuUsage(c0);
  return [wall, (c.user + c.system) / 1e3];
}

/**
 * Median wall times (ms) of each configuration over interleaved rounds, after one warm-up
 * call each; `cpu` holds the median CPU times, which other processes' load disturbs less.
 */
async function measure(configs) {
  const walls = configs.map(() => []), cpus = configs.map(() => []);
  for (const c of configs) await c.run();
  for (let r = 0; r < RUNS; r++) {
    for (let i = 0; i < configs.length; i++) {
      const [wall, cpu] = await time(configs[i].run);
      walls[i].push(wall);
      cpus[i].push(cpu);
    }
  }
  const result = walls.map(median);
  result.cpu = cpus.map(median);
  return result;
}

const rate = (elements, ms) => `${((elements / ms) * 1e3 / 1e6).toFixed(1)} M/s`;
const load = () => loadavg().map((x) => x.toFixed(2)).join(", ");

console.log(`# kl-simd/parallel benchmark\n`);
console.log(`Machine: ${cpus()[0].model}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`);
console.log(`Load average at start: ${load()}. kl, Float64Array, p and q both full matrices; medians of ${RUNS} interleaved rounds.\n`);
console.log("| rows × dim | rows in | in-process score() | threads 1 | threads 2 | 2 threads ÷ 1 thread | 2 threads ÷ in-process | CPU time: in-process / threads 1 / threads 2 |");
console.log("|---|---|---:|---:|---:|---:|---:|---:|");

for (const [rows, dim] of [[1e6, 64], [1e5, 16]]) {
  const n = rows * dim;
  const p = values(n, 1), q = values(n, 2);
  const sp = shared(n), sq = shared(n);
  sp.set(p);
  sq.set(q);
  for (const [label, a, b] of [["ArrayBuffer (copied)", p, q], ["SharedArrayBuffer", sp, sq]]) {
    const times = await measure([
      { run: () => score("kl", a, b, { dim }) },
      { run: () => scoreParallel("kl", a, b, { dim, threads: 1 }) },
      { run: () => scoreParallel("kl", a, b, { dim, threads: 2 }) },
    ]);
    const [inProcess, one, two] = times;
    const cpu = times.cpu.map((ms) => ms.toFixed(0)).join(" / ");
    console.log(`| ${rows.toExponential().replace("e+", "e")} × ${dim} | ${label} | ${rate(n, inProcess)} | ${rate(n, one)} | ${rate(n, two)} | **${(one / two).toFixed(2)}×** | **${(inProcess / two).toFixed(2)}×** | ${cpu} ms |`);
  }
}

// Where threads start to pay: in-process against two threads forced on (minElements 0).
console.log(`\nSmall batches (dim 64, ArrayBuffer rows): in-process against 2 threads forced on (minElements: 0).\n`);
console.log("| elements | in-process | 2 threads | 2 threads ÷ in-process |");
console.log("|---:|---:|---:|---:|");
for (let elements = 1 << 14; elements <= 1 << 22; elements *= 4) {
  const dim = 64, rows = elements / dim;
  const p = values(elements, 3), q = values(elements, 4);
  const [inProcess, two] = await measure([
    { run: () => score("kl", p, q, { dim }) },
    { run: () => scoreParallel("kl", p, q, { dim, threads: 2, minElements: 0 }) },
  ]);
  console.log(`| ${elements.toLocaleString("en-US")} (${rows} × ${dim}) | ${inProcess.toFixed(2)} ms | ${two.toFixed(2)} ms | ${(inProcess / two).toFixed(2)}× |`);
}
console.log(`\nLoad average at end: ${load()}.`);
await close();
