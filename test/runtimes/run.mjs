// npm run test:runtimes: the packed package, installed by name into a fresh project, runs the
// known-answer set (probe.mjs) in Node 20 (this one), Node 22, Deno, Bun and workerd, each
// with WebAssembly SIMD, without it, and with no WebAssembly at all, and must select the
// expected backend and give the right answers. Prints the matrix; exits 1 on any failure.
// The runtimes come from this folder's package.json: `npm run runtimes:install` first.
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { consumer, pack } from "../package/pack.mjs";

const here = (file) => new URL(file, import.meta.url);
const bin = (name) => fileURLToPath(here(`node_modules/.bin/${name}`));
const MODES = ["simd", "no-simd", "no-wasm"];
const EXPECTED = { simd: "wasm-simd", "no-simd": "js", "no-wasm": "js" };
// Fixtures up to 8193 elements: every tail, several blocks, and more than one 32 KiB chunk
// (4097 doubles, 8193 floats).
const MAX_CASE_LENGTH = 8193;

for (const name of ["node", "deno", "bun", "workerd"]) {
  if (!existsSync(bin(name))) throw new Error(`${bin(name)} is missing: run \`npm run runtimes:install\` first`);
}
const version = (cmd, args = ["--version"]) => execFileSync(cmd, args, { encoding: "utf8" }).split("\n")[0].trim();

// Node, Deno and Bun run main.mjs; `noSimd`: the flags or environment that turn wasm SIMD off;
// `relaxed`: the runtime has relaxed SIMD (V8 ships it from Node 22; JavaScriptCore in Bun),
// so init() must select the relaxed-SIMD build there.
const RELAXED = { ...EXPECTED, simd: "wasm-relaxed-simd" };
const cli = [
  { name: `Node ${process.version}`, cmd: process.execPath, args: [], noSimd: { args: ["--no-enable-sse4-1"] }, relaxed: Number(process.versions.node.split(".")[0]) >= 22 },
  { name: `Node ${version(bin("node"))}`, cmd: bin("node"), args: [], noSimd: { args: ["--no-enable-sse4-1"] }, relaxed: true },
  { name: `Deno ${version(bin("deno")).split(" ")[1]}`, cmd: bin("deno"), args: ["run"], noSimd: { args: ["--v8-flags=--no-enable-sse4-1"] }, relaxed: true },
  // JavaScriptCore's option: with it, WebAssembly.validate rejects init()'s SIMD probe module
  { name: `Bun ${version(bin("bun"))}`, cmd: bin("bun"), args: [], noSimd: { env: { BUN_JSC_useWasmSIMD: "0" } }, relaxed: true },
];

function runCli(runtime, mode, dir) {
  const flags = mode === "no-simd" ? runtime.noSimd : {};
  const out = execFileSync(runtime.cmd, [...runtime.args, ...(flags.args ?? []), "main.mjs", mode], {
    cwd: dir,
    encoding: "utf8",
    // no update checks or telemetry: this machine reaches no network
    env: { ...process.env, ...flags.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", DO_NOT_TRACK: "1" },
    timeout: 60_000,
  });
  return JSON.parse(out.trim().split("\n").pop());
}

// workerd: the worker bundled as wrangler bundles one (esbuild, the workerd condition first,
// each imported .wasm file a compiled-wasm module of the Worker), served on 127.0.0.1 by a
// capnp config, asked once.
async function bundleWorker(dir, entry, out, conditions) {
  const wasmFiles = new Map(); // resolved path → module name
  const wasmModules = {
    name: "wasm-modules",
    setup(b) {
      b.onResolve({ filter: /\.wasm$/ }, async (args) => {
        if (args.pluginData === "wasm-modules") return undefined;
        const resolved = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: "wasm-modules" });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        if (!wasmFiles.has(resolved.path)) wasmFiles.set(resolved.path, `module-${wasmFiles.size}.wasm`);
        return { path: `./${wasmFiles.get(resolved.path)}`, external: true };
      });
    },
  };
  await build({
    entryPoints: [join(dir, entry)],
    outfile: join(dir, out, "worker.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    conditions,
    target: "es2022",
    logLevel: "error",
    plugins: [wasmModules],
  });
  for (const [path, name] of wasmFiles) copyFileSync(path, join(dir, out, name));
  return { folder: join(dir, out), wasmNames: [...wasmFiles.values()] };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

async function runWorkerd(mode, { folder, wasmNames }) {
  const port = await freePort();
  const modules = [`(name = "worker.js", esModule = embed "worker.js")`, ...wasmNames.map((n) => `(name = "${n}", wasm = embed "${n}")`)];
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .probe) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
  v8Flags = [ ${mode === "no-simd" ? `"--no-enable-sse4-1"` : ""} ],
);
const probe :Workerd.Worker = (
  modules = [ ${modules.join(", ")} ],
  compatibilityDate = "2025-01-01",
);
`;
  const file = join(folder, "config.capnp");
  writeFileSync(file, config);
  const child = spawn(bin("workerd"), ["serve", file], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.on("exit", resolve));
  try {
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/?mode=${mode}`);
        const text = await response.text();
        if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status}: ${text}\n${stderr}`), { fatal: true });
        return JSON.parse(text);
      } catch (error) {
        if (error.fatal || child.exitCode !== null || Date.now() > deadline) throw new Error(`${error.message}\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } finally {
    child.kill();
    await exited;
  }
}

