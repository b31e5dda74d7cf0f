// What this runtime offers kl-simd/parallel: its worker API and how many cores it may use.
// Node's worker_threads in Node, and in Deno, whose Web Workers cannot be unref'd (an idle
// pool would keep the process from exiting; its node:worker_threads can); module Web Workers
// in browsers and Bun. Node's modules are imported by a computed name, so that browser
// bundlers leave them alone.
/// <reference types="node" />
type NodeModules = { threads: typeof import("node:worker_threads"); os: typeof import("node:os"); fs: typeof import("node:fs") };

const g = globalThis as { process?: { versions?: { node?: unknown } }; Deno?: unknown; Bun?: unknown; navigator?: { hardwareConcurrency?: number } };

const nodeThreads = g.Deno !== undefined || (typeof g.process?.versions?.node === "string" && g.Bun === undefined);

const load = (name: string): Promise<any> => import(name);

/** Node's worker_threads, os and fs (Node, Deno), or null where Web Workers serve. */
export const node: NodeModules | null = nodeThreads
  ? { threads: await load("node:worker_threads"), os: await load("node:os"), fs: await load("node:fs") }
  : null;

/** The cores this process may run on: os.availableParallelism() or navigator.hardwareConcurrency. */
export function availableCores(): number {
  const n = node !== null
    ? (typeof node.os.availableParallelism === "function" ? node.os.availableParallelism() : node.os.cpus().length)
    : (g.navigator?.hardwareConcurrency ?? 1);
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

const channel = typeof setImmediate === "function" ? null : new MessageChannel();
const turns: (() => void)[] = [];
if (channel !== null) channel.port1.onmessage = () => turns.shift()?.();

/**
 * Runs `f` in a later turn of the event loop, after the messages waiting now: setImmediate
 * where there is one, else a MessageChannel message (setTimeout waits ≥ 4 ms once nested).
 */
export function nextTurn(f: () => void): void {
  if (channel === null) {
    setImmediate(f);
    return;
  }
  turns.push(f);
  channel.port2.postMessage(null);
}
