// Shared by the browser tests: Debian's Chromium driven by playwright-core (no browser
// download), the static server, and a page wrapper that collects every console error, page
// error, failed request and HTTP error so a test can insist there were none.
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { startServer } from "../../scripts/static-server.mjs";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

// Without the networking flags Chromium tries to reach Google's hosts, which this network refuses.
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function launch(extraArgs = []) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...FLAGS, ...extraArgs] });
}

export { startServer };

/** Opens `url` in a fresh context; `problems` fills with anything that went wrong on the page. */
export async function openPage(browser, url, { viewport = { width: 1280, height: 900 }, hasTouch = false } = {}) {
  const context = await browser.newContext({ viewport, hasTouch });
  const page = await context.newPage();
  const problems = [];
  const consoleErrors = [];
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  page.on("worker", (w) => w.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(`worker: ${m.text()}`);
  }));
  await page.goto(url);
  return { page, problems, consoleErrors, close: () => context.close() };
}
