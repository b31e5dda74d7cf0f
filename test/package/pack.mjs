// The package as users get it: `npm pack` of the built tree, installed by name into a fresh
// project in a temporary folder. Shared by test/package/check.mjs and test/runtimes/run.mjs,
// which test that install rather than the source tree.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../../", import.meta.url));

/** Packs the tree into `dir` (prepack builds it, unless KL_BUILT=1 in `env`); returns the tarball's path. */
export function pack(dir, env = process.env) {
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", dir], { cwd: root, encoding: "utf8", env });
  const [{ filename, files }] = JSON.parse(out);
  return { tarball: join(dir, filename), files: files.map((f) => f.path) };
}

/**
 * A new project in a temporary folder with the tarball installed as a dependency (it has no
 * dependencies of its own, so this needs no registry). Returns the project's folder.
 */
export function consumer(tarball, name = "consumer") {
  const dir = mkdtempSync(join(tmpdir(), `kl-simd-${name}-`));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, private: true, type: "module" }, null, 2));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--offline", tarball], { cwd: dir, stdio: "pipe" });
  return dir;
}
