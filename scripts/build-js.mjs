// Bundles src/ into dist/ (ESM, zero runtime dependencies: the loader and the wasm bytes
// are inlined), emits the .d.ts files and copies the raw .wasm for users who compile it.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist");
await build({
  entryPoints: ["src/index.ts"],
  outfile: "dist/index.js",
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  minify: false,
  legalComments: "inline",
});
copyFileSync("build/kl.wasm", "dist/kl.wasm");
execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
console.log("dist/: index.js, index.d.ts, kl.wasm");
