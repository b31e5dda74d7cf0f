// Loading the SIMD module and streaming inputs through its fixed scratch area.
import { instantiateKernel, type WasmSource } from "./wasm/load.js";
import { logitsKLLong, pairRowSumsLong } from "./wasm/long-rows.js";
import { matrixRow, type Vector } from "./engine/vector.js";
import { cancels, INVALID, normalizedKL, plainFromT, type Sums } from "./exact/kl.js";
import { Sum } from "./exact/sum.js";

// Every function takes and returns numbers: their arguments are in assembly/ (a bool is 0 or 1).
type KernelFunction =
  | "resultsPtr" | "scratchPtr" | "klF64" | "plainF64" | "klF32" | "klRows" | "pairRows"
  | "pairTotals" | "pairSums" | "pairStatus" | "setParameter"
  | "logitsMax" | "logitsSumExp" | "logitsKL" | "logitsResultsPtr" | "logitsFinish" | "logitsKLRows"
  | "logitsStats" | "logitsStatsPtr" | "logitsSoftmax" | "softmaxRows" | "smoothRows" | "gaussianRows";
type KernelExports = Record<KernelFunction, (...args: number[]) => number> & { memory: WebAssembly.Memory };

/** A batch for the row kernels: `rows` results, each side one row (broadcast) or all. */
export interface Batch {
  p: Vector;
  q: Vector;
  rows: number;
  dim: number;
  pRows: number;
  qRows: number;
  /**
   * Sides holding logits (1/T; 1 for normalised log-probabilities): their rows are made
   * probabilities in the scratch area first (softmaxRows; rows up to a chunk long), and
   * `flagged` marks rows the exact path must take (no finite logit, NaN/+Infinity, or a
   * probability below the normal range).
   */
  invP?: number | null;
  invQ?: number | null;
  flagged?: Uint8Array;
  /**
   * Smoothing after that (mode 0 clip, 1 replace-zeros, 2 additive); per side, whether to
   * normalise first, or null to leave that side alone (entropy's uniform row)
   */
  smooth?: { mode: number; epsilon: number; normalizeP: boolean | null; normalizeQ: boolean | null } | null;
}

/** Doubles per row of every row kernel: [value, status] (assembly/index.ts; the status bits in assembly/math.ts). */
export const ROW = 2;
/**
 * Per-row results of a batch: each row's value, the OR of the rows' status bits, and each
 * row's status where that OR has any (null: every row's is 0, the usual batch).
 */
export type RowsOut = { values: Float64Array; status: number; rowStatus: Uint8Array | null };

/** Empty per-row results for `rows` rows. */
export function rowsOut(rows: number): RowsOut {
  return { values: new Float64Array(rows), status: 0, rowStatus: null };
}

/** Row r's status into `out` (and its OR). */
export function setStatus(out: RowsOut, r: number, bits: number): void {
  out.status |= bits;
  if (bits !== 0) (out.rowStatus ??= new Uint8Array(out.values.length))[r] = bits;
}
/** A row kernel's call on the scratch area: (p, q, rows, pStep, qStep, out) → status bits. */
type RowCall = (p: number, q: number, rows: number, pStep: number, qStep: number, out: number) => number;
// Row results per call: the output area after the two input chunks holds this many.
const MAX_ROWS = 512;

/**
 * "f64": Σ T on doubles, with q scaled; "f32": the same on two Float32Arrays (scale 1);
 * "plain": Σ p·ln(p/q) on doubles.
 */
export type KernelKind = "f64" | "f32" | "plain";

// The status bits of assembly/math.ts: INVALID stops the kernel at a bad value; Q_ZERO:
// +Infinity by definition; LOSSY: a rescaled q lost bits; REDO: the exact path computes the row.
export const STATUS_INVALID = 1;
export const STATUS_Q_ZERO = 2;
const STATUS_LOSSY = 4;
export const STATUS_REDO = 8;

// Bytes per input per chunk: both chunks stay in L1/L2 between the copy and the kernel.
export const CHUNK_BYTES = 32 * 1024;
export const CHUNK_F64 = CHUNK_BYTES / 8;
const CHUNK_F32 = CHUNK_BYTES / 4;
// 1000 candidate rows of 128 doubles (jeffreys: 2·64) and a 64 × 1000 tile fit: one copy of them per call
const MATRIX_BYTES = 2 << 20;

/** A ready instance: the kernels plus views of its memory, re-taken if memory is replaced. */
export class Kernel {
  readonly wasm: KernelExports;
  readonly scratch: number;
  readonly results: number;
  readonly rowsAt: number;
  f64!: Float64Array;
  private f32!: Float32Array;
  private readonly out: Sums = { t: 0, p: 0, q: 0, d: 0, invalid: false, qZero: false, lossy: false };

