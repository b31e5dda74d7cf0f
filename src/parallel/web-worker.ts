// A pool worker as a module Web Worker: browsers and Bun.
import type { StartWorker } from "./pool.js";

export const startWebWorker: StartWorker = (url, events) => {
  const worker = new Worker(url, { type: "module" });
  // Bun's workers, like Node's, can stop holding the process alive while idle
  const bun = worker as Worker & { ref?: () => void; unref?: () => void };
  bun.unref?.();
  worker.addEventListener("message", (e) => events.message(e.data));
  worker.addEventListener("error", (e) => {
    e.preventDefault(); // reported here, not as an uncaught error of the page
    events.lost(new Error(`a worker failed: ${e.message ?? "it could not load"}`));
  });
  worker.addEventListener("messageerror", () => events.lost(new Error("a worker's message could not be read")));
  return {
    post: (message, transfer) => worker.postMessage(message, transfer),
    hold: (busy) => (busy ? bun.ref?.() : bun.unref?.()),
    terminate: async () => worker.terminate(),
  };
};
