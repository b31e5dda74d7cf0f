// Known answers in Chromium: the fixture set (mpmath oracle) on the main thread, in a module
// worker, on a cross-origin-isolated page, under two CSPs, without SIMD and without
// WebAssembly, each asserting which backend init() selected and that nothing logged an error.
// Run with `npm run test:browser` (needs /usr/bin/chromium: apt-get install -y chromium).
// Chromium validates relaxed SIMD (V8 ≥ 11.4), so init() selects the relaxed-SIMD build there.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { launch, openPage, startServer } from "./chromium.mjs";

const PAGE = "test/browser/pages/known-answers.html";
// The console error Chromium prints when a CSP refuses WebAssembly compilation, and the one
// for the page's own eval probe: the only console errors any scenario may show.
const WASM_REFUSED = /Refused to compile or instantiate WebAssembly module/;
const EVAL_REFUSED = /Refused to evaluate a string as JavaScript/;

let server;
before(async () => {
  server = await startServer();
});
after(() => server.close());

async function run(browser, path, { allowed = [] } = {}) {
  const { page, problems, consoleErrors, close } = await openPage(browser, `${server.origin}/${path}`);
  try {
    await page.waitForFunction(() => window.klResult !== undefined, null, { timeout: 60_000 });
    const result = await page.evaluate(() => window.klResult);
    const unexpected = consoleErrors.filter((text) => !allowed.some((re) => re.test(text)));
    assert.deepEqual(problems, [], "page problems");
    assert.deepEqual(unexpected, [], "console errors");
    assert.deepEqual(result.failures, [], "known-answer failures");
    assert.ok(result.runs > 600, `only ${result.runs} runs`);
    console.log(`  ${path}: backend ${result.backend}, ${result.runs} runs, worst f64 relative error ${result.worstRel.toExponential(1)}, engine ${JSON.stringify(result.engine)}`);
    return { ...result, consoleErrors };
  } finally {
    await close();
  }
}

describe("Chromium with SIMD", () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(() => browser.close());

  test("main thread: wasm-relaxed-simd", async () => {
    const r = await run(browser, `plain/${PAGE}?where=main`);
    assert.deepEqual(r.engine, { webAssembly: true, simd: true });
    assert.equal(r.backend, "wasm-relaxed-simd");
    assert.equal(r.backendAfter, "wasm-relaxed-simd");
  });

  test("module worker: wasm-relaxed-simd", async () => {
    const r = await run(browser, `plain/${PAGE}?where=worker`);
    assert.equal(r.isWorker, true);
    assert.equal(r.backend, "wasm-relaxed-simd");
  });

  test("cross-origin isolated page (COOP same-origin, COEP require-corp): wasm-relaxed-simd", async () => {
    const r = await run(browser, `coi/${PAGE}?where=main`);
    assert.equal(r.crossOriginIsolated, true);
    assert.equal(r.backend, "wasm-relaxed-simd");
  });

  test("worker of a cross-origin isolated page: wasm-relaxed-simd", async () => {
    const r = await run(browser, `coi/${PAGE}?where=worker`);
    assert.equal(r.pageCrossOriginIsolated, true);
    assert.equal(r.crossOriginIsolated, true);
    assert.equal(r.backend, "wasm-relaxed-simd");
  });

  test("CSP script-src 'self' 'wasm-unsafe-eval': wasm-relaxed-simd, no eval", async () => {
    const r = await run(browser, `csp-wasm/${PAGE}?where=main&probe-eval`, { allowed: [EVAL_REFUSED] });
    assert.equal(r.backend, "wasm-relaxed-simd");
    assert.deepEqual(r.pageViolations, [], "the package caused a CSP violation");
    assert.equal(r.evalBlocked, true, "the CSP did not block eval, so the check proves nothing");
  });

  test("CSP script-src 'self' 'wasm-unsafe-eval', in a module worker: wasm-relaxed-simd", async () => {
    const r = await run(browser, `csp-wasm/${PAGE}?where=worker`);
    assert.equal(r.backend, "wasm-relaxed-simd");
    assert.deepEqual(r.violations, []);
  });

  test("CSP script-src 'self' (no 'wasm-unsafe-eval'): quietly falls back to js", async () => {
    const r = await run(browser, `csp-strict/${PAGE}?where=main`, { allowed: [WASM_REFUSED] });
    assert.equal(r.backend, "js");
    // the fallback happened because the CSP refused the compilation, not for another reason
    assert.ok(r.pageViolations.some((v) => v.startsWith("script-src") && v.endsWith("wasm-eval")), JSON.stringify(r.pageViolations));
  });

  test("CSP script-src 'self', in a module worker: js", async () => {
    const r = await run(browser, `csp-strict/${PAGE}?where=worker`, { allowed: [WASM_REFUSED] });
    assert.equal(r.backend, "js");
    assert.ok(r.violations.some((v) => v.startsWith("script-src") && v.endsWith("wasm-eval")), JSON.stringify(r.violations));
  });

  test("WebAssembly deleted before import: js", async () => {
    const r = await run(browser, `plain/${PAGE}?where=main&no-webassembly`);
    assert.equal(r.engine.webAssembly, false);
    assert.equal(r.backend, "js");
  });
});

describe("Chromium without SIMD (--js-flags=--no-enable-sse4-1)", () => {
  let browser;
  before(async () => {
    browser = await launch(["--js-flags=--no-enable-sse4-1"]);
  });
  after(() => browser.close());

  test("main thread: js", async () => {
    const r = await run(browser, `plain/${PAGE}?where=main`);
    assert.deepEqual(r.engine, { webAssembly: true, simd: false }, "the flag did not turn SIMD off");
    assert.equal(r.backend, "js");
  });

  test("module worker: js", async () => {
    const r = await run(browser, `plain/${PAGE}?where=worker`);
    assert.deepEqual(r.engine, { webAssembly: true, simd: false });
    assert.equal(r.backend, "js");
  });
});

test("the bundle contains no eval or Function constructor", () => {
  const bundle = readFileSync(new URL("../../dist/index.js", import.meta.url), "utf8");
  assert.doesNotMatch(bundle, /\beval\s*\(|\bnew\s+Function\b|\bFunction\s*\(/);
});
