// kl-simd/parallel in Chromium: test/browser/pages/parallel.html imports dist/parallel.js
// (module Web Workers), on a plain page (no SharedArrayBuffer: rows copied to the workers)
// and on a cross-origin-isolated one (COOP/COEP: rows from allocate() read in place). Every
// batch case of the mpmath fixtures equals score() bit for bit and the exact value; errors
// are score()'s; close() settles and ends every worker. Run with `npm run test:browser`.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launch, openPage, startServer } from "./chromium.mjs";

const PAGE = "test/browser/pages/parallel.html";

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser.close();
  await server.close();
});

async function run(path) {
  const { page, problems, consoleErrors, close } = await openPage(browser, `${server.origin}/${path}`);
  try {
    await page.waitForFunction(() => window.klParallel !== undefined, null, { timeout: 120_000 });
    const result = await page.evaluate(() => window.klParallel);
    assert.deepEqual(result.failures, [], "failures");
    assert.deepEqual(problems, [], "page problems");
    assert.deepEqual(consoleErrors, [], "console errors");
    assert.ok(result.runs > 900, `only ${result.runs} runs`);
    assert.equal(result.backend, "wasm-relaxed-simd");
    assert.ok(result.workers >= 1 && result.workers <= result.maxThreads, `${result.workers} workers, ${result.maxThreads} cores`);
    assert.equal(result.workersAfterClose, 0);
    console.log(`  ${path}: ${result.runs} runs, ${result.workers} workers, shared rows ${result.sharedRows}`);
    return result;
  } finally {
    await close();
  }
}

describe("kl-simd/parallel in Chromium", () => {
  test("a plain page: no SharedArrayBuffer, rows copied to the workers", async () => {
    const r = await run(`plain/${PAGE}`);
    assert.equal(r.crossOriginIsolated, false);
    assert.equal(r.sharedMemory, false);
    assert.equal(r.sharedRows, false);
  });

  test("a cross-origin-isolated page (COOP/COEP): rows from allocate() on shared memory, read in place", async () => {
    const r = await run(`coi/${PAGE}`);
    assert.equal(r.crossOriginIsolated, true);
    assert.equal(r.sharedMemory, true);
    assert.equal(r.sharedRows, true);
  });
});
