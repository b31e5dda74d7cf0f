// `npm run build`, unless KL_BUILT=1 says an earlier step of this run built the tree (CI builds
// once and reuses it: .ci/run). The hooks that need a built tree call this: pretest, prepack,
// typecheck, test:no-simd, test:relaxed, test:browser; alone on a fresh clone each builds what it needs.
import { execSync } from "node:child_process";
import { existsSync } from "node:fs";

if (process.env.KL_BUILT !== "1" || !existsSync(new URL("../dist/index.js", import.meta.url))) {
  // the build's report on stderr: as prepack, stdout is `npm pack --json`'s, which callers parse
  execSync("npm run build", { stdio: ["ignore", 2, 2], cwd: new URL("..", import.meta.url) });
}
