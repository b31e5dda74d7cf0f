// kl-simd/parallel in Node, Deno and Bun: `<runtime> parallel.mjs` runs parallel-checks.js
// (copied beside it by run.mjs from test/browser/pages/, where Chromium's pages run it too)
// against the installed tarball, and prints the result as JSON. batch-cases.json is written
// beside it by run.mjs: the batch cases of test/fixtures/score-cases.json (mpmath).
import * as lib from "kl-simd";
import * as parallel from "kl-simd/parallel";
import cases from "./batch-cases.json" with { type: "json" };
import { checkParallel } from "./parallel-checks.js";

const result = await checkParallel(lib, parallel, cases);
console.log(JSON.stringify(result));
