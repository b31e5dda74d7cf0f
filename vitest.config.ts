import { defineConfig } from "vitest/config";
import { relaxedSimdSupported } from "./src/wasm/load.js";

// KL_NO_SIMD=1 runs the whole suite in a V8 without SIMD (the kernel module then fails
// validation, init() must select the JS fallback, and every answer must still be right).
// Otherwise init() must select the relaxed-SIMD build where this engine validates relaxed SIMD
// (Node 22; the forks run this same binary), the SIMD build where it does not (Node 20).
const noSimd = process.env.KL_NO_SIMD === "1";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    execArgv: noSimd ? ["--no-enable-sse4-1"] : [],
    env: { KL_EXPECT_BACKEND: noSimd ? "js" : relaxedSimdSupported() ? "wasm-relaxed-simd" : "wasm-simd" },
  },
});
