// Loading the kernel module: the SIMD probe, then compile and instantiate. The module was
// built with AssemblyScript's stub runtime and no imports (asconfig.json: "use": ["abort="]),
// so it needs no loader library: instantiate, check the exports, done.
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

export function simdSupported(): boolean {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

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
export async function instantiateKernel(source: WasmSource, required: readonly string[]): Promise<{ module: WebAssembly.Module; exports: Record<string, unknown> }> {
  let resolved: unknown = await source;
  if (typeof resolved === "string" || resolved instanceof URL) resolved = await fetch(resolved);
  if (typeof Response === "function" && resolved instanceof Response) {
    if (!resolved.ok) badModule(`init(): fetching the kernel failed: HTTP ${resolved.status} ${resolved.url}`);
    resolved = await resolved.arrayBuffer();
  }
  checkSource(resolved);
  const module = resolved instanceof WebAssembly.Module ? resolved : await WebAssembly.compile(resolved as BufferSource);
  const exports = (await WebAssembly.instantiate(module, {})).exports as Record<string, unknown>;
  const missing = required.filter((name) => typeof exports[name] !== "function");
  if (!(exports.memory instanceof WebAssembly.Memory) || missing.length > 0) {
    badModule(`init(): the module is not kl-simd's kernel (missing ${missing.length > 0 ? missing.slice(0, 3).join(", ") : "memory"}${missing.length > 3 ? ", …" : ""})`);
  }
  return { module, exports };
}
