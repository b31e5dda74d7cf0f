// npm run bench:parallel:browser: kl-simd/parallel in Chromium (Debian's, driven by
// playwright-core), on a cross-origin-isolated page (rows from allocate() on shared memory)
// and on a plain one (no SharedArrayBuffer: rows copied to the workers). The page
// (test/browser/pages/parallel.html?bench) times kl of 1e6 × 64 Float64Array rows in-process
// and on 1, 2, 4, … threads up to navigator.hardwareConcurrency: medians of interleaved rounds.
// KL_BENCH_ROWS sets the rows, KL_BENCH_RUNS the rounds (default 7).
import { loadavg } from "node:os";
import { launch, openPage, startServer } from "../test/browser/chromium.mjs";

const ROWS = Number(process.env.KL_BENCH_ROWS ?? 1e6), RUNS = Number(process.env.KL_BENCH_RUNS ?? 7);
const load = () => loadavg().map((x) => x.toFixed(2)).join(", ");

const server = await startServer();
const browser = await launch();
console.log(`# kl-simd/parallel in Chromium ${browser.version()}\n`);
console.log(`kl, ${ROWS.toExponential().replace("e+", "e")} × 64 Float64Array rows; medians of ${RUNS} interleaved rounds. Load average at start: ${load()}.\n`);
try {
  for (const policy of ["coi", "plain"]) {
    const { page, close } = await openPage(browser, `${server.origin}/${policy}/test/browser/pages/parallel.html?bench&rows=${ROWS}&rounds=${RUNS}`);
    try {
      await page.waitForFunction(() => window.klParallel !== undefined, null, { timeout: 600_000 });
      const r = await page.evaluate(() => window.klParallel);
      if (r.failures) throw new Error(r.failures.join("\n"));
      const base = r.bench[0].ms;
      console.log(`${policy === "coi" ? "Cross-origin-isolated page (COOP/COEP)" : "Plain page"}: crossOriginIsolated ${r.crossOriginIsolated}, SharedArrayBuffer ${r.sharedMemory}, ${r.maxThreads} cores.\n`);
      console.log("| configuration | median | speed-up over in-process |");
      console.log("|---|---:|---:|");
      for (const { name, ms } of r.bench) console.log(`| ${name} | ${ms.toFixed(0)} ms | **${(base / ms).toFixed(2)}×** |`);
      console.log("");
    } finally {
      await close();
    }
  }
} finally {
  await browser.close();
  await server.close();
}
console.log(`Load average at end: ${load()}.`);
