// Module worker: imports the built package and runs the known-answer set off the main thread.
import * as pkg from "../../../dist/index.js";
import { runKnownAnswers } from "./known-answers.js";

const violations = [];
self.addEventListener("securitypolicyviolation", (e) => violations.push(`${e.effectiveDirective} ${e.blockedURI}`));

const summary = await runKnownAnswers(pkg, new URL("../../fixtures/kl-cases.json", import.meta.url));
self.postMessage({ ...summary, where: "worker", isWorker: typeof WorkerGlobalScope !== "undefined", violations });
