// The pool of kl-simd/parallel, the same for every runtime (a StartWorker says how to start a
// worker there): workers started on first use and kept, each call's chunks handed to the
// least busy of its first `threads` workers. A worker that dies is replaced and its chunks run
// again, once; close() rejects what is queued or running and ends every worker.
import { kernelModule } from "../index.js";
import type { ChunkReply, ChunkResult, ChunkTask } from "./messages.js";
import { KLParallelError, poolClosed } from "./errors.js";
import { recycle, transferable } from "./rows.js";

export interface WorkerEvents {
  message(reply: ChunkReply): void;
  /** the worker failed or exited: it will answer nothing more */
  lost(error: Error): void;
}

export interface WorkerPort {
  post(message: ChunkTask, transfer: Transferable[]): void;
  /** busy: keep the process alive (a call in progress); idle: do not (Node, Bun) */
  hold(busy: boolean): void;
  /** settles once the worker is gone, in every runtime and every state */
  terminate(): Promise<void>;
}

export type StartWorker = (url: URL, events: WorkerEvents) => WorkerPort;

/** A chunk of a call's rows. */
export interface Chunk {
  /** the call: its chunks are taken, cancelled, together */
  owner: object;
  /** the call's thread count: the chunk runs on one of the first `threads` workers */
  threads: number;
  /** workers that died while holding it */
  attempts: number;
  /** the message, made when a worker is about to take the chunk (copies happen then) */
  make(id: number): ChunkTask;
  settle(reply: ChunkResult): void;
  fail(error: unknown): void;
}

// A chunk runs again on a new worker once (a worker killed from outside, a crash); a chunk
// on which two workers died is reported, so that a chunk that kills workers cannot loop.
const MAX_ATTEMPTS = 2;
// Chunks at a worker at once: one running, one waiting, so it never idles between them.
const IN_FLIGHT = 2;

interface Slot {
  port: WorkerPort;
  running: Map<number, Chunk>;
  /** whether it has loaded (said so): until then it gets no chunks, so that a chunk never
   * waits for a worker's start while the calling thread or a running worker could take it */
  ready: boolean;
  /** whether its first task (which carries the compiled kernel) has gone */
  started: boolean;
}

export class Pool {
  /** counts close() calls: a call that started before one rejects */
  generation = 0;
  /** worker w serves calls of more than w threads; null: not started, or lost */
  private slots: (Slot | null)[] = [];
  private queue: Chunk[] = [];
  private nextId = 0;
  /** workers lost in a row before they loaded */
  private failedStarts = 0;

  constructor(private readonly start: StartWorker, private readonly url: URL) {}

  /** Workers running now. */
  get size(): number {
    return this.slots.filter((s) => s !== null).length;
  }

  enqueue(chunks: Chunk[]): void {
    this.queue.push(...chunks);
    this.pump();
  }

  /** Takes the first queued chunk of a call, for the calling thread. */
  take(owner: object): Chunk | undefined {
    const i = this.queue.findIndex((c) => c.owner === owner);
    return i < 0 ? undefined : this.queue.splice(i, 1)[0];
  }

  /** Drops a call's queued chunks (it failed). */
  cancel(owner: object): void {
    this.queue = this.queue.filter((c) => c.owner !== owner);
  }

  private spawn(): Slot {
    const slot: Slot = { port: null as unknown as WorkerPort, running: new Map(), ready: false, started: false };
    slot.port = this.start(this.url, {
      message: (reply) => {
        if ("ready" in reply) {
          slot.ready = true;
          this.failedStarts = 0;
        } else {
          recycle(reply.inputs); // for the next chunk's copy
          const chunk = slot.running.get(reply.id);
          if (chunk === undefined) return; // its call was closed
          slot.running.delete(reply.id);
          chunk.settle(reply);
        }
        // idle: let the process exit (Node refs a worker's port as its first message comes in)
        if (slot.running.size === 0) slot.port.hold(false);
        this.pump();
      },
      lost: (error) => this.lost(slot, error),
    });
    return slot;
  }

  private lost(slot: Slot, error: Error): void {
    const w = this.slots.indexOf(slot);
    if (w < 0) return; // closed, or already reported (an error, then its exit)
    this.slots[w] = null;
    void slot.port.terminate().catch(() => undefined);
    const again: Chunk[] = [];
    for (const chunk of slot.running.values()) {
      if (++chunk.attempts < MAX_ATTEMPTS) again.push(chunk);
      else chunk.fail(new KLParallelError("KL_WORKER_LOST", `kl-simd/parallel: workers died twice on the same rows (${error.message})`));
    }
    slot.running.clear();
    // workers that cannot even load (a bad URL, a CSP, no memory) are not started forever
    if (!slot.ready && ++this.failedStarts >= MAX_ATTEMPTS) {
      this.failedStarts = 0;
      const queued = this.queue;
      this.queue = [];
      for (const chunk of queued) chunk.fail(new KLParallelError("KL_WORKER_LOST", `kl-simd/parallel: workers failed to start (${error.message})`));
      return;
    }
    // its chunks first, on a new worker (pump starts one while chunks wait)
    this.queue.unshift(...again);
    this.pump();
  }

  /** Hands queued chunks to workers with room, the least busy first; starts workers needed. */
  private pump(): void {
    if (this.queue.length === 0) return;
    const wanted = Math.max(...this.queue.map((c) => c.threads));
    for (let w = 0; w < wanted; w++) this.slots[w] ??= this.spawn();
    for (;;) {
      let best = -1;
      for (let w = 0; w < this.slots.length; w++) {
        const n = this.slots[w]?.ready ? this.slots[w]!.running.size : IN_FLIGHT;
        if (n < IN_FLIGHT && (best < 0 || n < this.slots[best]!.running.size) && this.queue.some((c) => c.threads > w)) best = w;
      }
      if (best < 0) return;
      const slot = this.slots[best]!;
      const [chunk] = this.queue.splice(this.queue.findIndex((c) => c.threads > best), 1);
      const id = this.nextId++;
      try {
        const message = chunk.make(id);
        if (!slot.started) message.module = kernelModule();
        slot.started = true;
        const transfer = transferable(message.p, message.q);
        try {
          slot.port.post(message, transfer);
        } catch (error) {
          // a runtime that cannot clone a compiled module: the worker compiles its own
          if (!message.module) throw error;
          delete message.module;
          slot.port.post(message, transfer);
        }
      } catch (error) {
        chunk.fail(error);
        continue;
      }
      if (slot.running.size === 0) slot.port.hold(true);
      slot.running.set(id, chunk);
    }
  }

  /** Rejects every queued and running chunk, then ends every worker; settles when they are gone. */
  async close(): Promise<void> {
    const slots = this.slots.filter((s): s is Slot => s !== null), queued = this.queue;
    this.slots = [];
    this.queue = [];
    this.generation++;
    for (const chunk of queued) chunk.fail(poolClosed());
    for (const slot of slots) {
      for (const chunk of slot.running.values()) chunk.fail(poolClosed());
      slot.running.clear();
    }
    await Promise.all(slots.map((s) => s.port.terminate().catch(() => undefined)));
  }
}
