// Runs the known-answer set where the URL says (?where=main | worker), optionally with
// WebAssembly deleted before the package is imported (?no-webassembly), and leaves the
// summary in window.klResult for the test. Under a CSP it also records every violation and,
// after the run, checks that the policy really forbids eval (?probe-eval).
import { runKnownAnswers } from "./known-answers.js";

const params = new URLSearchParams(location.search);
const violations = [];
document.addEventListener("securitypolicyviolation", (e) => violations.push(`${e.effectiveDirective} ${e.blockedURI}`));

async function onMainThread() {
  if (params.has("no-webassembly")) delete globalThis.WebAssembly;
  const pkg = await import("../../../dist/index.js");
  return { ...(await runKnownAnswers(pkg, new URL("../../fixtures/kl-cases.json", import.meta.url))), where: "main" };
}

function inWorker() {
  return new Promise((resolve) => {
    const worker = new Worker(new URL("known-answers-worker.js", import.meta.url), { type: "module" });
    worker.onmessage = (e) => resolve(e.data);
    worker.onerror = (e) => resolve({ where: "worker", failures: [`worker error: ${e.message}`] });
  });
}

const result = params.get("where") === "worker" ? await inWorker() : await onMainThread();
result.pageViolations = violations.slice();
if (params.has("probe-eval")) {
  // Only now, after the package ran without a violation: show the policy would have caught eval.
  try {
    new Function("return 1")();
    result.evalBlocked = false;
  } catch (error) {
    result.evalBlocked = error instanceof EvalError;
  }
}
result.pageCrossOriginIsolated = globalThis.crossOriginIsolated === true;
document.getElementById("status").textContent = result.failures.length === 0 ? `pass (${result.backend})` : "fail";
window.klResult = result;
