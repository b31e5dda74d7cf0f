// Bundles src/ into dist/ (ESM, zero runtime dependencies: the loader is inlined), emits the
// .d.ts files and copies the raw .wasm. Two entries, the same code but for where init() finds
// the kernel by default (src/default-wasm*.ts):
//   dist/index.js    the module's bytes inline (Node, Deno, Bun, browsers, bundlers)
//   dist/workerd.js  `import … from "./kl.wasm"` (Cloudflare Workers compile no bytes at run time)
// the command line, dist/cli.js (package "bin"), which imports the library from ./index.js,
// and kl-simd/parallel (dist/parallel.js and its dist/parallel-worker.js), which import the
// default entry rather than carry a copy of it: one module instance, one KLRangeError class.
import { build } from "esbuild";
import { minifySync } from "rolldown/experimental";
import { minify as terser } from "terser";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const options = {
  entryPoints: ["src/index.ts"],
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  // fully minified (the default entry's size is budgeted): errors name themselves (their
  // `name` and `code` are set explicitly), so only internal frames of a trace lose names
  minify: true,
  legalComments: "inline",
};

// Puts src/default-wasm.workerd.ts where src/engine/backend.ts imports ../default-wasm.js, and leaves
// its import of the .wasm file for the Worker's bundler (wrangler) or workerd to resolve.
const workerdSource = {
  name: "workerd-default-wasm",
  setup(build) {
    build.onResolve({ filter: /^(\.\.?\/)+default-wasm\.js$/ }, () => ({
      path: fileURLToPath(new URL("../src/default-wasm.workerd.ts", import.meta.url)),
    }));
    build.onResolve({ filter: /^\.\/kl\.wasm$/ }, (args) => ({ path: args.path, external: true }));
  },
};

// For the parallel entries (src/parallel/): the library, ../index.js, is dist/index.js,
// imported, not bundled.
const defaultEntryExternal = {
  name: "default-entry-external",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/index\.js$/ }, () => ({ path: "./index.js", external: true }));
  },
};