  /** The relaxed-SIMD build (its RELAXED_SIMD global is 1). */
  readonly relaxed: boolean;

  constructor(exports: KernelExports, readonly module: WebAssembly.Module) {
    this.wasm = exports;
    this.relaxed = (exports as unknown as { RELAXED_SIMD?: WebAssembly.Global }).RELAXED_SIMD?.value === 1;
    this.scratch = exports.scratchPtr();
    this.results = exports.resultsPtr();
    // a kernel may read up to 60 bytes past the q chunk (the four vectors of an f32 call's last
    // floats, assembly/kl.ts; the lanes' last vector: 16), never write there; the row results of
    // a batch call follow
    this.rowsAt = this.scratch + 2 * CHUNK_BYTES + 64;
    // ≥ MAX_ROWS rows of results; then the matrix area (src/wasm/matrix.ts): pairwise and topK
    // keep the candidate rows there across blocks of query rows
    const needed = this.rowsAt + CHUNK_BYTES + MATRIX_BYTES;
    const have = exports.memory.buffer.byteLength;
    if (have < needed) exports.memory.grow(Math.ceil((needed - have) / 65536)); // once, at start-up
    this.views();
  }

  /** The raw exports and the fixed matrix area (after the streaming scratch, which a redo may use meanwhile), for src/wasm/matrix.ts. */
  get area(): { wasm: Record<string, unknown> & { memory: WebAssembly.Memory }; at: number; bytes: number } {
    return { wasm: this.wasm, at: this.rowsAt + CHUNK_BYTES, bytes: MATRIX_BYTES };
  }

  // Memory never grows after start-up, but a grown memory detaches old views (length 0).
  views(): void {
    if (this.f64 !== undefined && this.f64.length !== 0) return;
    const buffer = this.wasm.memory.buffer;
    this.f64 = new Float64Array(buffer);
    this.f32 = new Float32Array(buffer);
  }

  /**
   * `sums` of two typed arrays of one type (f32: Float32Arrays on the f32 kernel), the same
   * length and within a chunk, with no status bit set: the short call, straight through;
   * null for anything else (the caller's general path then checks and decides).
   */
  shortSums(p: Float64Array, q: Float64Array, f32: boolean): Sums | null {
    const n = p.length;
    if (n !== q.length || n === 0 || n > (f32 ? CHUNK_F32 : CHUNK_F64)) return null;
    this.views();
    return this.run(p, q, 0, n, f32 ? "f32" : "f64", 1) === 0 ? this.read(0) : null;
  }

  // The kernel's sums [Σ T, Σ p, Σ q, Σ (p − q), compensation of Σ T] into a reused object
  // (callers read it before the next call, and short inputs should not feed the GC).
  private read(status: number): Sums {
    const f64 = this.f64, r = this.results >> 3, out = this.out;
    out.t = f64[r] + f64[r + 4];
    out.p = f64[r + 1];
    out.q = f64[r + 2];
    out.d = f64[r + 3];
    out.qZero = (status & STATUS_Q_ZERO) !== 0;
    out.lossy = (status & STATUS_LOSSY) !== 0;
    return out;
  }

