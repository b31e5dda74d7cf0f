// kl-simd/parallel in a page (test/browser/parallel.browser.mjs): parallel-checks.js on module
// Web Workers, with rows from allocate() on shared memory where the page is cross-origin
// isolated and copied to the workers where not. With ?bench, instead, the timings of
// bench/parallel-browser.bench.mjs. Reports on window.klParallel.
import * as lib from "../../../dist/index.js";
import * as parallel from "../../../dist/parallel.js";
import { checkParallel, fill } from "./parallel-checks.js";

const { init, score } = lib;
const { allocate, close, maxThreads, poolSize, scoreParallel, sharedMemory } = parallel;

/** Median ms of each configuration over interleaved rounds (bench/parallel-browser.bench.mjs). */
async function bench(rows, rounds) {
  const dim = 64;
  const sp = fill(allocate(rows * dim), 1), sq = fill(allocate(rows * dim), 2);
  const p = Float64Array.from(sp), q = Float64Array.from(sq);
  const threads = [1, 2, 4, 8, 16, 32, 64].filter((t) => t <= maxThreads());
  const configs = [["in-process score()", () => score("kl", p, q, { dim })]];
  if (sharedMemory()) for (const t of threads) configs.push([`${t} thread${t > 1 ? "s" : ""}, shared rows`, () => scoreParallel("kl", sp, sq, { dim, threads: t })]);
  for (const t of threads) configs.push([`${t} thread${t > 1 ? "s" : ""}, copied rows`, () => scoreParallel("kl", p, q, { dim, threads: t })]);
  const times = configs.map(() => []);
  for (const [, run] of configs) await run(); // warm-up: workers started, code compiled
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < configs.length; i++) {
      const t0 = performance.now();
      await configs[i][1]();
      times[i].push(performance.now() - t0);
    }
  }
  const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  return configs.map(([name], i) => ({ name, ms: median(times[i]) }));
}

async function main() {
  const backend = await init();
  const query = new URLSearchParams(location.search);
  const result = { backend, crossOriginIsolated: globalThis.crossOriginIsolated === true, sharedMemory: sharedMemory(), maxThreads: maxThreads() };
  if (query.has("bench")) {
    result.bench = await bench(Number(query.get("rows") ?? 1e6), Number(query.get("rounds") ?? 7));
  } else {
    const cases = (await (await fetch("../../fixtures/score-cases.json")).json()).cases;
    Object.assign(result, await checkParallel(lib, parallel, cases));
  }
  await close();
  result.workersAfterClose = poolSize();
  return result;
}

main().then(
  (result) => {
    window.klParallel = result;
    document.getElementById("status").textContent = "done";
  },
  (error) => {
    window.klParallel = { failures: [`threw: ${error?.stack ?? error}`] };
  },
);
