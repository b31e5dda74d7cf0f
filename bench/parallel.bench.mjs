// npm run bench:parallel: kl-simd/parallel against the in-process score() on the same rows.
// kl of Float64Array batches (p and q both full matrices), rows in an ordinary ArrayBuffer
// (copied to the workers chunk by chunk) and on shared memory (allocate(): read in place), by
// threads 1, 2, 4, … up to the cores present, and with callingThread (the calling thread
// scores chunks too); with the calling thread's busy time (event-loop utilisation), which
// for shared rows stays a few ms whatever the row count. Then the batch size where two
// threads start to pay (minElements); then the machine's ceiling, threads that share nothing;
// then the CLI on a .npy file, --threads 1 against more (its workers read their own rows).
// The runs of the configurations are interleaved, round by round, so that load from other
// processes falls on all of them alike; each figure is the median of the rounds.
// KL_BENCH_RUNS sets the rounds (default 7); KL_BENCH_ROWS the rows of the main table (1e6);
// KL_BENCH_CLI_ROWS the rows of the CLI's .npy file (1e6, 512 MB in the temporary folder; 0: none).
import { execFileSync } from "node:child_process";
import { mkdtempSync, openSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { init, score } from "../dist/index.js";
import { allocate, close, maxThreads, scoreParallel } from "../dist/parallel.js";

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
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

/** Wall time and the calling thread's busy time (its event loop's active time, ms) of one call. */
async function time(fn) {
  const e0 = performance.eventLoopUtilization(), t0 = performance.now();
  await fn();
  const wall = performance.now() - t0, e = performance.eventLoopUtilization(e0);
  return [wall, e.active];
}

/**
 * Median wall times (ms) of each configuration over interleaved rounds, after one warm-up
 * call each; `busy` holds the median busy times of the calling thread.
 */
async function measure(configs) {
  const walls = configs.map(() => []), busy = configs.map(() => []);
  for (const c of configs) await c.run();
  for (let r = 0; r < RUNS; r++) {
    for (let i = 0; i < configs.length; i++) {
      const [wall, active] = await time(configs[i].run);
      walls[i].push(wall);
      busy[i].push(active);
    }
  }
  const result = walls.map(median);
  result.busy = busy.map(median);
  return result;
}

// The ceiling: what two threads of this machine give the kernel with nothing to share. Each
// thread scores its own batch over and over (no messages, no copies, no shared memory).
const ceilingSource = `
  import { init, score } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
  import { parentPort, workerData } from "node:worker_threads";
  await init();
  const dim = 64, n = workerData.rows * dim;
  const p = new Float64Array(n).map((_, i) => 1 + ((i * 7919) % 13)), q = new Float64Array(n).map((_, i) => 1 + ((i * 104729) % 11));
  for (let k = 0; k < 20; k++) score("kl", p, q, { dim });
  parentPort.postMessage("ready");
  parentPort.once("message", (reps) => {
    for (let k = 0; k < reps; k++) score("kl", p, q, { dim });
    parentPort.postMessage("done");
  });`;
async function independent(threads, rows, reps) {
  const workers = Array.from({ length: threads }, () => new Worker(ceilingSource, { eval: true, workerData: { rows } }));
  await Promise.all(workers.map((w) => new Promise((r) => w.once("message", r))));
  const t0 = performance.now();
  await Promise.all(workers.map((w) => new Promise((r) => { w.once("message", r); w.postMessage(reps); })));
  const ms = performance.now() - t0;
  await Promise.all(workers.map((w) => w.terminate()));
  return ms;
}
async function ceiling() {
  console.log(`\nThe machine's ceiling, measured first: each thread scores a batch of its own, no messages, nothing shared; 2 threads do twice the work; medians of 5. Near 2× means both cores were free for this run.\n`);
  console.log("| batch per thread | 1 thread | 2 threads | scaling |");
  console.log("|---|---:|---:|---:|");
  for (const rows of [256, 65536]) {
    const reps = Math.round(5e7 / (rows * 64));
    const one = [], two = [];
    for (let r = 0; r < 5; r++) {
      one.push(await independent(1, rows, reps));
      two.push(await independent(2, rows, reps));
    }
    const where = rows === 256 ? "in L2" : "from memory";
    console.log(`| ${rows} × 64 (${where}) | ${median(one).toFixed(0)} ms | ${median(two).toFixed(0)} ms | **${((2 * median(one)) / median(two)).toFixed(2)}×** |`);
  }
}

const rate = (elements, ms) => `${((elements / ms) * 1e3 / 1e6).toFixed(1)} M/s`;
const load = () => loadavg().map((x) => x.toFixed(2)).join(", ");

console.log(`# kl-simd/parallel benchmark\n`);
console.log(`Machine: ${cpus()[0].model}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`);
console.log(`Load average at start: ${load()}. Medians of ${RUNS} interleaved rounds.`);
await ceiling();
const THREADS = [1, 2, 4, 8, 16, 32, 64, 128].filter((t) => t < maxThreads()).concat(maxThreads());
const ROWS = Number(process.env.KL_BENCH_ROWS ?? 1e6);
console.log(`\nBatches: kl, Float64Array, p and q both full matrices; threads up to the ${maxThreads()} cores present. Each cell: median time, speed-up over in-process score(), and the calling thread's busy time.\n`);
console.log(`| rows × dim | rows in | in-process score() | ${THREADS.map((t) => `${t} thread${t > 1 ? "s" : ""}`).join(" | ")} | ${maxThreads()} with callingThread |`);
console.log(`|---|---|---:|${THREADS.map(() => "---:").join("|")}|---:|`);

for (const [rows, dim] of [[ROWS, 64], [ROWS / 10, 16]]) {
  const n = rows * dim;
  const p = values(n, 1), q = values(n, 2);
  const sp = allocate(n), sq = allocate(n);
  sp.set(p);
  sq.set(q);
  for (const [label, a, b] of [["ArrayBuffer (copied)", p, q], ["shared (allocate)", sp, sq]]) {
    const times = await measure([
      { run: () => score("kl", a, b, { dim }) },
      ...THREADS.map((threads) => ({ run: () => scoreParallel("kl", a, b, { dim, threads }) })),
      { run: () => scoreParallel("kl", a, b, { dim, threads: maxThreads(), callingThread: true }) },
    ]);
    const inProcess = times[0];
    const cell = (i) => `${times[i].toFixed(0)} ms, **${(inProcess / times[i]).toFixed(2)}×**, busy ${times.busy[i].toFixed(0)} ms`;
    console.log(`| ${rows.toExponential().replace("e+", "e")} × ${dim} | ${label} | ${inProcess.toFixed(0)} ms | ${THREADS.map((_, i) => cell(i + 1)).join(" | ")} | ${cell(THREADS.length + 1)} |`);
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
// The CLI on a .npy file: --threads 1 against --threads N (N up to the cores), the workers
// reading their own rows of the file. Wall time of the whole command, interleaved rounds.
const CLI_ROWS = Number(process.env.KL_BENCH_CLI_ROWS ?? 1e6);
if (CLI_ROWS > 0) {
  const dir = mkdtempSync(join(tmpdir(), "kl-simd-bench-"));
  const file = join(dir, "rows.npy");
  execFileSync(process.execPath, [fileURLToPath(new URL("cli-data.mjs", import.meta.url)), String(CLI_ROWS), "64", "npy"], { stdio: ["ignore", openSync(file, "w"), "inherit"] });
  const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
  const ref = Array.from({ length: 64 }, (_, i) => 1 + (i % 5)).join(",");
  const run = (threads) => () => execFileSync(process.execPath, [cli, "score", file, "--ref-values", ref, "-o", "/dev/null", "--output-format", "npy", "--threads", String(threads), "--quiet"]);
  const counts = THREADS.filter((t) => t > 1);
  const times = await measure([{ run: run(1) }, ...counts.map((t) => ({ run: run(t) }))]);
  console.log(`\nThe CLI: \`kl-simd score rows.npy --ref-values … -o /dev/null --output-format npy --threads N\` on a ${CLI_ROWS.toExponential().replace("e+", "e")} × 64 float64 .npy (${(CLI_ROWS * 512 / 1e6).toFixed(0)} MB, in the page cache), whole command, medians of ${RUNS} interleaved rounds.\n`);
  console.log(`| --threads 1 | ${counts.map((t) => `--threads ${t}`).join(" | ")} |`);
  console.log(`|---:|${counts.map(() => "---:").join("|")}|`);
  console.log(`| ${times[0].toFixed(0)} ms | ${counts.map((_, i) => `${times[i + 1].toFixed(0)} ms, **${(times[0] / times[i + 1]).toFixed(2)}×**`).join(" | ")} |`);
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\nLoad average at end: ${load()}.`);
await close();
