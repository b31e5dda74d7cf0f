// The demo page (examples/web) in Chromium, used as a person would: it loads without console
// errors on the SIMD backend, shows the right divergences for its example, after pasting new
// numbers, after dragging a bar with the mouse and with a finger, after a key press and after
// loading a CSV, shows the same on the JS fallback under a strict CSP, runs its benchmark, and
// leaves a screenshot in test/browser/artifacts/demo.png.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { after, before, test } from "node:test";
import { launch, openPage, startServer } from "./chromium.mjs";

// Computed independently with mpmath at 60 digits by test/browser/demo-expected.py (its output,
// verbatim): KL both ways, Jensen–Shannon and PSI, in nats, of the normalised inputs.
const EXPECTED = {
  example: { klPQ: 0.07553531665385668, klQP: 0.0912356090772381, js: 0.020256897933378502, psi: 0.16677092573109478 },
  pasted: { klPQ: 0.45643481914678363, klQP: 0.45643481914678363, js: 0.10644013528622315, psi: 0.9128696382935673 },
  dragged: { klPQ: 0.3745689956317603, klQP: 0.4283120251413155, js: 0.09283958486128138, psi: 0.8028810207730759 },
  touched: { klPQ: 0.1747645389759377, klQP: 0.24150279986671375, js: 0.049112376068575755, psi: 0.41626733884265144 },
  csv: { klPQ: 0.26264062120617, klQP: Infinity, js: 0.07467648058236959, psi: Infinity },
};
const REL = 1e-12;
const ARTIFACTS = new URL("./artifacts/", import.meta.url);

let server, browser, session;
before(async () => {
  server = await startServer();
  browser = await launch();
  session = await openPage(browser, `${server.origin}/examples/web/`, { viewport: { width: 1280, height: 900 } });
  await session.page.waitForSelector("body[data-ready]", { timeout: 30_000 });
});
after(async () => {
  await session?.close();
  await browser?.close();
  await server?.close();
});

async function shown(page) {
  const read = (id) => page.getAttribute(`#${id}`, "data-value").then(Number);
  return { klPQ: await read("kl-pq"), klQP: await read("kl-qp"), js: await read("js"), psi: await read("psi") };
}

async function assertShows(page, expected, scale = 1) {
  const got = await shown(page);
  for (const [key, want] of Object.entries(expected)) {
    const w = want * scale;
    const ok = w === Infinity ? got[key] === Infinity : Math.abs(got[key] - w) <= REL * w;
    assert.ok(ok, `${key}: page shows ${got[key]}, mpmath says ${w}`);
  }
  assert.equal(await page.isHidden("#message"), true, "an error message is shown");
}

function noProblems() {
  assert.deepEqual(session.problems, [], "page problems");
  assert.deepEqual(session.consoleErrors, [], "console errors");
}

test("loads on wasm-relaxed-simd and shows the example's divergences", async () => {
  const { page } = session;
  assert.equal(await page.textContent("#backend"), "wasm-relaxed-simd");
  await assertShows(page, EXPECTED.example);
  // the contributions add up to D(P‖Q), and the signs are coloured
  assert.equal(await page.locator("#chart-contrib .bar.positive").count(), 4);
  assert.equal(await page.locator("#chart-contrib .bar.negative").count(), 5);
  noProblems();
});

test("pasted numbers", async () => {
  const { page } = session;
  await page.fill("#text-p", "1, 2, 3, 4");
  assert.match(await page.textContent("#message"), /same number of bins/); // Q still has 10
  await page.fill("#text-q", "4\t3\n2 1");
  assert.equal(await page.textContent("#bins"), "4");
  await assertShows(page, EXPECTED.pasted);
  noProblems();
});

test("dragging a bar of P from 2 to 3.5", async () => {
  const { page } = session;
  const bin = page.locator("#chart-p .bin").nth(1);
  const max = Number(await bin.getAttribute("aria-valuemax"));
  const column = await bin.locator(".hit").boundingBox(); // the plot's full height at this bin
  const bar = await bin.locator(".bar").boundingBox();
  const x = column.x + column.width / 2;
  const yFor = (v) => column.y + column.height * (1 - v / max);
  await page.mouse.move(x, bar.y + bar.height / 2);
  await page.mouse.down();
  await page.mouse.move(x, yFor(4.5), { steps: 8 }); // past the target and back, as a hand does
  await page.mouse.move(x, yFor(3.5), { steps: 5 });
  await page.mouse.up();
  assert.equal(await bin.getAttribute("data-value"), "3.5");
  assert.equal(await page.inputValue("#text-p"), "1, 3.5, 3, 4");
  await assertShows(page, EXPECTED.dragged);
  noProblems();
});

