// A worker of kl-simd/parallel's pool (dist/parallel-worker.js), in Node's worker_threads or a
// module Web Worker: loads the package once, then scores chunks of rows with the same score()
// the caller's thread runs, so every row's value is bit for bit the same.
import { backend, init, score, useBackend } from "../index.js";
import type { ChunkResult, ChunkTask } from "./messages.js";
import { chunkValues, transferable } from "./rows.js";
import { node } from "./runtime.js";

type Reply = (reply: ChunkResult, transfer: ArrayBuffer[]) => void;

// The first task brings the caller's compiled kernel (in V8 with the code already optimised
// there): no decoding or compiling here, and no slow first chunks. The built-in one otherwise.
let ready: Promise<unknown> | null = null;

async function handle(task: ChunkTask, reply: Reply): Promise<void> {
  ready ??= task.module ? init(task.module).catch(() => init()) : init();
  await ready;
  // the input buffers go back to the caller's thread for the next chunk (shared ones stay put)
  const inputs = transferable(task.p, task.q);
  try {
    if (backend() !== task.backend) useBackend(task.backend);
    const p = chunkValues(task.p, 0), q = task.q === null ? null : chunkValues(task.q, 1);
    const values = score(task.measure, p, q, task.options) as Float64Array;
    // the values move, unless they are a view of a larger buffer (which they are not today)
    const own = values.byteLength === values.buffer.byteLength ? [values.buffer as ArrayBuffer] : [];
    reply({ id: task.id, values, inputs }, [...own, ...inputs]);
  } catch (e) {
    const error = e as { name?: string; code?: string; message?: string };
    reply({ id: task.id, error: { name: String(error?.name), code: error?.code, message: String(error?.message ?? e) }, inputs }, inputs);
  }
}

if (node !== null) {
  const port = node.threads.parentPort!;
  port.on("message", (task: ChunkTask) => handle(task, (r, transfer) => port.postMessage(r, transfer)));
  port.postMessage({ ready: true });
} else {
  const scope = globalThis as unknown as { addEventListener(type: "message", f: (e: MessageEvent<ChunkTask>) => void): void; postMessage(m: unknown, t: Transferable[]): void };
  scope.addEventListener("message", (e) => handle(e.data, (r, transfer) => scope.postMessage(r, transfer)));
  scope.postMessage({ ready: true }, []);
}
