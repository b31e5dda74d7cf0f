// Which backend this run expects, for every suite: vitest.config.ts sets KL_EXPECT_BACKEND to
// "js" in a V8 without SIMD, else to the build init() selects in this engine: "wasm-relaxed-simd"
// where it validates relaxed SIMD (Node 22, Deno, Chromium), "wasm-simd" otherwise (Node 20).
// WASM names the wasm backend either way; kernelBytes() is that build's module, for the suites
// that instantiate the kernel themselves.
import type { Backend } from "../src/index.js";
import defaultWasm from "../src/default-wasm.js";

export type { Backend };
export const EXPECTED = (process.env.KL_EXPECT_BACKEND ?? "wasm-simd") as Backend;
export const WASM: Backend = EXPECTED === "wasm-relaxed-simd" ? EXPECTED : "wasm-simd";
export const kernelBytes = (): Promise<Uint8Array<ArrayBuffer>> => defaultWasm(WASM === "wasm-relaxed-simd");