  /** The same sums as `sumsJS` (src/exact/kl.ts), on the kernel that `kernel` names. */
  sums(p: Vector, q: Vector, kernel: KernelKind, scale: number): Sums {
    const useF32 = kernel === "f32";
    this.views();
    const n = p.length;
    const chunk = useF32 ? CHUNK_F32 : CHUNK_F64;
    const r = this.results >> 3;
    if (n <= chunk) {
      // one chunk: no loop state (short inputs are common and per-call cost matters)
      const status = this.run(p, q, 0, n, kernel, scale);
      return status & STATUS_INVALID ? INVALID : this.read(status);
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
    return { t: t.total, p: sp.total, q: sq.total, d: sd.total, invalid: false, qZero, lossy };
  }

  /**
   * The KL of every row of a batch, rows × ROW doubles (NaN: the exact path decides);
   * `status` ORs the rows' bits (on STATUS_INVALID the values are incomplete: the caller
   * finds the element).
   */
  klRowSums(b: Batch, kernel: KernelKind | "generalized"): RowsOut {
    const useF32 = kernel === "f32";
    const chunk = useF32 ? CHUNK_F32 : CHUNK_F64;
    if (b.dim > chunk) {
      // long rows: each streams through the scratch area on its own
      const out = rowsOut(b.rows);
      for (let r = 0; r < b.rows; r++) {
        const p = matrixRow(b.p, b.pRows, r, b.dim), q = matrixRow(b.q, b.qRows, r, b.dim);
        let s = this.sums(p, q, kernel === "f32" ? kernel : "f64", 1);
        let value = kernel === "plain" && !s.invalid ? plainFromT(s, false) : composeKL(s, kernel);
        if (value !== value) value = composeKL((s = this.sums(p, q, "plain", 1)), kernel);
        out.values[r] = value ?? 0;
        setStatus(out, r, (s.invalid ? STATUS_INVALID : 0) | (s.qZero ? STATUS_Q_ZERO : 0) | (value === null ? STATUS_REDO : 0));
        if (s.invalid) break;
      }
      return out;
    }
    const kind = useF32 ? 2 : kernel === "plain" ? 1 : kernel === "generalized" ? 3 : 0;
    return this.rowCalls(b, useF32, (p, q, rows, pStep, qStep, out) => this.wasm.klRows(kind, p, q, rows, b.dim, pStep, qStep, out));
  }

  /**
   * Per row of a batch [value, status] of a pair measure (f64; Rényi: H with α from
   * `alpha`, see assembly/pair.ts; its rows longer than a chunk are left to the exact path).
   */
  pairRowSums(b: Batch, measure: number, alpha?: number): RowsOut {
    if (alpha !== undefined) this.wasm.setParameter(alpha);
    if (b.dim <= CHUNK_F64) {
      return this.rowCalls(b, false, (p, q, rows, pStep, qStep, out) => this.wasm.pairRows(measure, p, q, rows, b.dim, pStep, qStep, out));
    }
    return pairRowSumsLong(this, b, measure, alpha);
  }

  /**
   * KL(softmax(a·invT) ‖ softmax(b·invT)) of every row of logits (assembly/logits.ts), as
   * [value, status] per row: INVALID or REDO for a row the exact path must decide (invalid
   * values, no finite logit).
   */
  logitsKL(b: Batch, invT: number): RowsOut {
    const ex = this.wasm;
    if (b.dim <= CHUNK_F64) {
      return this.rowCalls(b, false, (p, q, rows, pStep, qStep, out) => ex.logitsKLRows(p, q, rows, b.dim, pStep, qStep, invT, out));
    }
    return logitsKLLong(this, b, invT);
  }

  /**
   * KL between diagonal Gaussians per row (see gaussianRows in the kernel): NaN for a row the
   * exact path must take (a variance ≤ 0 or not finite, subnormal variances). Each argument
   * holds `rows` rows or one (broadcast); null for rows longer than half a chunk.
   */
  gaussian(sides: [Vector, Vector, Vector, Vector], counts: number[], rows: number, dim: number): Float64Array | null {
    if (2 * dim > CHUNK_F64) return null;
    this.views();
    const f = this.f64;
    const perCall = Math.min(MAX_ROWS, Math.floor(CHUNK_F64 / (2 * dim)));
    // mean1 and var1 blocks in the first input chunk, mean2 and var2 in the second
    const at = [this.scratch, this.scratch + perCall * dim * 8, this.scratch + CHUNK_BYTES, this.scratch + CHUNK_BYTES + perCall * dim * 8];
    const values = new Float64Array(rows);
    for (let s = 0; s < 4; s++) if (counts[s] === 1) copyRows(f, at[s] >> 3, sides[s], 0, dim);
    for (let r = 0; r < rows; r += perCall) {
      const n = Math.min(perCall, rows - r);
      for (let s = 0; s < 4; s++) if (counts[s] !== 1) copyRows(f, at[s] >> 3, sides[s], r * dim, n * dim);
      const step = (s: number) => (counts[s] === 1 ? 0 : dim);
      this.wasm.gaussianRows(at[0], at[1], at[2], at[3], n, dim, step(0), step(1), step(2), step(3), this.rowsAt);
      const out = this.rowsAt >> 3;
      for (let i = 0; i < n; i++) values[r + i] = f[out + 2 * i + 1] === 0 ? f[out + 2 * i] : NaN;
    }
    return values;
  }

  /** [value, status] per row of a row kernel's calls, read where the kernel wrote them. */
  private rowCalls(b: Batch, useF32: boolean, call: RowCall): RowsOut {
    const out = rowsOut(b.rows), values = out.values, at = this.rowsAt >> 3;
    this.batched(b, useF32, call, (r, rows, bits) => {
      const f = this.f64;
      for (let i = 0; i < rows; i++) values[r + i] = f[at + i * ROW];
      // the status of each row only where a row of this call has one
      if (bits !== 0) for (let i = 0; i < rows; i++) setStatus(out, r + i, f[at + i * ROW + 1]);
    });
    return out;
  }

  /**
   * Streams whole rows through the scratch area, as many per call as fit (a broadcast row is
   * copied once), and hands each call's rows to `collect` (their results at rowsAt); returns
   * the OR of the calls' status bits.
   */
  private batched(b: Batch, useF32: boolean, call: RowCall, collect: (r: number, rows: number, bits: number) => void): number {
    this.views();
    const view = useF32 ? this.f32 : this.f64;
    const shift = useF32 ? 2 : 3;
    const perCall = Math.min(MAX_ROWS, Math.floor((CHUNK_BYTES >> shift) / b.dim));
    const flagsAt = this.rowsAt + 16384; // after ≤ MAX_ROWS rows of results
    // rows [r, r + rows) of a side into its input chunk (a broadcast row once), made
    // probabilities and smoothed there; the rows the kernels flag are marked in b.flagged
    const fill = (isP: boolean, r: number, rows: number): void => {
      const at = isP ? this.scratch : this.scratch + CHUNK_BYTES, broadcast = (isP ? b.pRows : b.qRows) === 1;
      copyRows(view, at >> shift, isP ? b.p : b.q, r * b.dim, rows * b.dim);
      const flags = (): void => {
        const f = this.f64, base = flagsAt >> 3, flagged = (b.flagged ??= new Uint8Array(b.rows));
        for (let i = 0; i < rows; i++) {
          if (f[base + i] === 0) continue;
          if (broadcast) flagged.fill(1);
          else flagged[r + i] = 1;
        }
      };
      const invT = isP ? b.invP : b.invQ;
      if (invT !== null && invT !== undefined) {
        this.wasm.softmaxRows(at, rows, b.dim, invT, flagsAt);
        flags();
      }
      const normalize = b.smooth ? (isP ? b.smooth.normalizeP : b.smooth.normalizeQ) : null;
      if (b.smooth && normalize !== null) {
        // logits are already probabilities that sum to 1
        const renormalize = normalize && (invT === null || invT === undefined);
        this.wasm.smoothRows(at, rows, b.dim, b.smooth.mode, b.smooth.epsilon, Number(renormalize), flagsAt);
        flags();
      }
    };
    if (b.pRows === 1) fill(true, 0, 1);
    if (b.qRows === 1) fill(false, 0, 1);
    let status = 0;
    for (let r = 0; r < b.rows; r += perCall) {
      const rows = Math.min(perCall, b.rows - r);
      if (b.pRows !== 1) fill(true, r, rows);
      if (b.qRows !== 1) fill(false, r, rows);
      const pStep = b.pRows === 1 ? 0 : b.dim, qStep = b.qRows === 1 ? 0 : b.dim;
      const bits = call(this.scratch, this.scratch + CHUNK_BYTES, rows, pStep, qStep, this.rowsAt);
      collect(r, rows, bits);
      status |= bits;
      if (status & STATUS_INVALID) break;
    }
    return status;
  }

  /** Copies elements [from, from + m) of p and q into the two input chunks. */
  load(p: Vector, q: Vector, from: number, m: number, useF32: boolean): void {
    const view = useF32 ? this.f32 : this.f64;
    const shift = useF32 ? 2 : 3;
    copyRows(view, this.scratch >> shift, p, from, m);
    copyRows(view, (this.scratch + CHUNK_BYTES) >> shift, q, from, m);
  }

  /** Copies elements [from, from + m) into the scratch area and runs the kernel on them. */
  private run(p: Vector, q: Vector, from: number, m: number, kernel: KernelKind, scale: number): number {
    const { wasm, scratch } = this;
    this.load(p, q, from, m, kernel === "f32");
    const q0 = scratch + CHUNK_BYTES;
    if (kernel === "f64") return wasm.klF64(scratch, q0, m, scale);
    return kernel === "f32" ? wasm.klF32(scratch, q0, m) : wasm.plainF64(scratch, q0, m);
  }
}

/** A long row's KL from its streamed sums, as the klRows kernel composes it (null: redo). */
function composeKL(s: Sums, kernel: KernelKind | "generalized"): number | null {
  const normalised = kernel === "f64" || kernel === "f32";
  if (normalised && !(s.p > 2 ** -900 && s.q > 2 ** -900)) return null; // a zero total: the exact path reports it
  if (s.qZero) return Infinity;
  if (!Number.isFinite(s.t + s.p + s.q)) return null;
  if (!normalised) return s.t;
  const result = normalizedKL(s);
  return result < Infinity && !cancels(s, result, kernel === "f32") ? Math.max(result, 0) : null;
}

/** Copies elements [from, from + m) of src into view at `at` (a whole typed array without a subarray). */
export function copyRows(view: Float64Array | Float32Array, at: number, src: Vector, from: number, m: number): void {
  if (!ArrayBuffer.isView(src)) for (let j = 0; j < m; j++) view[at + j] = src[from + j];
  else view.set(m === src.length ? (src as Float64Array) : (src as Float64Array).subarray(from, from + m), at);
}

/** Instantiates the kernel module (src/wasm/load.ts) and wraps it. */
export async function loadKernel(source: WasmSource): Promise<Kernel> {
  const { module, wasm } = await instantiateKernel(source, ["scratchPtr", "resultsPtr", "klF64", "klRows", "pairRows"]);
  return new Kernel(wasm as unknown as KernelExports, module);
}
