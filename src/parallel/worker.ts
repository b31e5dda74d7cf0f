// A worker of kl-simd/parallel's pool (dist/parallel-worker.js), in Node's worker_threads or a
// module Web Worker: loads the package once, then scores chunks of rows with the same score()
// the caller's thread runs, so every row's value is bit for bit the same.
import { backend, init, score, useBackend, type Vector } from "../index.js";
import type { ChunkReply, ChunkRows, ChunkTask, FileSlice } from "./messages.js";
import { node } from "./runtime.js";

type Reply = (reply: ChunkReply, transfer: ArrayBuffer[]) => void;

const ready = init();

async function handle(task: ChunkTask, reply: Reply): Promise<void> {
  await ready;
  // the input buffers go back to the caller's thread for the next chunk (shared ones stay put)
  const inputs = [task.p, task.q].map((r) => (r !== null && "buffer" in r ? r.buffer : null)).filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
  try {
    if (backend() !== task.backend) useBackend(task.backend);
    const p = rowsOf(task.p, 0), q = task.q === null ? null : rowsOf(task.q, 1);
    const values = score(task.measure, p, q as Vector | null, task.options) as Float64Array;
    // the values move, unless they are a view of a larger buffer (which they are not today)
    const own = values.byteLength === values.buffer.byteLength ? [values.buffer as ArrayBuffer] : [];
    reply({ id: task.id, values, inputs }, [...own, ...inputs]);
  } catch (e) {
    const error = e as { name?: string; code?: string; message?: string };
    reply({ id: task.id, error: { name: String(error?.name), code: error?.code, message: String(error?.message ?? e) }, inputs }, inputs);
  }
}

// A buffer per side for rows read from files, kept for the next chunk (fresh memory costs a
// page fault per 4 KiB); as large as the largest chunk.
const scratch: ArrayBuffer[] = [new ArrayBuffer(0), new ArrayBuffer(0)];

function rowsOf(rows: ChunkRows, side: 0 | 1): Float64Array | Float32Array {
  return "file" in rows ? readSlice(rows, side) : rows;
}

function readSlice(s: FileSlice, side: 0 | 1): Float64Array | Float32Array {
  const fs = node!.fs;
  const bytes = s.length * (s.type === "f32" ? 4 : 8);
  if (scratch[side].byteLength < bytes) scratch[side] = new ArrayBuffer(bytes);
  const into = new Uint8Array(scratch[side], 0, bytes);
  const fd = fs.openSync(s.file, "r");
  try {
    for (let at = 0; at < bytes; ) {
      const got = fs.readSync(fd, into, at, bytes - at, s.offset + at);
      if (got === 0) throw new Error(`${s.file} ends before byte ${s.offset + bytes}`);
      at += got;
    }
  } finally {
    fs.closeSync(fd);
  }
  return s.type === "f32" ? new Float32Array(scratch[side], 0, s.length) : new Float64Array(scratch[side], 0, s.length);
}

if (node !== null) {
  const port = node.threads.parentPort!;
  port.on("message", (task: ChunkTask) => handle(task, (r, transfer) => port.postMessage(r, transfer)));
} else {
  const scope = globalThis as unknown as { addEventListener(type: "message", f: (e: MessageEvent<ChunkTask>) => void): void; postMessage(m: unknown, t: Transferable[]): void };
  scope.addEventListener("message", (e) => handle(e.data, (r, transfer) => scope.postMessage(r, transfer)));
}
