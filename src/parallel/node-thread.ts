// A pool worker on Node's worker_threads (in Node and Deno).
/// <reference types="node" />
import type { Worker } from "node:worker_threads";
import type { ChunkReply } from "./messages.js";
import type { StartWorker } from "./pool.js";
import { node } from "./runtime.js";

export const startNodeThread: StartWorker = (url, events) => {
  const worker = spawn(url);
  // idle workers must not keep the process alive; a call in progress does (hold)
  worker.unref();
  worker.on("message", (reply: ChunkReply) => events.message(reply));
  worker.on("error", (error: Error) => events.lost(error));
  worker.on("exit", (code: number) => events.lost(new Error(`a worker exited (code ${code})`)));
  return {
    post: (message, transfer) => worker.postMessage(message, transfer as ArrayBuffer[]),
    hold: (busy) => (busy ? worker.ref() : worker.unref()),
    terminate: async () => {
      // an unref'd worker's terminate() promise holds nothing alive: without ref() the
      // process could exit (code 13, an unsettled await) before close() settles
      worker.ref();
      await worker.terminate();
    },
  };
};

/**
 * A worker inherits the process's Node options, but one given --input-type (as with
 * `node --input-type=module -e …`) refuses to run a file: those go, with the -e/-p script.
 * An explicit list must not hold V8 flags either; they are process-wide, so a worker has
 * them anyway, and if the list is refused the worker starts with none.
 */
function spawn(url: URL): Worker {
  const { Worker } = node!.threads;
  const all = globalThis.process?.execArgv ?? [];
  if (!all.some((a) => a.startsWith("--input-type"))) return new Worker(url);
  const execArgv: string[] = [];
  for (let i = 0; i < all.length; i++) {
    if (/^(-e|--eval|-p|--print|-pe|--input-type)$/.test(all[i])) i++; // and its value
    else if (!/^(--eval|--print|--input-type)=/.test(all[i])) execArgv.push(all[i]);
  }
  try {
    return new Worker(url, { execArgv });
  } catch (error) {
    if ((error as { code?: string }).code !== "ERR_WORKER_INVALID_EXEC_ARGV") throw error;
    return new Worker(url, { execArgv: [] });
  }
}
