// The rows a chunk gets: shared memory read in place, or a copy into a buffer that is
// transferred to the worker and back (the caller's arrays are never detached or written).
import { KLRangeError, KLTypeError, type Vector } from "../index.js";
import { KLParallelError } from "./errors.js";
import type { ChunkRows } from "./messages.js";
import { node } from "./runtime.js";

/** A side of a call: its values and its row count (1: broadcast). */
export interface Rows {
  v: Vector;
  rows: number;
  dim: number;
}

/** Rows stored in a file: `rows` × `dim` little-endian floats from byte `offset` (.npy data, a raw file). */
export interface FileRows {
  file: string;
  offset: number;
  rows: number;
  dim: number;
  type: "f32" | "f64";
}

type RowArray = Float64Array | Float32Array;

/** Whether rows can live on a SharedArrayBuffer here (a browser page must be cross-origin isolated). */
export function sharedMemory(): boolean {
  return typeof SharedArrayBuffer === "function";
}

/** True where a worker can read the rows in place. */
function isShared(v: Vector): boolean {
  return ArrayBuffer.isView(v) && sharedMemory() && v.buffer instanceof SharedArrayBuffer;
}

/**
 * A zeroed array of `length` elements that workers read in place: on a SharedArrayBuffer
 * where the runtime has one (Node, Deno, Bun, a cross-origin-isolated page), else on an
 * ordinary ArrayBuffer, whose rows are then copied to the workers chunk by chunk.
 */
export function allocate(length: number, type: Float64ArrayConstructor | Float32ArrayConstructor = Float64Array): RowArray {
  if (type !== Float64Array && type !== Float32Array) throw new KLTypeError("KL_BAD_OPTION", "allocate: the type must be Float64Array or Float32Array");
  if (typeof length !== "number") throw new KLTypeError("KL_BAD_OPTION", `allocate: the length must be a number, got ${typeof length}`);
  if (!Number.isSafeInteger(length) || length < 0) throw new KLRangeError("KL_BAD_OPTION", `allocate: the length must be an integer ≥ 0, got ${length}`);
  const bytes = length * type.BYTES_PER_ELEMENT;
  const buffer = (sharedMemory() ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes)) as ArrayBuffer;
  return new type(buffer);
}

/** True where a chunk's rows are copied (ordinary arrays) or read from a file, not read in place. */
export function copiedRows(p: Rows | FileRows, q: Rows | FileRows | null): boolean {
  return [p, q].some((s) => s !== null && ("file" in s || !(s.rows === 1 || isShared(s.v))));
}

/** Rows [from, to) of a side (all of a one-row side) for a worker: shared memory, a copy, a file's bytes. */
export function rowsFor(s: Rows | FileRows, from: number, to: number): ChunkRows {
  const [a, b] = s.rows === 1 ? [0, s.dim] : [from * s.dim, to * s.dim];
  if ("file" in s) return { file: s.file, offset: s.offset + a * (s.type === "f32" ? 4 : 8), length: b - a, type: s.type };
  const v = s.v;
  if (isShared(v)) return (v as RowArray).subarray(a, b);
  const Type = v instanceof Float32Array ? Float32Array : Float64Array;
  const copy = new Type(spare(Type.BYTES_PER_ELEMENT * (b - a)), 0, b - a);
  if (ArrayBuffer.isView(v)) copy.set((v as RowArray).subarray(a, b));
  else {
    for (let i = a; i < b; i++) {
      // a typed array would coerce what score() rejects (the call then asks score() for its error)
      if (typeof v[i] !== "number") throw new KLTypeError("KL_NOT_NUMBER", "not a number");
      copy[i - a] = v[i];
    }
  }
  return copy;
}

/** Rows [from, to) of a side (all of a one-row side) for score() on the calling thread. */
export function rowsHere(s: Rows | FileRows, from: number, to: number, side: 0 | 1 = 0): Vector {
  if ("file" in s) return chunkValues(rowsFor(s, from, to), side);
  if (s.rows === 1) return s.v;
  return ArrayBuffer.isView(s.v) ? (s.v as RowArray).subarray(from * s.dim, to * s.dim) : s.v.slice(from * s.dim, to * s.dim);
}

