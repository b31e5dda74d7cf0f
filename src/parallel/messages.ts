// What the pool and a worker say to each other: a chunk of rows to score, and its values.
import type { Backend, BatchOptions, MeasureName } from "../index.js";

/** Rows a worker reads itself from a file (Node): `length` little-endian floats from byte `offset`. */
export interface FileSlice {
  file: string;
  offset: number;
  length: number;
  type: "f32" | "f64";
}

/** Rows of a chunk: in memory (copied, or shared), or in a file. */
export type ChunkRows = Float64Array | Float32Array | FileSlice;

/** One chunk: rows of p and q (a side of one row is broadcast), options without reduction/weights. */
export interface ChunkTask {
  id: number;
  measure: MeasureName;
  p: ChunkRows;
  q: ChunkRows | null;
  options: BatchOptions;
  /** the caller's backend (useBackend may have forced "js" there) */
  backend: Backend;
  /** on a worker's first task: the caller's compiled kernel, which the worker then need not compile */
  module?: WebAssembly.Module | null;
}

/** The per-row values, or the error (the caller's thread then asks score() for its own). */
export type ChunkResult =
  | { id: number; values: Float64Array; inputs: ArrayBuffer[] }
  | { id: number; error: { name: string; code?: string; message: string }; inputs: ArrayBuffer[] };

/** What a worker says: that it has loaded (it is sent chunks from then on), or a chunk's result. */
export type ChunkReply = { ready: true } | ChunkResult;
