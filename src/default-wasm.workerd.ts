// The kernel that init() loads when given no source, in the workerd entry (dist/workerd.js):
// Cloudflare Workers refuse to compile WebAssembly from bytes at run time, so the module comes
// from an import of the .wasm file beside the entry, which wrangler and workerd compile at
// upload. The import stays unresolved in the build (scripts/build-js.mjs marks it external).
// It is the SIMD build: the relaxed one would need a second .wasm file (not carried).
import kernelModule from "./kl.wasm";
import type { WasmSource } from "./wasm/load.js";

export default function defaultWasm(): WasmSource {
  return kernelModule;
}