test("touch: dragging a bar of Q with a finger", async () => {
  // a touch-screen context of its own, narrow (charts stacked), set to P 1, 3.5, 3, 4 and Q 4, 3, 2, 1
  const touch = await openPage(browser, `${server.origin}/examples/web/`, { viewport: { width: 820, height: 1000 }, hasTouch: true });
  const { page } = touch;
  try {
    await page.waitForSelector("body[data-ready]", { timeout: 30_000 });
    await page.fill("#text-p", "1, 3.5, 3, 4");
    await page.fill("#text-q", "4, 3, 2, 1");
    const bin = page.locator("#chart-q .bin").nth(3);
    await bin.scrollIntoViewIfNeeded();
    const max = Number(await bin.getAttribute("aria-valuemax"));
    const column = await bin.locator(".hit").boundingBox();
    const x = column.x + column.width / 2;
    const yFor = (v) => column.y + column.height * (1 - v / max);
    const cdp = await page.context().newCDPSession(page);
    const touchAt = (type, y) => cdp.send("Input.dispatchTouchEvent", { type, touchPoints: type === "touchEnd" ? [] : [{ x, y }] });
    await touchAt("touchStart", yFor(1));
    for (const v of [1.5, 2.5, 3.2, 3]) await touchAt("touchMove", yFor(v));
    await touchAt("touchEnd");
    assert.equal(await bin.getAttribute("data-value"), "3");
    assert.equal(await page.inputValue("#text-q"), "4, 3, 2, 3");
    await assertShows(page, EXPECTED.touched);
    assert.deepEqual(touch.problems, []);
    assert.deepEqual(touch.consoleErrors, []);
  } finally {
    await touch.close();
  }
});

test("keyboard: a focused bar moves by 1/100 of the axis; bits are nats / ln 2", async () => {
  const { page } = session;
  const bin = page.locator("#chart-q .bin").nth(0);
  const before = Number(await bin.getAttribute("data-value"));
  const step = Number(await bin.getAttribute("aria-valuemax")) / 100;
  await bin.focus();
  await page.keyboard.press("ArrowUp");
  assert.equal(Number(await bin.getAttribute("data-value")), Number((before + step).toPrecision(12)));
  await page.keyboard.press("ArrowDown");
  assert.equal(Number(await bin.getAttribute("data-value")), before);
  await page.selectOption("#units", "bits");
  await assertShows(page, EXPECTED.dragged, 1 / Math.LN2);
  await page.selectOption("#units", "nats");
  noProblems();
});

test("a CSV with a header and columns p, q; a zero in Q gives D(Q‖P) = ∞", async () => {
  const { page } = session;
  await page.setInputFiles("#csv", {
    name: "pq.csv",
    mimeType: "text/csv",
    buffer: Buffer.from("p,q\n0.1,0.25\n0.2,0.25\n0.3,0.2\n0.4,0.2\n0,0.1\n"),
  });
  await page.waitForFunction(() => document.getElementById("bins").textContent === "5");
  await assertShows(page, EXPECTED.csv);
  assert.equal(await page.textContent("#kl-qp"), "∞");
  noProblems();
});

test("under a CSP without 'wasm-unsafe-eval' the page runs on js, with the same numbers", async () => {
  const strict = await openPage(browser, `${server.origin}/csp-strict/examples/web/`);
  try {
    await strict.page.waitForSelector("body[data-ready]", { timeout: 30_000 });
    assert.equal(await strict.page.textContent("#backend"), "js");
    await assertShows(strict.page, EXPECTED.example);
    assert.deepEqual(strict.problems, []);
    const unexpected = strict.consoleErrors.filter((t) => !/Refused to compile or instantiate WebAssembly module/.test(t));
    assert.deepEqual(unexpected, []);
  } finally {
    await strict.close();
  }
});

test("benchmark button, then a screenshot", async () => {
  const { page } = session;
  await page.click("#reset");
  await assertShows(page, EXPECTED.example);
  await page.click("#bench-run");
  await page.waitForSelector("#bench-table:not([hidden])", { timeout: 120_000 });
  const ratios = await page.$$eval("#bench-table tbody tr", (rows) => rows.map((r) => Number(r.dataset.ratio)));
  assert.equal(ratios.length, 2);
  for (const r of ratios) assert.ok(Number.isFinite(r) && r > 0, `ratio ${r}`);
  console.log(`  benchmark in Chromium, kl() ÷ plain loop speed: Float64Array ${ratios[0].toFixed(2)}×, Float32Array ${ratios[1].toFixed(2)}×`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = new URL("demo.png", ARTIFACTS).pathname;
  await page.screenshot({ path, fullPage: true });
  console.log(`  screenshot: ${path}`);
  noProblems();
});
