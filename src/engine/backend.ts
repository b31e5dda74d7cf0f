// Which backend runs a call: init() loads the kernel once, useBackend() forces one, and
// calls nest through `guarded` so that only the outermost one uses the kernel's scratch memory.
import { KLRangeError } from "../errors.js";
import { kernelRows } from "../batch.js";
import defaultWasm from "../default-wasm.js";
import { loadKernel, type Kernel } from "../wasm.js";
import { checkSource, relaxedSimdSupported, simdSupported, type WasmSource } from "../wasm/load.js";
import type { MeasureName } from "../measures/registry.js";
import type { Resolved } from "./options.js";
import type { Side } from "./sides.js";

/**
 * Which implementation runs: the kernel's relaxed-SIMD build (its polynomials and products in
 * relaxed_madd, which the engine may fuse), its SIMD build, or the plain-JS fallback.
 */
export type Backend = "wasm-relaxed-simd" | "wasm-simd" | "js";

let kernel: Kernel | null = null;
let active: Backend = "js";
let starting: Promise<Backend> | null = null;
let startingFrom: WasmSource | undefined;

/**
 * Compiles and instantiates the kernel once (later calls return the same promise). Resolves
 * to "wasm-relaxed-simd" where the engine validates relaxed SIMD, else "wasm-simd", or to "js"
 * where WebAssembly or SIMD is missing or the built-in module cannot be compiled (e.g. a CSP
 * without 'wasm-unsafe-eval'). A given source resolves to the build it holds. `source` may be a
 * compiled `WebAssembly.Module` (needed on Cloudflare Workers), bytes, a `Response` or a
 * URL; when given, a failure to load it rejects instead of falling back.
 */
export function init(source?: WasmSource): Promise<Backend> {
  if (starting === null) {
    startingFrom = source;
    starting = start(source).catch((error: unknown) => {
      starting = null; // let a corrected call try again
      throw error;
    });
  } else if (source === undefined && startingFrom !== undefined) {
    // another caller's source is loading: a plain init() falls back to the built-in module
    // if that fails, rather than sharing its rejection
    return starting.catch(() => init());
  }
  return starting;
}

async function start(source: WasmSource | undefined): Promise<Backend> {
  if (!simdSupported()) {
    if (source !== undefined) checkSource(await source); // a wrong argument is wrong here too
    return (active = "js");
  }
  try {
    kernel = await loadKernel(source === undefined ? defaultWasm(relaxedSimdSupported()) : source); // null is no source: KL_BAD_MODULE
  } catch (error) {
    if (source !== undefined) throw error;
    return (active = "js");
  }
  return (active = wasmName());
}

/** The backend the next call will use. */
export function backend(): Backend {
  return active;
}

/**
 * The compiled kernel `init()` loaded, or null (before it, or where it selected "js"). Pass
 * it to `init()` in a worker of your own: the worker then neither decodes nor compiles the
 * kernel, and (in V8) runs the code the engine has already optimised.
 */
export function kernelModule(): WebAssembly.Module | null {
  return kernel?.module ?? null;
}

// the loaded kernel's build (its RELAXED_SIMD flag)
const wasmName = (): Backend => (kernel?.relaxed ? "wasm-relaxed-simd" : "wasm-simd");

/**
 * Forces a backend, e.g. to compare them or to test the fallback. A wasm backend needs a
 * resolved `init()` that selected that one.
 */
export function useBackend(name: Backend): void {
  if (name !== "wasm-relaxed-simd" && name !== "wasm-simd" && name !== "js") {
    throw new KLRangeError("KL_BAD_OPTION", `unknown backend ${JSON.stringify(name)}`);
  }
  if (name !== "js" && (kernel === null || name !== wasmName())) {
    const loaded = kernel === null ? 'await init() first (it may have selected "js")' : `init() loaded "${wasmName()}"`;
    throw new KLRangeError("KL_BAD_OPTION", `backend ${JSON.stringify(name)} is not available: ${loaded}`);
  }
  active = name;
}

// Re-entrancy: reading an input element can run user code (a Proxy, a getter) that calls
// the library again while this call has data in the kernel's scratch memory. Calls nest
// through `guarded`; only the outermost uses the kernel, nested ones take the JS path.
let depth = 0;

export function guarded<T, A = void, B = void, C = void>(f: (a: A, b: B, c: C) => T, a?: A, b?: B, c?: C): T {
  depth++;
  try {
    return f(a as A, b as B, c as C); // arguments rather than a closure: nothing allocated per call
  } finally {
    depth--;
  }
}

/** The kernel when the SIMD backend is active and this is the outermost call. */
export function simdKernel(): Kernel | null {
  return active !== "js" && depth === 1 ? kernel : null;
}

/** rowValues's kernel path, on the active backend. */
export function simdRows(measure: MeasureName, p: Side, q: Side | null, rows: number, o: Resolved): Float64Array | null {
  return kernelRows(simdKernel(), measure, p, q, rows, o);
}
