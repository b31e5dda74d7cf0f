// A worker of kl-simd/parallel's pool: loads the package once, then scores chunks of rows with
// the same score() the caller's thread runs, so every row's value is bit for bit the same.
/// <reference types="node" />
import { parentPort } from "node:worker_threads";
import { backend, init, score, useBackend, type Backend, type MeasureName, type ScoreOptions, type Vector } from "./index.js";

/** One chunk: rows of p and q (a side of one row is broadcast), options without reduction/weights. */
export interface ChunkTask {
  id: number;
  measure: MeasureName;
  p: Float64Array | Float32Array;
  q: Float64Array | Float32Array | null;
  options: ScoreOptions & { dim: number };
  /** the caller's backend (useBackend may have forced "js" there) */
  backend: Backend;
}

/** The per-row values, or the error (rebuilt, with the original indices, by the caller's thread). */
export type ChunkReply =
  | { id: number; values: Float64Array; inputs: ArrayBuffer[] }
  | { id: number; error: { name: string; code?: string; message: string }; inputs: ArrayBuffer[] };

const ready = init();
const port = parentPort!;

port.on("message", async (task: ChunkTask) => {
  await ready;
  // the input buffers go back to the caller's thread for the next chunk (shared ones stay put)
  const inputs = [task.p.buffer, task.q?.buffer].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
  let reply: ChunkReply;
  try {
    if (backend() !== task.backend) useBackend(task.backend);
    const values = score(task.measure, task.p, task.q as Vector | null, task.options) as Float64Array;
    reply = { id: task.id, values, inputs };
    // the values move, unless they are a view of a larger buffer (which they are not today)
    const own = values.byteLength === values.buffer.byteLength ? [values.buffer as ArrayBuffer] : [];
    port.postMessage(reply, [...own, ...inputs]);
  } catch (e) {
    const error = e as { name?: string; code?: string; message?: string };
    reply = { id: task.id, error: { name: String(error?.name), code: error?.code, message: String(error?.message ?? e) }, inputs };
    port.postMessage(reply, inputs);
  }
});
