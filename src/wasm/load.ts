// Loading the kernel module: the SIMD and relaxed-SIMD probes, then compile and instantiate. The module was
// built with AssemblyScript's stub runtime (asconfig.json: "use": ["abort="]) and one import,
// the host's Math.log (KERNEL_IMPORTS), so it needs no loader library: instantiate, check the
// exports, done.
import { KLTypeError } from "../errors.js";
import { describe } from "../engine/vector.js";

/** What `init` accepts: a compiled module (Cloudflare Workers), bytes, a Response or a URL. */
export type WasmSource =
  | WebAssembly.Module
  | BufferSource
  | Response
  | URL
  | string
  | PromiseLike<WebAssembly.Module | BufferSource | Response>;

// The smallest module with a v128 instruction: engines without SIMD reject it, and they
// would reject the whole kernel module the same way, so this decides before compiling.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11,
]);

// The same for relaxed SIMD: (v128, v128, v128) → v128, f64x2.relaxed_madd of the three.
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11,
  0, 32, 0, 32, 1, 32, 2, 253, 135, 2, 11,
]);

function valid(probe: BufferSource): boolean {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(probe);
  } catch {
    return false;
  }
}

export const simdSupported = (): boolean => valid(SIMD_PROBE);
export const relaxedSimdSupported = (): boolean => valid(RELAXED_PROBE);

/**
 * The relaxed-SIMD build from the SIMD build's bytes, in place: `sites` lists, as unsigned
 * LEB128 numbers 3·(offset − the previous offset) + kind, where the two differ
 * (scripts/reoptimize-wasm.mjs): kind 0 an f64x2.mul that becomes three nops, 1 the f64x2.add
 * after it that becomes f64x2.relaxed_madd (`a b mul c add` → `a b nop nop nop c madd`),
 * 2 the RELAXED_SIMD global's i32.const 0 that becomes 1. Every site is 3 bytes either way,
 * so no size changes and nothing else to rewrite.
 */
export function relaxedBuild<T extends Uint8Array>(wasm: T, sites: Uint8Array): T {
  for (let i = 0, at = 0; i < sites.length; ) {
    let v = 0;
    for (let shift = 0, b = 128; b & 128; shift += 7) v += ((b = sites[i++]!) & 127) * 2 ** shift;
    at += Math.floor(v / 3);
    wasm.set([[1, 1, 1], [253, 135, 2], [65, 1, 11]][v % 3]!, at);
  }
  return wasm;
}

/** The kernel's one import: engines call a host Math.log from wasm directly (assembly/math.ts ln). */
export const KERNEL_IMPORTS = { Math: { log: Math.log } };

function badModule(message: string): never {
  throw new KLTypeError("KL_BAD_MODULE", message);
}

/** A source, once awaited and fetched, must be a module or bytes (also where SIMD is missing and it is not loaded). */
export function checkSource(source: unknown): asserts source is WebAssembly.Module | BufferSource {
  // by its tag: where WebAssembly has been deleted, a Module from a .wasm import is still one
  if (Object.prototype.toString.call(source) === "[object WebAssembly.Module]") return;
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return;
  if (typeof source === "string" || source instanceof URL || (typeof Response === "function" && source instanceof Response)) return;
  badModule(`init() takes a WebAssembly.Module, bytes, a Response or a URL, got ${describe(source)}`);
}

/**
 * The compiled module of `source` and the exports of an instance, checked to be kl-simd's
 * kernel: every name in `required` a function, and a memory.
 */
export async function instantiateKernel(source: WasmSource, required: readonly string[]): Promise<{ module: WebAssembly.Module; wasm: Record<string, unknown> }> {
  try {
    return await instantiate(source, required);
  } catch (error) {
    // the engine's own rejections (a CompileError for bytes that are not a module, fetch's
    // TypeError for a path it cannot fetch, a LinkError) as the typed error init() documents
    throw error instanceof KLTypeError ? error : new KLTypeError("KL_BAD_MODULE", `init(): ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function instantiate(source: WasmSource, required: readonly string[]): Promise<{ module: WebAssembly.Module; wasm: Record<string, unknown> }> {
  let resolved: unknown = await source;
  if (typeof resolved === "string" || resolved instanceof URL) resolved = await fetch(resolved);
  if (typeof Response === "function" && resolved instanceof Response) {
    if (!resolved.ok) badModule(`init(): fetching the kernel failed: HTTP ${resolved.status} ${resolved.url}`);
    resolved = await resolved.arrayBuffer();
  }
  checkSource(resolved);
  const module = resolved instanceof WebAssembly.Module ? resolved : await WebAssembly.compile(resolved as BufferSource);
  const exports = (await WebAssembly.instantiate(module, KERNEL_IMPORTS)).exports as Record<string, unknown>;
  const missing = required.filter((name) => typeof exports[name] !== "function");
  if (!(exports.memory instanceof WebAssembly.Memory) || missing.length > 0) {
    badModule(`init(): the module is not kl-simd's kernel (missing ${missing.length > 0 ? missing.slice(0, 3).join(", ") : "memory"}${missing.length > 3 ? ", …" : ""})`);
  }
  return { module, wasm: exports };
}