// --- the package as installed from its tarball, plus the probe and its cases
const work = mkdtempSync(join(tmpdir(), "kl-simd-runtimes-"));
const { tarball } = pack(work);
const dir = consumer(tarball, "runtimes");
for (const f of ["probe.mjs", "main.mjs", "worker.mjs", "worker-module.mjs", "parallel.mjs", "parallel-exit.mjs"]) copyFileSync(here(f), join(dir, f));
copyFileSync(here("../browser/pages/parallel-checks.js"), join(dir, "parallel-checks.js"));
writeFileSync(join(dir, "cases.json"), JSON.stringify(knownAnswers()));
const scoreCases = JSON.parse(readFileSync(here("../fixtures/score-cases.json"), "utf8")).cases;
writeFileSync(join(dir, "batch-cases.json"), JSON.stringify(scoreCases.filter((c) => c.category === "batch" && c.call === "pair")));

function knownAnswers() {
  const doc = JSON.parse(readFileSync(here("../fixtures/kl-cases.json"), "utf8"));
  const decode = (text, encoding) => {
    const bytes = Buffer.from(text, "base64");
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const View = { f64le: Float64Array, f32le: Float32Array, u32le: Uint32Array, u16le: Uint16Array, u8: Uint8Array }[encoding];
    return Array.from(new View(buffer));
  };
  return doc.cases
    .filter((c) => c.n <= MAX_CASE_LENGTH)
    .map((c) => ({
      name: c.name,
      kind: c.kind,
      p: c.p ?? decode(c.p_b64, c.encoding),
      q: c.q ?? decode(c.q_b64, c.encoding),
      normalize: c.normalize,
      base: c.base,
      expected: c.expected,
      exact_zero: c.exact_zero ?? false,
    }));
}

// --- the matrix
const rows = [];
let passed = 0, failed = 0, skipped = 0;
// `expected`: the backend each mode must select; "refused" where the runtime cannot load the
// program at all (a workerd without SIMD compiles a Worker's wasm modules at load and rejects
// the kernel module then, before any code of ours runs: the cell is skipped, not passed).
async function row(name, attempt, expected = EXPECTED) {
  const cells = [];
  for (const mode of MODES) {
    const start = performance.now();
    let cell;
    try {
      const r = await attempt(mode);
      const problems = [...r.failures];
      if (r.selected !== expected[mode] || r.backend !== expected[mode]) problems.unshift(`backend ${r.selected}, expected ${expected[mode]}`);
      if ((mode === "no-wasm") !== (r.wasm === "undefined")) problems.unshift(`typeof WebAssembly is ${r.wasm}`);
      cell = { text: `${r.selected} ${problems.length === 0 ? "pass" : "FAIL"}`, problems, cases: r.cases };
    } catch (error) {
      const refused = expected[mode] === "refused" && /Wasm SIMD unsupported/.test(error.message);
      cell = refused
        ? { text: "n/a: Worker refused at load (Wasm SIMD unsupported)", problems: [], skipped: true }
        : { text: "FAIL (error)", problems: [String(error.stack ?? error).slice(0, 2000)] };
    }
    cell.ms = performance.now() - start;
    if (cell.skipped) skipped++;
    else if (cell.problems.length === 0) passed++;
    else {
      failed++;
      console.error(`${name}, ${mode}:\n  ${cell.problems.slice(0, 10).join("\n  ")}`);
    }
    cells.push(cell);
  }
  rows.push({ name, cells });
}

