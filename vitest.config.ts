import { defineConfig } from "vitest/config";

// KL_NO_SIMD=1 runs the whole suite in a V8 without SIMD (the kernel module then fails
// validation, init() must select the JS fallback, and every answer must still be right).
const noSimd = process.env.KL_NO_SIMD === "1";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    execArgv: noSimd ? ["--no-enable-sse4-1"] : [],
    env: { KL_EXPECT_BACKEND: noSimd ? "js" : "wasm-simd" },
  },
});
