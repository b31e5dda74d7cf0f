// npm run test:pack: checks the package as npm would ship it, not the source tree.
// Starts from a clean tree (no dist/, no compiler output: what a fresh clone has), packs it
// (prepack must build it), installs the tarball by name into a fresh project, and checks:
// what the tarball holds; no install scripts, no eval or new Function in its JS; the size
// budget; publint and arethetypeswrong on the packed files; that Node imports it by name with
// the right answers and backend, and resolves the workerd condition to the workerd entry;
// that CommonJS code loads it with require(); that TypeScript users compile against it under
// moduleResolution nodenext and bundler.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync, inflateSync } from "node:zlib";
import { consumer, pack, root } from "./pack.mjs";

// The default entry, gzipped, JS and the inline wasm together (docs/runtimes.md, "Bundle size").
// Measured 20,161 bytes; the headroom is for the functions being added.
const BUDGET_GZIP_BYTES = 30 * 1024; // issue 9: 38.7 KiB → ≤ 30 (own loader, deflated inline kernel, one family per file)

const results = [];
function check(name, fn) {
  try {
    const note = fn();
    results.push(true);
    console.log(`ok    ${name}${note ? `: ${note}` : ""}`);
  } catch (error) {
    results.push(false);
    console.log(`FAIL  ${name}\n${String(error?.stdout ?? "")}${String(error?.stderr ?? "")}${error?.message ?? error}`);
  }
}
function assert(condition, message) {
  if (!condition) throw new Error(message);
}
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: "pipe" });
const bin = (name) => join(root, "node_modules", ".bin", name);

// a clean tree, so that the tarball holds what packing builds, not what an earlier step left in
// dist/; KL_BUILT (CI's "built already") must not skip that build
rmSync(join(root, "dist"), { recursive: true, force: true });
for (const f of readdirSync(join(root, "build"))) if (f !== ".gitkeep") rmSync(join(root, "build", f), { recursive: true, force: true });
const { KL_BUILT: _built, ...env } = process.env;
const work = mkdtempSync(join(tmpdir(), "kl-simd-pack-"));
const { tarball, files } = pack(work, env);
const app = consumer(tarball);
const installed = join(app, "node_modules", "kl-simd");
const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
const read = (file) => readFileSync(join(installed, file));
const js = files.filter((f) => /\.(c|m)?js$/.test(f));

check("the tarball holds the entries, their types, kl.wasm, README, the docs it links and LICENSE", () => {
  const wanted = ["package.json", "README.md", "LICENSE", "dist/index.js", "dist/workerd.js", "dist/cli.js", "dist/index.d.ts", "dist/kl.wasm", "dist/kl.wasm.d.ts",
    "dist/parallel.js", "dist/parallel-worker.js", "dist/parallel.d.ts"];
  const missing = wanted.filter((f) => !files.includes(f));
  assert(missing.length === 0, `missing: ${missing.join(", ")}`);
  const stray = files.filter((f) => !/^(package\.json|README\.md|LICENSE|dist\/.+\.(js|d\.ts|wasm)|docs\/[\w-]+\.md)$/.test(f));
  assert(stray.length === 0, `unexpected files: ${stray.join(", ")}`);
  // the README's links into docs/ resolve in the installed package too
  const linked = [...readFileSync(join(root, "README.md"), "utf8").matchAll(/\]\((docs\/[\w-]+\.md)/g)].map((m) => m[1]);
  const unshipped = linked.filter((f) => !files.includes(f) && existsSync(join(root, f)));
  assert(unshipped.length === 0, `README links to docs not in the tarball: ${unshipped.join(", ")}`);
  return `${files.length} files`;
});

