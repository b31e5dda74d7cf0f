// Loading the SIMD module and streaming inputs through its fixed scratch area.
import { instantiate } from "@assemblyscript/loader";
import { INVALID, Sum, type Sums } from "./reference.js";
import type { Vector } from "./vector.js";

/** What `init` accepts: a compiled module (Cloudflare Workers), bytes, a Response or a URL. */
export type WasmSource =
  | WebAssembly.Module
  | BufferSource
  | Response
  | URL
  | string
  | PromiseLike<WebAssembly.Module | BufferSource | Response>;

interface KernelExports extends Record<string, unknown> {
  memory: WebAssembly.Memory;
  resultsPtr(): number;
  scratchPtr(): number;
  klF64(p: number, q: number, n: number): number;
  klScaledF64(p: number, q: number, n: number, scale: number): number;
  plainF64(p: number, q: number, n: number): number;
  klF32(p: number, q: number, n: number): number;
}

/**
 * "f64": Σ T on doubles, with q scaled; "f32": the same on two Float32Arrays (scale 1);
 * "plain": Σ p·ln(p/q) on doubles.
 */
export type KernelKind = "f64" | "f32" | "plain";

const STATUS_INVALID = 1;
const STATUS_Q_ZERO = 2;
const STATUS_LOSSY = 4;

// Bytes per input per chunk: both chunks stay in L1/L2 between the copy and the kernel.
const CHUNK_BYTES = 32 * 1024;
const CHUNK_F64 = CHUNK_BYTES / 8;
const CHUNK_F32 = CHUNK_BYTES / 4;

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

/** A ready instance: the kernels plus views of its memory, re-taken if memory is replaced. */
export class Kernel {
  private readonly exports: KernelExports;
  private readonly scratch: number;
  private readonly results: number;
  private f64!: Float64Array;
  private f32!: Float32Array;
  private readonly out: Sums = { t: 0, p: 0, q: 0, d: 0, invalid: false, qZero: false, lossy: false };

  constructor(exports: KernelExports) {
    this.exports = exports;
    this.scratch = exports.scratchPtr();
    this.results = exports.resultsPtr();
    // the last vector of a partial block may read up to 16 bytes past the q chunk
    const needed = this.scratch + 2 * CHUNK_BYTES + 64;
    const have = exports.memory.buffer.byteLength;
    if (have < needed) exports.memory.grow(Math.ceil((needed - have) / 65536)); // once, at start-up
    this.views();
  }

  // Memory never grows after start-up, but a grown memory detaches old views (length 0).
  private views(): void {
    if (this.f64 !== undefined && this.f64.length !== 0) return;
    const buffer = this.exports.memory.buffer;
    this.f64 = new Float64Array(buffer);
    this.f32 = new Float32Array(buffer);
  }

  /** The same sums as `sumsJS` (src/reference.ts), on the kernel that `kernel` names. */
  sums(p: Vector, q: Vector, kernel: KernelKind, scale: number): Sums {
    const useF32 = kernel === "f32";
    this.views();
    const n = p.length;
    const chunk = useF32 ? CHUNK_F32 : CHUNK_F64;
    const r = this.results >> 3;
    if (n <= chunk) {
      // one chunk: no loop state (short inputs are common and per-call cost matters)
      const status = this.run(p, q, 0, n, kernel, scale);
      if (status & STATUS_INVALID) return INVALID;
      // [Σ T, Σ p, Σ q, Σ (p − q), compensation of Σ T], into a reused object: callers
      // read it before the next call, and short inputs should not feed the GC
      const f64 = this.f64, out = this.out;
      out.t = f64[r] + f64[r + 4];
      out.p = f64[r + 1];
      out.q = f64[r + 2];
      out.d = f64[r + 3];
      out.qZero = (status & STATUS_Q_ZERO) !== 0;
      out.lossy = (status & STATUS_LOSSY) !== 0;
      return out;
    }
    // chunk sums are combined with compensation, as the JS path combines its terms
    const t = new Sum(), sp = new Sum(), sq = new Sum(), sd = new Sum();
    let qZero = false, lossy = false;
    for (let i = 0; i < n; i += chunk) {
      const status = this.run(p, q, i, Math.min(chunk, n - i), kernel, scale);
      if (status & STATUS_INVALID) return INVALID;
      if (status & STATUS_Q_ZERO) qZero = true;
      if (status & STATUS_LOSSY) lossy = true;
      t.add(this.f64[r]);
      t.add(this.f64[r + 4]);
      sp.add(this.f64[r + 1]);
      sq.add(this.f64[r + 2]);
      sd.add(this.f64[r + 3]);
    }
    return { t: t.value, p: sp.value, q: sq.value, d: sd.value, invalid: false, qZero, lossy };
  }

  /** Copies elements [from, from + m) into the scratch area and runs the kernel on them. */
  private run(p: Vector, q: Vector, from: number, m: number, kernel: KernelKind, scale: number): number {
    const { exports, scratch } = this;
    const useF32 = kernel === "f32";
    const view = useF32 ? this.f32 : this.f64;
    const shift = useF32 ? 2 : 3;
    const pAt = scratch >> shift;
    const qAt = (scratch + CHUNK_BYTES) >> shift;
    if (!ArrayBuffer.isView(p) || !ArrayBuffer.isView(q)) {
      copyPlain(view, pAt, p, from, m);
      copyPlain(view, qAt, q, from, m);
    } else if (m === p.length) {
      view.set(p as Float64Array, pAt);
      view.set(q as Float64Array, qAt);
    } else {
      view.set((p as Float64Array).subarray(from, from + m), pAt);
      view.set((q as Float64Array).subarray(from, from + m), qAt);
    }
    const q0 = scratch + CHUNK_BYTES;
    if (kernel === "f64") return scale === 1 ? exports.klF64(scratch, q0, m) : exports.klScaledF64(scratch, q0, m, scale);
    return kernel === "f32" ? exports.klF32(scratch, q0, m) : exports.plainF64(scratch, q0, m);
  }
}

function copyPlain(view: Float64Array | Float32Array, at: number, src: Vector, from: number, m: number): void {
  for (let j = 0; j < m; j++) view[at + j] = src[from + j];
}

/** Compiles (unless given a Module) and instantiates the kernel module. */
export async function loadKernel(source: WasmSource): Promise<Kernel> {
  let resolved: unknown = await source;
  if (typeof resolved === "string" || resolved instanceof URL) resolved = await fetch(resolved);
  const { instance } = await instantiate<KernelExports>(resolved as WebAssembly.Module, {});
  // the raw exports: the loader's wrappers add a rest-argument call to every kernel call
  return new Kernel(instance.exports as unknown as KernelExports);
}
