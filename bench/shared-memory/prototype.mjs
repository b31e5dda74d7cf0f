// Design (a) of issue 5, measured, not shipped: one shared WebAssembly.Memory, each worker an
// instance of the kernel on it, with a region of its own; the main thread copies chunks of
// rows into a worker's region and the worker runs the klRows kernel on them in place.
//
// The shipped kernel cannot do this as it is: klRows composes each row from RESULTS, one
// static slot of linear memory, which two threads on one memory would overwrite under each
// other. This prototype builds, in a temporary folder, a copy of assembly/index.ts with
// RESULTS made a global (per instance) set by an added export `setResultsPtr` — the kernel
// change design (a) would need — compiled with --enable threads --importMemory
// --sharedMemory --maximumMemory. kl (normalised, f64) only; rows the kernel hands back as
// NaN (for the exact path) are counted, not redone.
//
// node bench/shared-memory/prototype.mjs [rows] [dim]   (after npm run build)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { init, score } from "../../dist/index.js";
import { close, scoreParallel } from "../../dist/parallel.js";

const ROWS = Number(process.argv[2] ?? 1e6), DIM = Number(process.argv[3] ?? 64);
const RUNS = Math.max(5, Number(process.env.KL_BENCH_RUNS ?? 7));
const root = new URL("../../", import.meta.url);

// ----- the patched kernel -----
const work = mkdtempSync(join(tmpdir(), "kl-shared-"));
mkdirSync(join(work, "assembly"));
const source = readFileSync(new URL("assembly/index.ts", root), "utf8");
const STATIC = "const RESULTS: usize = memory.data(40, 16);";
if (!source.includes(STATIC)) throw new Error("assembly/index.ts changed: RESULTS is not where this prototype expects it");
writeFileSync(join(work, "assembly/index.ts"), source.replace(STATIC,
  "let RESULTS: usize = memory.data(40, 16);\nexport function setResultsPtr(at: usize): void { RESULTS = at; }"));
const wasmFile = join(work, "kl-shared.wasm");
execFileSync(join(root.pathname, "node_modules/.bin/asc"), [join(work, "assembly/index.ts"), "-o", wasmFile,
  "-O3", "--noAssert", "--runtime", "stub", "--use", "abort=", "--enable", "simd,threads",
  "--importMemory", "--sharedMemory", "--initialMemory", "16", "--maximumMemory", "16384"], { stdio: "inherit" });
const module = await WebAssembly.compile(readFileSync(wasmFile));
rmSync(work, { recursive: true, force: true });

// ----- memory layout: static data, then per worker two slots of [results | p | q | out] -----
const CHUNK_ROWS = Math.max(1, Math.floor((1 << 18) / DIM)); // as src/parallel/rows.ts: 2 MiB a side
const SIDE = CHUNK_ROWS * DIM * 8, OUT = CHUNK_ROWS * 16;
const SLOT = 64 + 2 * SIDE + OUT + 64;
const memory = new WebAssembly.Memory({ initial: 16, maximum: 16384, shared: true });
const probe = await WebAssembly.instantiate(module, { env: { memory, abort() {} } });
const base = (probe.exports.scratchPtr() + 63) & ~63;
memory.grow(Math.ceil((base + 2 * 2 * SLOT - memory.buffer.byteLength) / 65536) + 1);

const workerSource = `
  const { parentPort, workerData } = require("node:worker_threads");
  const { module, memory } = workerData;
  const instance = new WebAssembly.Instance(module, { env: { memory, abort() {} } });
  const k = instance.exports;
  parentPort.on("message", ({ id, at, rows, dim, side }) => {
    k.setResultsPtr(at);
    const p = at + 64, q = p + side, out = q + side;
    const status = k.klRows(0, p, q, rows, dim, dim, dim, out);
    parentPort.postMessage({ id, status });
  });`;
const workers = [0, 1].map(() => new Worker(workerSource, { eval: true, workerData: { module, memory } }));

let nextId = 0;
/** kl of every row on `threads` workers: chunks copied into the worker's two slots in turn. */
function sharedKL(p, q, rows, dim, threads) {
  const out = new Float64Array(rows);
  const f64 = new Float64Array(memory.buffer);
  let next = 0, left = Math.ceil(rows / CHUNK_ROWS), nan = 0;
  return new Promise((done) => {
    const send = (w, slot) => {
      if (next >= rows) return;
      const from = next, n = Math.min(CHUNK_ROWS, rows - from);
      next += n;
      const at = base + (2 * w + slot) * SLOT;
      f64.set(p.subarray(from * dim, (from + n) * dim), (at + 64) / 8);
      f64.set(q.subarray(from * dim, (from + n) * dim), (at + 64 + SIDE) / 8);
      const id = nextId++;
      const onReply = (m) => {
        if (m.id !== id) return;
        workers[w].off("message", onReply);
        const o = (at + 64 + 2 * SIDE) / 8;
        for (let r = 0; r < n; r++) {
          out[from + r] = f64[o + 2 * r];
          if (Number.isNaN(out[from + r])) nan++;
        }
        if (--left === 0) done({ out, nan });
        else send(w, slot);
      };
      workers[w].on("message", onReply);
      workers[w].postMessage({ id, at, rows: n, dim, side: SIDE });
    };
    for (let w = 0; w < threads; w++) for (const slot of [0, 1]) send(w, slot);
  });
}

// ----- the measurement -----
function values(n, seed) {
  let x = seed >>> 0 || 1;
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    v[i] = -Math.log(((x >>> 0) + 1) / 4294967297);
  }
  return v;
}
await init();
const n = ROWS * DIM, p = values(n, 1), q = values(n, 2);
const expected = score("kl", p, q, { dim: DIM });
const { out, nan } = await sharedKL(p, q, ROWS, DIM, 2);
let differ = 0;
for (let r = 0; r < ROWS; r++) if (!Number.isNaN(out[r]) && !Object.is(out[r], expected[r])) differ++;
console.log(`design (a) prototype: ${ROWS} × ${DIM}; rows differing from score(): ${differ}; NaN rows (exact path, not redone): ${nan}`);

const configs = [
  ["in-process score()", () => score("kl", p, q, { dim: DIM })],
  ["(a) shared memory, 1 thread", () => sharedKL(p, q, ROWS, DIM, 1)],
  ["(a) shared memory, 2 threads", () => sharedKL(p, q, ROWS, DIM, 2)],
  ["(b) worker pool, 1 thread", () => scoreParallel("kl", p, q, { dim: DIM, threads: 1 })],
  ["(b) worker pool, 2 threads", () => scoreParallel("kl", p, q, { dim: DIM, threads: 2 })],
];
const samples = configs.map(() => []);
for (const [, run] of configs) await run();
const loadAtStart = loadavg()[0];
for (let r = 0; r < RUNS; r++) {
  for (let i = 0; i < configs.length; i++) {
    const t0 = performance.now();
    await configs[i][1]();
    samples[i].push(performance.now() - t0);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(`load average (1 min) ${loadAtStart.toFixed(2)} → ${loadavg()[0].toFixed(2)}; medians of ${RUNS} interleaved rounds\n`);
console.log("| configuration | median | elements/s |\n|---|---:|---:|");
for (let i = 0; i < configs.length; i++) {
  const ms = median(samples[i]);
  console.log(`| ${configs[i][0]} | ${ms.toFixed(1)} ms | ${((n / ms) / 1e3).toFixed(1)} M/s |`);
}
for (const w of workers) await w.terminate();
await close();