check("every exports target is in the tarball", () => {
  const targets = [];
  const walk = (v) => (typeof v === "string" ? targets.push(v.replace(/^\.\//, "")) : Object.values(v).forEach(walk));
  walk(manifest.exports);
  const missing = targets.filter((t) => !files.includes(t));
  assert(missing.length === 0, `missing: ${missing.join(", ")}`);
  assert(Object.keys(manifest.exports["."])[0] === "workerd", "the workerd condition must come first");
  return targets.join(", ");
});

check("package.json: no install scripts, no runtime dependencies", () => {
  const lifecycle = ["preinstall", "install", "postinstall", "preprepare", "prepare", "postprepare"];
  const scripts = lifecycle.filter((s) => manifest.scripts?.[s] !== undefined);
  assert(scripts.length === 0, `install scripts: ${scripts.join(", ")}`);
  assert(!manifest.gypfile && !files.includes("binding.gyp"), "a native build would run at install");
  for (const field of ["dependencies", "optionalDependencies", "peerDependencies"]) {
    const names = Object.keys(manifest[field] ?? {});
    assert(names.length === 0, `${field}: ${names.join(", ")}`);
  }
});

check("no eval, new Function or Function() in the packed JS", () => {
  const banned = /\beval\s*\(|\bnew\s+Function\b|(?<![\w$.])Function\s*\(|\bimportScripts\b/;
  for (const f of js) {
    const text = read(f).toString("utf8");
    const hit = text.match(banned);
    assert(hit === null, `${f}: "${hit?.[0]}" at ${text.slice(0, hit?.index).split("\n").length}`);
  }
  return js.join(", ");
});

check("the default entry carries the wasm inline; the workerd entry imports kl.wasm instead", () => {
  // the kernel's bytes as scripts/embed-wasm.mjs writes them: zlib-deflated, base64, after
  // their length and before the relaxed-SIMD sites
  const index = read("dist/index.js").toString("utf8");
  const workerd = read("dist/workerd.js").toString("utf8");
  const inline = /["`]([A-Za-z0-9+/]{4096,}={0,2})["`]/.exec(index)?.[1] ?? ""; // a string literal or a template (Oxc prints the latter)
  const all = inline === "" ? Buffer.alloc(4) : inflateSync(Buffer.from(inline, "base64"));
  assert(all.subarray(4, 4 + all.readUInt32LE(0)).equals(read("dist/kl.wasm")), "dist/index.js lacks the kernel's bytes");
  assert(!index.includes("kl.wasm"), "dist/index.js refers to kl.wasm");
  assert(/import\s*[\w$]+\s*from\s*"\.\/kl\.wasm"/.test(workerd), "dist/workerd.js does not import ./kl.wasm");
  assert(!workerd.includes(inline.slice(0, 64)), "dist/workerd.js carries the inline kernel");
});

check(`size budget: default entry ≤ ${BUDGET_GZIP_BYTES} bytes gzipped`, () => {
  const gz = (f) => gzipSync(read(f), { level: 9 }).length;
  const main = gz("dist/index.js");
  const worker = gz("dist/workerd.js") + gz("dist/kl.wasm");
  assert(main <= BUDGET_GZIP_BYTES, `dist/index.js is ${main} bytes gzipped`);
  return `dist/index.js (JS + inline wasm) ${main} B gzipped (${read("dist/index.js").length} B raw); ` +
    `workerd entry + kl.wasm ${worker} B gzipped`;
});

check("publint --strict on the packed files", () => run(bin("publint"), ["--strict", "--pack", "false", installed]).trim().split("\n").pop());

// Profile esm-only: the package ships no CommonJS build, so attw's node16-from-CJS view ("ESM,
// dynamic import only") and node10 (which reads no `exports`, hence no kl-simd/kl.wasm) are
// not targets; node16-from-ESM and bundler must be clean.
check("attw on the tarball (profile esm-only: the package ships no CommonJS)", () => {
  run(bin("attw"), [tarball, "--profile", "esm-only", "--format", "table-flipped"]);
});

check("Node imports it by name: known answer, SIMD backend, typed errors", () => {
  const script = `
    import { init, kl, backend, KLRangeError } from "kl-simd";
    const selected = await init();
    const value = kl([0.5, 0.5], [0.7, 0.3]);
    let code; try { kl([1], [1, 2]); } catch (e) { code = e instanceof KLRangeError && e.code; }
    console.log(JSON.stringify({ selected, backend: backend(), value, code }));`;
  const out = JSON.parse(run(process.execPath, ["--input-type=module", "-e", script], app));
  assert(out.selected === "wasm-simd" && out.backend === "wasm-simd", `backend ${out.selected}/${out.backend}`);
  assert(Math.abs(out.value / 0.08717669357238884 - 1) < 1e-15, `kl = ${out.value}`);
  assert(out.code === "KL_LENGTH_MISMATCH", `error code ${out.code}`);
  return `${out.value}, ${out.selected}`;
});

// A new `npm init -y` project is CommonJS: there require() must work (Node ≥ 20.19 and ≥ 22.12
// load an ES module by require(), if it has no top-level await; README, "Install").
check("CommonJS: require(\"kl-simd\") in a .cjs file answers", () => {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 20 || (major === 20 && minor < 19) || (major === 22 && minor < 12)) return `skipped: Node ${process.versions.node} has no require(esm)`;
  writeFileSync(join(app, "required.cjs"),
    `const { init, kl } = require("kl-simd");\n` +
    `init().then((selected) => console.log(JSON.stringify({ selected, value: kl([0.5, 0.5], [0.7, 0.3]) })));\n`);
  const out = JSON.parse(run(process.execPath, ["required.cjs"], app));
  assert(out.selected === "wasm-simd", `backend ${out.selected}`);
  assert(Math.abs(out.value / 0.08717669357238884 - 1) < 1e-15, `kl = ${out.value}`);
  return `${out.value}, Node ${process.versions.node}`;
});

check("the kl-simd command: bin dist/cli.js, installed in node_modules/.bin, answers", () => {
  assert(manifest.bin?.["kl-simd"] === "dist/cli.js", `bin: ${JSON.stringify(manifest.bin)}`);
  assert(read("dist/cli.js").toString("utf8").startsWith("#!/usr/bin/env node\n"), "dist/cli.js lacks its #! line");
  const out = execFileSync(join(app, "node_modules", ".bin", "kl-simd"), ["score", "-", "--ref-values", "0.7,0.3"], { cwd: app, encoding: "utf8", input: "0.5,0.5\n" });
  // the same pair as above: kl([0.5, 0.5], [0.7, 0.3])
  const value = Number(out.trim().split("\n")[1].split(",")[1]);
  assert(Math.abs(value / 0.08717669357238884 - 1) < 1e-15, out);
  return out.trim().split("\n").join(" | ");
});

check("kl-simd/parallel by name: worker threads give score()'s values and score()'s error class", () => {
  const script = `
    import { init, score, KLRangeError } from "kl-simd";
    import { scoreParallel } from "kl-simd/parallel";
    await init();
    const dim = 8, p = Float64Array.from({ length: 64 * dim }, (_, i) => 1 + (i % 5)), q = p.slice().reverse();
    const rows = await scoreParallel("kl", p, q, { dim, threads: 2, minElements: 0 });
    const inProcess = score("kl", p, q, { dim });
    p[100] = -1;
    let error; try { await scoreParallel("kl", p, q, { dim, threads: 2, minElements: 0 }); } catch (e) { error = e; }
    console.log(JSON.stringify({ same: rows.every((v, i) => Object.is(v, inProcess[i])), rows: rows.length,
      typed: error instanceof KLRangeError, message: error?.message }));`;
  const out = JSON.parse(run(process.execPath, ["--input-type=module", "-e", script], app));
  assert(out.same && out.rows === 64, `rows differ from score(): ${JSON.stringify(out)}`);
  assert(out.typed && out.message === "p[100] (row 12, column 4) is -1; values must be ≥ 0", `error: ${JSON.stringify(out)}`);
  return "64 rows on 2 threads";
});

check("conditions: default → dist/index.js, workerd → dist/workerd.js, kl-simd/kl.wasm → dist/kl.wasm", () => {
  const resolve = (conditions, spec) =>
    run(process.execPath, [...conditions, "--input-type=module", "-e", `console.log(import.meta.resolve(${JSON.stringify(spec)}))`], app).trim();
  const plain = resolve([], "kl-simd"), workerd = resolve(["--conditions=workerd"], "kl-simd"), wasm = resolve([], "kl-simd/kl.wasm");
  assert(plain.endsWith("/node_modules/kl-simd/dist/index.js"), plain);
  assert(workerd.endsWith("/node_modules/kl-simd/dist/workerd.js"), workerd);
  assert(wasm.endsWith("/node_modules/kl-simd/dist/kl.wasm"), wasm);
});

// TypeScript users: test/package/consumer.ts against the installed package, nodenext as a Node
// user would set it (with @types/node), bundler as a browser app would. Both need lib "dom":
// the types name WebAssembly.Module, BufferSource and Response, which TypeScript declares only
// there (@types/node 20 has no WebAssembly namespace; docs/runtimes.md, "TypeScript").
const settings = {
  nodenext: { module: "nodenext", moduleResolution: "nodenext", lib: ["es2022", "dom"], types: ["node"], typeRoots: [join(root, "node_modules", "@types")] },
  bundler: { module: "esnext", moduleResolution: "bundler", lib: ["es2022", "dom"], types: [] },
};
copyFileSync(new URL("./consumer.ts", import.meta.url), join(app, "consumer.ts"));
for (const [name, options] of Object.entries(settings)) {
  check(`tsc --noEmit, moduleResolution ${name}`, () => {
    const config = { compilerOptions: { target: "es2022", strict: true, noEmit: true, skipLibCheck: false, ...options }, files: ["consumer.ts"] };
    writeFileSync(join(app, `tsconfig.${name}.json`), JSON.stringify(config, null, 2));
    run(bin("tsc"), ["-p", `tsconfig.${name}.json`], app);
  });
}

rmSync(work, { recursive: true, force: true });
rmSync(app, { recursive: true, force: true });
const passed = results.filter(Boolean).length;
console.log(`\npack: ${passed} passed, ${results.length - passed} failed`);
process.exitCode = passed === results.length ? 0 : 1;