// A buffer per side for rows read from files, kept for the next chunk (fresh memory costs a
// page fault per 4 KiB); as large as the largest chunk.
const scratch: ArrayBuffer[] = [new ArrayBuffer(0), new ArrayBuffer(0)];

/** A chunk's values: rows in memory as they are, a file slice (Node and Deno) read into this thread's buffer for that side. */
export function chunkValues(s: ChunkRows, side: 0 | 1): RowArray {
  if (!("file" in s)) return s;
  const fs = node!.fs;
  const Type = s.type === "f32" ? Float32Array : Float64Array;
  const bytes = s.length * Type.BYTES_PER_ELEMENT;
  if (scratch[side].byteLength < bytes) scratch[side] = new ArrayBuffer(bytes);
  const into = new Uint8Array(scratch[side], 0, bytes);
  let fd: number;
  try {
    fd = fs.openSync(s.file, "r");
  } catch (error) {
    throw unreadable(s.file, error);
  }
  try {
    for (let at = 0; at < bytes; ) {
      let got: number;
      try {
        got = fs.readSync(fd, into, at, bytes - at, s.offset + at);
      } catch (error) {
        throw unreadable(s.file, error);
      }
      // shorter than when checkFile() looked (or not a regular file)
      if (got === 0) throw new KLParallelError("KL_FILE", `kl-simd/parallel: ${s.file} ends before byte ${s.offset + bytes}`);
      at += got;
    }
  } finally {
    fs.closeSync(fd);
  }
  return new Type(scratch[side], 0, s.length);
}

/**
 * The problems of a side's file that can be seen before any chunk is read, on the calling
 * thread: it cannot be found, or it ends before its rows. (What only reading shows, a folder or
 * a file that shrinks, chunkValues reports with the same class and code, on whichever thread.)
 */
export function checkFile(s: FileRows): void {
  let stat: { size: number; isFile(): boolean };
  try {
    stat = node!.fs.statSync(s.file);
  } catch (error) {
    throw unreadable(s.file, error);
  }
  const end = s.offset + s.rows * s.dim * (s.type === "f32" ? 4 : 8);
  // a device or a pipe has no size to compare with
  if (stat.isFile() && stat.size < end) {
    throw new KLParallelError("KL_FILE", `kl-simd/parallel: ${s.file} has ${stat.size} bytes; its rows end at byte ${end} (${s.rows} rows of ${s.dim} ${s.type} from byte ${s.offset})`);
  }
}

const unreadable = (file: string, error: unknown) =>
  new KLParallelError("KL_FILE", `kl-simd/parallel: cannot read ${file}: ${(error as Error)?.message ?? String(error)}`);

/** Elements of one side in a copied chunk (or one read from a file): 2 MiB of doubles, a few ms of kernel time. */
export const COPY_CHUNK_ELEMENTS = 1 << 18;

// Copy buffers come back from the workers and are used again: fresh memory costs a page
// fault per 4 KiB, which for large batches cost more than the copy itself. At most 16 kept.
const SPARE_BYTES = COPY_CHUNK_ELEMENTS * 8;
const spares: ArrayBuffer[] = [];
function spare(bytes: number): ArrayBuffer {
  return bytes <= SPARE_BYTES ? (spares.pop() ?? new ArrayBuffer(SPARE_BYTES)) : new ArrayBuffer(bytes);
}

/** The copied rows' buffers of a chunk, which move with its message and come back with the reply. */
export function transferable(...sides: (ChunkRows | null)[]): ArrayBuffer[] {
  return sides.map((r) => (r !== null && "buffer" in r ? r.buffer : null)).filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
}

/** Takes back copy buffers a worker returned. */
export function recycle(buffers: ArrayBuffer[]): void {
  for (const b of buffers) if (b.byteLength === SPARE_BYTES && spares.length < 16) spares.push(b);
}

/** Frees the kept copy buffers and this thread's file-read buffers. */
export function dropSpares(): void {
  spares.length = 0;
  scratch.fill(new ArrayBuffer(0));
}