for (const runtime of cli) await row(runtime.name, (mode) => runCli(runtime, mode, dir), runtime.relaxed ? RELAXED : EXPECTED);
const workerd = `workerd ${version(bin("workerd")).split(" ")[1]}`;
const conditions = ["workerd", "worker", "browser"];
const onWorkerd = { ...EXPECTED, "no-simd": "refused" }; // the SIMD build: the .wasm file
const workerdEntry = await bundleWorker(dir, "worker.mjs", "worker-workerd", conditions);
await row(`${workerd}, workerd entry, init()`, (mode) => runWorkerd(mode, workerdEntry), onWorkerd);
const explicit = await bundleWorker(dir, "worker-module.mjs", "worker-module", conditions);
await row(`${workerd}, init(module from "kl-simd/kl.wasm")`, (mode) => runWorkerd(mode, explicit), onWorkerd);
// Without the workerd condition the Worker gets the default entry, whose inline bytes workerd
// refuses to compile ("Wasm code generation disallowed by embedder"): init() falls back.
const defaultEntry = await bundleWorker(dir, "worker.mjs", "worker-default", ["worker", "browser"]);
await row(`${workerd}, default entry (bytes inline)`, (mode) => runWorkerd(mode, defaultEntry), { simd: "js", "no-simd": "js", "no-wasm": "js" });

// kl-simd/parallel: worker_threads in Node and Deno, module Web Workers in Bun (SIMD on)
const parallelCells = [];
for (const runtime of cli) {
  const start = performance.now();
  let text, problems = [];
  try {
    const env = { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", DO_NOT_TRACK: "1" };
    const out = execFileSync(runtime.cmd, [...runtime.args, "parallel.mjs"], { cwd: dir, encoding: "utf8", timeout: 120_000, env });
    const r = JSON.parse(out.trim().split("\n").pop());
    // an idle pool must let the process exit (execFileSync throws on a timeout or exit code ≠ 0)
    const exit = JSON.parse(execFileSync(runtime.cmd, [...runtime.args, "parallel-exit.mjs"], { cwd: dir, encoding: "utf8", timeout: 30_000, env }).trim().split("\n").pop());
    if (!(exit.mean > 0)) problems.push(`parallel-exit.mjs: ${JSON.stringify(exit)}`);
    problems.push(...r.failures);
    if (!(r.runs > 900)) problems.push(`only ${r.runs} runs`);
    if (r.sharedRows !== true) problems.push("allocate() gave no shared rows");
    if (!(r.workers >= 1 && r.workers <= r.maxThreads) || r.workersAfterClose !== 0) problems.push(`workers ${r.workers}, after close ${r.workersAfterClose}, cores ${r.maxThreads}`);
    text = `${problems.length === 0 ? "pass" : "FAIL"}: ${r.runs} runs, ${r.workers} workers, shared rows, exits when idle`;
  } catch (error) {
    text = "FAIL (error)";
    problems = [String(error.stack ?? error).slice(0, 2000)];
  }
  if (problems.length === 0) passed++;
  else {
    failed++;
    console.error(`${runtime.name}, kl-simd/parallel:\n  ${problems.slice(0, 10).join("\n  ")}`);
  }
  parallelCells.push(`| ${runtime.name} | ${text} (${((performance.now() - start) / 1000).toFixed(2)} s) |`);
}

const cases = rows[0].cells[0].cases;
console.log(`\nKnown answers (${cases} checks: mpmath fixtures up to ${MAX_CASE_LENGTH} elements, the README example, two error codes) from the packed package:\n`);
console.log(`| runtime | ${MODES.join(" | ")} |`);
console.log(`|---|${MODES.map(() => "---").join("|")}|`);
for (const { name, cells } of rows) console.log(`| ${name} | ${cells.map((c) => `${c.text} (${(c.ms / 1000).toFixed(2)} s)`).join(" | ")} |`);
console.log(`\nsimd: the runtime as it is; no-simd: node/deno --no-enable-sse4-1, BUN_JSC_useWasmSIMD=0, workerd v8Flags --no-enable-sse4-1; no-wasm: globalThis.WebAssembly deleted before import`);
console.log(`\nkl-simd/parallel (test/browser/pages/parallel-checks.js: the batch fixtures through scoreParallel, bit for bit score() and within 1e-12 of mpmath; shared rows; an error's indices; threads 1000; close(); exit without close()):\n`);
console.log("| runtime | kl-simd/parallel |");
console.log("|---|---|");
for (const line of parallelCells) console.log(line);
console.log(`runtimes: ${passed} passed, ${failed} failed, ${skipped} skipped`);
rmSync(work, { recursive: true, force: true });
rmSync(dir, { recursive: true, force: true });
process.exitCode = failed === 0 ? 0 : 1;
