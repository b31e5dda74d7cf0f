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
  klF64(p: number, q: number, n: number, scale: number): number;
  klF32(p: number, q: number, n: number): number;
}

const STATUS_INVALID = 1;
const STATUS_Q_ZERO = 2;

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
  private buffer!: ArrayBuffer;
  private f64!: Float64Array;
  private f32!: Float32Array;

  constructor(exports: KernelExports) {
    this.exports = exports;
    this.scratch = exports.scratchPtr();
    this.results = exports.resultsPtr();
    const needed = this.scratch + 2 * CHUNK_BYTES;
    const have = exports.memory.buffer.byteLength;
    if (have < needed) exports.memory.grow(Math.ceil((needed - have) / 65536)); // once, at start-up
    this.views();
  }

  private views(): void {
    const buffer = this.exports.memory.buffer;
    if (buffer === this.buffer) return;
    this.buffer = buffer as ArrayBuffer;
    this.f64 = new Float64Array(buffer);
    this.f32 = new Float32Array(buffer);
  }

  /**
   * Σ T(pᵢ, scale·qᵢ), Σ pᵢ, Σ scale·qᵢ, Σ (pᵢ − scale·qᵢ). Two Float32Arrays (with scale 1) run the
   * f32x4 kernel; any other pair is copied as doubles and runs the f64x2 kernel.
   */
  sums(p: Vector, q: Vector, scale: number, useF32: boolean): Sums {
    this.views();
    const { exports, scratch, results } = this;
    const n = p.length;
    const chunk = useF32 ? CHUNK_F32 : CHUNK_F64;
    const view = useF32 ? this.f32 : this.f64;
    const shift = useF32 ? 2 : 3;
    const pAt = scratch >> shift;
    const qAt = (scratch + CHUNK_BYTES) >> shift;
    const plain = !ArrayBuffer.isView(p) || !ArrayBuffer.isView(q);
    // chunk sums are combined with compensation, as the JS path combines its terms
    const t = new Sum(), sp = new Sum(), sq = new Sum(), sd = new Sum();
    let qZero = false;
    const r = results >> 3;
    for (let i = 0; i < n; i += chunk) {
      const m = Math.min(chunk, n - i);
      if (plain) {
        copyPlain(view, pAt, p, i, m);
        copyPlain(view, qAt, q, i, m);
      } else {
        view.set((p as Float64Array).subarray(i, i + m), pAt);
        view.set((q as Float64Array).subarray(i, i + m), qAt);
      }
      const status = useF32
        ? exports.klF32(scratch, scratch + CHUNK_BYTES, m)
        : exports.klF64(scratch, scratch + CHUNK_BYTES, m, scale);
      if (status & STATUS_INVALID) return INVALID;
      if (status & STATUS_Q_ZERO) qZero = true;
      t.add(this.f64[r]);
      sp.add(this.f64[r + 1]);
      sq.add(this.f64[r + 2]);
      sd.add(this.f64[r + 3]);
    }
    return { t: t.value, p: sp.value, q: sq.value, d: sd.value, invalid: false, qZero };
  }
}

function copyPlain(view: Float64Array | Float32Array, at: number, src: Vector, from: number, m: number): void {
  for (let j = 0; j < m; j++) view[at + j] = src[from + j];
}

/** Compiles (unless given a Module) and instantiates the kernel module. */
export async function loadKernel(source: WasmSource): Promise<Kernel> {
  let resolved: unknown = await source;
  if (typeof resolved === "string" || resolved instanceof URL) resolved = await fetch(resolved);
  const { exports } = await instantiate<KernelExports>(resolved as WebAssembly.Module, {});
  return new Kernel(exports as unknown as KernelExports);
}