// Moves the inline kernel's declaration (esbuild emits it where src/default-wasm.ts sits, mid-file)
// to the end of the default entry. gzip (zlib: a new Huffman block every ~16K symbols) then codes
// the base64 mostly in blocks of its own rather than in blocks shared with the JS, whose
// letters it would otherwise skew: ~1.4 KB less gzipped, the same code. Safe because it is a
// `var` read only inside the function that init() calls, after the module has evaluated.
function kernelLast(file) {
  const text = readFileSync(file, "utf8");
  const decl = /var ([\w$]+)="[A-Za-z0-9+/]{4096,}={0,2}";/.exec(text);
  // counted outside the base64, whose '+' and '/' can delimit the name by chance
  const rest = decl && text.replace(decl[0], `var ${decl[1]};`);
  const uses = decl && rest.match(new RegExp(`(?<![\\w$.])${decl[1].replace(/\$/g, "\\$")}(?![\\w$])`, "g")).length;
  if (uses !== 2) throw new Error(`build-js: the inline kernel's declaration is not a var read once (${uses})`);
  writeFileSync(file, text.replace(decl[0], "") + decl[0] + "\n");
}

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist");
// The library's entries only: internal property names that esbuild would otherwise keep,
// shortened (~330 B gzipped). Never a name that a user, the kernel's exports, a platform API
// or another bundle (the CLI, kl-simd/parallel: they import dist/index.js) reads: option
// keys, results, errors, wasm exports, `value` (WebAssembly.Global), `status` (Response) stay.
const internalProps = new RegExp(`^(${[
  "area", "batched", "bits", "compose", "eachPair", "f32", "f64", "family", "flagged", "gaussian", "hi", "id",
  "infinite", "inputP", "inputQ", "invalid", "invP", "invQ", "invT", "kernel", "kind", "klRowSums", "la", "lb",
  "lo", "load", "logBase", "logKL", "logS", "logTotal", "lossy", "near", "normalizeP", "normalizeQ", "off", "pa",
  "pairAt", "pairRowSums", "pairs", "pb", "pRows", "pre", "qRows", "qZero", "raw", "redone", "rel", "relaxed",
  "renyiLarge", "reranked", "results", "root", "row", "rowCalls", "rows", "rowsAt", "rowStatus", "scale",
  "scratch", "shape", "shortlisted", "shortSums",
  "smallFromLogitsExact", "smooth", "sums", "tail", "termsNonNegative", "thresholds", "tie", "total", "totalLo", "twoSided",
  "usesBase", "views", "zeroA", "zeroB", "zeros", "rawLo", "dominantDiff", "pairKL", "cap", "kept", "col", "add", "wasm", "module", "measure", "values",
].join("|")})$`);
// Renames the library entries' local names again, with Oxc's mangler (rolldown's minifySync, names
// only: no other transform): it gives the same short names in sibling scopes where esbuild makes
// each one unique, which gzip codes as repeats (~450 B less gzipped). ASCII out, as esbuild's.
// Between two such renamings, Terser's compressor (no renaming of its own, no unsafe transforms:
// NaN-sensitive comparisons such as !(a < b) stay as written) with hoist_funs, which gathers
// function declarations at the top of their scope, and pure_getters (property reads have no
// side effects: true of the library's own objects; a user's getter is read no more often, and
// unused reads of it may go): ~180 B less gzipped.
async function renameLocals(file) {
  const rename = (text) => {
    const { code, errors } = minifySync(file, text, { module: true, compress: false, codegen: { asciiOnly: true } });
    if (errors.length > 0) throw new Error(`build-js: renaming ${file}: ${errors[0].message}`);
    return code;
  };
  const compressed = await terser(rename(readFileSync(file, "utf8")), { module: true, compress: { ecma: 2020, passes: 2, hoist_funs: true, pure_getters: true }, mangle: false, format: { ascii_only: true } });
  writeFileSync(file, rename(compressed.code));
}
await build({ ...options, mangleProps: internalProps, outfile: "dist/index.js" });
kernelLast("dist/index.js");
await renameLocals("dist/index.js");
await build({ ...options, mangleProps: internalProps, outfile: "dist/workerd.js", plugins: [workerdSource] });
await renameLocals("dist/workerd.js");
// the CLI's own code only: its imports of the library (../index.js) stay imports of ./index.js
const cliUsesLibrary = {
  name: "cli-uses-library",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/index\.js$/ }, () => ({ path: "./index.js", external: true }));
    build.onResolve({ filter: /^\.\.\/parallel\/api\.js$/ }, () => ({ path: "./parallel.js", external: true }));
  },
};
const { version } = JSON.parse(readFileSync("package.json", "utf8"));
await build({
  ...options,
  entryPoints: ["src/cli/main.ts"],
  outfile: "dist/cli.js",
  platform: "node",
  banner: { js: "#!/usr/bin/env node" },
  define: { KL_SIMD_VERSION: JSON.stringify(version) },
  plugins: [cliUsesLibrary],
});
chmodSync("dist/cli.js", 0o755);
await build({
  ...options,
  entryPoints: { parallel: "src/parallel/api.ts", "parallel-worker": "src/parallel/worker.ts" },
  outdir: "dist",
  external: ["node:*"],
  plugins: [defaultEntryExternal],
});
copyFileSync("build/kl.wasm", "dist/kl.wasm");
// the type of `import module from "kl-simd/kl.wasm"` where Workers and wasm-aware bundlers import it
writeFileSync(
  "dist/kl.wasm.d.ts",
  "// A compiled WebAssembly.Module, as Cloudflare Workers (wrangler, workerd) import a .wasm file.\n" +
    "declare const kernelModule: WebAssembly.Module;\nexport default kernelModule;\n",
);
execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
// the types of kl-simd/parallel, which tsc emits as dist/parallel/api.d.ts
writeFileSync("dist/parallel.d.ts", 'export * from "./parallel/api.js";\n');
console.log("dist/: index.js, workerd.js, cli.js, parallel.js, parallel-worker.js, index.d.ts, parallel.d.ts, kl.wasm, kl.wasm.d.ts");
