// kl-simd/parallel: a batch's rows spread over a pool of node:worker_threads (Node; Deno and
// Bun have the module too).
//
// Each worker loads the package once and runs the same score() on chunks of rows, so every
// row's value is bit for bit the in-process one; weights and reductions are applied here,
// over all rows in order, by the same code as score(). Rows on a SharedArrayBuffer are read
// in place; other rows are copied, chunk by chunk, into buffers that are transferred to the
// worker and back (the caller's arrays are never detached or written).
/// <reference types="node" />
import { availableParallelism, cpus } from "node:os";
import { Worker } from "node:worker_threads";
import { backend, init, KLRangeError, KLTypeError, score, type BatchOptions, type MeasureName, type ScoreResult, type Vector } from "./index.js";
import { measureOf } from "./measures/registry.js";
import type { ChunkReply, ChunkTask } from "./parallel-worker.js";
import { reduce } from "./engine/finish.js";
import { resolve } from "./engine/options.js";
import { checkMeasure } from "./engine/rows.js";
import { pairRows, side, type Side } from "./engine/sides.js";

/** Options of `scoreParallel`: the batch options of `score`, and how to spread the rows. */
export interface ParallelOptions extends BatchOptions {
  /** Worker threads to use (default: `os.availableParallelism()`). */
  threads?: number;
  /**
   * Batches of fewer elements (rows × dim) are scored in-process, where a thread would cost
   * more than it saves (default `PARALLEL_MIN_ELEMENTS`).
   */
  minElements?: number;
  /**
   * The calling thread scores chunks too, one per event-loop turn (a few ms each), and
   * `threads` counts it: `threads: 2` is one worker and this thread. Its chunks need no copy,
   * which is what ordinary (not shared) arrays gain from it. Default false.
   */
  callingThread?: boolean;
}

/**
 * Below this many elements a batch runs in-process. Measured (bench/parallel.bench.mjs, 2 cores,
 * kl, dim 64, six runs under varying load from other processes): two threads ran 0.34–0.96×
 * as fast as in-process at 2¹⁴–2¹⁶ elements, 0.85–1.20× at 2¹⁸, 1.09–1.24× at 2²⁰ and
 * 1.07–1.77× at 2²².
 */
export const PARALLEL_MIN_ELEMENTS = 1 << 20;

// Elements of one side per chunk: 2 MiB of doubles, a few ms of kernel time, so messages cost
// little, while a worker never waits long for its next chunk.
const CHUNK_ELEMENTS = 1 << 18;
// Chunks a thread of a call whose rows are all on SharedArrayBuffers.
const IN_PLACE_CHUNKS_PER_THREAD = 4;
// Chunks queued at a worker: one running, one copied and waiting.
const IN_FLIGHT = 2;

/** The thread count used when `options.threads` is not given. */
export function defaultThreads(): number {
  return typeof availableParallelism === "function" ? availableParallelism() : Math.max(1, cpus().length);
}

/**
 * `score(measure, p, q, options)` with the rows spread over worker threads: the same values
 * bit for bit (per row, or their "sum"/"mean"/weights), as a promise. Needs `options.dim`
 * (without it, or below `minElements`, it scores in-process). Errors are the ones `score`
 * throws, with the same class, code and message (indices into the caller's arrays).
 */
export async function scoreParallel<O extends ParallelOptions>(measure: MeasureName, p: Vector, q: Vector | null, options: O): Promise<ScoreResult<O>> {
  const { threads = defaultThreads(), minElements = PARALLEL_MIN_ELEMENTS, callingThread = false, ...rest } = (options ?? {}) as ParallelOptions;
  const scoreOptions = rest as BatchOptions;
  for (const [name, value, ok] of [["threads", threads, Number.isInteger(threads) && threads >= 1], ["minElements", minElements, minElements >= 0]] as const) {
    const wanted = name === "threads" ? "a positive integer" : "a number ≥ 0";
    if (typeof value !== "number") throw new KLTypeError("KL_BAD_OPTION", `options.${name} must be ${wanted}, got ${typeof value}`);
    if (!ok) throw new KLRangeError("KL_BAD_OPTION", `options.${name} must be ${wanted}, got ${value}`);
  }
  if (typeof callingThread !== "boolean") throw new KLTypeError("KL_BAD_OPTION", `options.callingThread must be a boolean, got ${typeof callingThread}`);
  const generation = pool.generation;
  await init();
  if (pool.generation !== generation) throw closedError();
  const inProcess = (): ScoreResult<O> => score(measure, p, q, scoreOptions) as ScoreResult<O>;
  // types, shapes and options as score() checks them, before any copying
  checkMeasure(measure);
  const m = measureOf(measure);
  const o = resolve(scoreOptions, m.normalize, m.alpha === true);
  if (o.dim === null) return inProcess();
  const ps = side(p, "p", o.inputP, o.dim);
  const qs = measure === "entropy" ? null : side(q, "q", o.inputQ, o.dim);
  const rows = qs === null ? ps.shape.rows : pairRows(ps.shape, qs.shape);
  if (rows * o.dim < minElements || rows < 2 || (callingThread && threads === 1)) return inProcess();

  const { reduction: _r, weights: _w, ...perRow } = scoreOptions;
  const values = await spread(measure, ps, qs, rows, { ...perRow, dim: o.dim }, threads, callingThread).catch((error: unknown) => {
    // Report exactly what score() reports: the first invalid element of the whole input, by
    // the caller's indices (a chunk only knows its own); score() finds it in-process.
    if (!(error instanceof KLRangeError || error instanceof KLTypeError)) throw error;
    inProcess();
    throw error;
  });
  // the rows are finished by the workers' score(): weights and the reduction, in row order, as score() does
  return reduce(values, o, false) as ScoreResult<O>;
}

/** Per-row values of the whole batch, from chunks of rows on `threads` threads. */
function spread(measure: MeasureName, p: Side, q: Side | null, rows: number, options: BatchOptions, threads: number, here: boolean): Promise<Float64Array> {
  const dim = p.shape.dim;
  // Copied rows: at most CHUNK_ELEMENTS a side, so the copies stay in cache and the workers
  // wait little for them. Rows read in place: fewer, larger chunks (each costs a message).
  // Either way at least two chunks a thread, so a thread slowed by other work hands its
  // share to the others.
  const inPlace = [p, q].every((s) => s === null || s.shape.rows === 1 || isShared(s.v));
  const most = inPlace ? Math.ceil(rows / (IN_PLACE_CHUNKS_PER_THREAD * threads)) : Math.floor(CHUNK_ELEMENTS / dim);
  const rowsPerChunk = Math.max(1, Math.min(most, Math.ceil(rows / (2 * threads))));
  const chunks = Math.ceil(rows / rowsPerChunk);
  const out = new Float64Array(rows);
  const active = backend();
  const workers = here ? threads - 1 : threads;
  pool.grow(workers);
  return new Promise((done, fail) => {
    let left = chunks;
    const tasks: Task[] = [];
    const finished = (from: number, values: Float64Array): void => {
      out.set(values, from);
      if (--left === 0) done(out);
    };
    const failed = (error: unknown): void => {
      for (const t of tasks) pool.cancel(t);
      fail(error);
    };
    for (let c = 0; c < chunks; c++) {
      const from = c * rowsPerChunk, to = Math.min(rows, from + rowsPerChunk);
      tasks.push({
        threads: workers,
        // the copy is made when a worker is about to take the chunk, not before
        make: (id) => {
          const task: ChunkTask = { id, measure, p: rowsOf(p, from, to), q: q === null ? null : rowsOf(q, from, to), options, backend: active };
          return task;
        },
        settle: (reply) => ("error" in reply ? failed(rebuild(reply.error)) : finished(from, reply.values)),
        fail: failed,
        // on the calling thread: views of the caller's rows, no copy
        run: () => {
          try {
            finished(from, score(measure, rowsHere(p, from, to), q === null ? null : rowsHere(q, from, to), options) as Float64Array);
          } catch (error) {
            failed(error);
          }
        },
      });
    }
    pool.enqueue(tasks);
    if (!here) return;
    // a chunk a turn, so the workers' replies (and their next chunks) are handled in between
    const step = (): void => {
      const task = pool.take(tasks);
      if (task === undefined) return;
      task.run();
      setImmediate(step);
    };
    setImmediate(step);
  });
}

/** Rows [from, to) of a side (all of a one-row side): a view of shared memory, or a copy. */
function rowsOf(s: Side, from: number, to: number): Float64Array | Float32Array {
  const dim = s.shape.dim;
  const [a, b] = s.shape.rows === 1 ? [0, dim] : [from * dim, to * dim];
  const v = s.v;
  if (isShared(v)) return (v as Float64Array).subarray(a, b);
  const f32 = v instanceof Float32Array;
  const copy = f32 ? new Float32Array(spare(4 * (b - a)), 0, b - a) : new Float64Array(spare(8 * (b - a)), 0, b - a);
  if (ArrayBuffer.isView(v)) copy.set((v as Float64Array).subarray(a, b));
  else for (let i = a; i < b; i++) copy[i - a] = v[i];
  return copy;
}

/** Rows [from, to) of a side (all of a one-row side) for score() on this thread. */
function rowsHere(s: Side, from: number, to: number): Vector {
  if (s.shape.rows === 1) return s.v;
  const dim = s.shape.dim;
  return ArrayBuffer.isView(s.v) ? (s.v as Float64Array).subarray(from * dim, to * dim) : s.v.slice(from * dim, to * dim);
}

function isShared(v: Vector): boolean {
  return ArrayBuffer.isView(v) && typeof SharedArrayBuffer === "function" && v.buffer instanceof SharedArrayBuffer;
}

// Chunk buffers come back from the workers and are used again: fresh memory costs a page
// fault per 4 KiB, which for large batches cost more than the copy itself.
const SPARE_BYTES = CHUNK_ELEMENTS * 8;
const spares: ArrayBuffer[] = [];
function spare(bytes: number): ArrayBuffer {
  return bytes <= SPARE_BYTES ? (spares.pop() ?? new ArrayBuffer(SPARE_BYTES)) : new ArrayBuffer(bytes);
}
function giveBack(buffers: ArrayBuffer[]): void {
  for (const b of buffers) if (b.byteLength === SPARE_BYTES && spares.length < 16) spares.push(b);
}

/** A worker's error as the class the package throws (the in-process rerun then replaces it). */
function rebuild(e: { name: string; code?: string; message: string }): Error {
  if (e.name === "KLRangeError") return new KLRangeError(e.code as never, e.message);
  if (e.name === "KLTypeError") return new KLTypeError(e.code as never, e.message);
  return new Error(`kl-simd/parallel worker: ${e.message}`);
}

// ---------------------------------------------------------------------------------------
// The pool: workers started on first use and kept; unref'd while idle, so an idle pool does
// not keep the process alive. close() ends them.

interface Task {
  /** the call's thread count: the task runs on one of the first `threads` workers */
  threads: number;
  make(id: number): ChunkTask;
  settle(reply: ChunkReply): void;
  fail(error: unknown): void;
  /** scores the chunk on the calling thread */
  run(): void;
}

interface Slot {
  worker: Worker;
  running: Map<number, Task>;
}

class Pool {
  /** counts close() calls: a call that started before one rejects */
  generation = 0;
  private slots: Slot[] = [];
  private queue: Task[] = [];
  private nextId = 0;

  grow(threads: number): void {
    while (this.slots.length < threads) this.slots.push(this.start());
  }

  private start(): Slot {
    const worker = startWorker(new URL("./parallel-worker.js", import.meta.url));
    const slot: Slot = { worker, running: new Map() };
    worker.unref();
    worker.on("message", (reply: ChunkReply) => {
      giveBack(reply.inputs);
      const task = slot.running.get(reply.id);
      slot.running.delete(reply.id);
      if (slot.running.size === 0) worker.unref();
      task?.settle(reply);
      this.pump();
    });
    const lost = (error: unknown): void => {
      this.slots = this.slots.filter((s) => s !== slot);
      const tasks = [...slot.running.values()];
      slot.running.clear();
      for (const t of tasks) t.fail(error);
      // chunks still queued need a worker of their own
      const wanted = Math.max(0, ...this.queue.map((t) => t.threads));
      if (wanted > 0) {
        this.grow(wanted);
        this.pump();
      }
    };
    worker.on("error", lost);
    worker.on("exit", (code: number) => lost(new Error(`kl-simd/parallel: a worker exited (code ${code})`)));
    return slot;
  }

  enqueue(tasks: Task[]): void {
    this.queue.push(...tasks);
    this.pump();
  }

  /** Takes the first queued chunk of `tasks` (a call's), for the calling thread. */
  take(tasks: Task[]): Task | undefined {
    const i = this.queue.findIndex((t) => tasks.includes(t));
    return i < 0 ? undefined : this.queue.splice(i, 1)[0];
  }

  cancel(task: Task): void {
    const i = this.queue.indexOf(task);
    if (i >= 0) this.queue.splice(i, 1);
  }

  /** Hands queued chunks to workers with room, the least busy first. */
  private pump(): void {
    for (;;) {
      let best = -1;
      for (let w = 0; w < this.slots.length; w++) {
        const n = this.slots[w].running.size;
        if (n < IN_FLIGHT && (best < 0 || n < this.slots[best].running.size) && this.queue.some((t) => t.threads > w)) best = w;
      }
      if (best < 0) return;
      const slot = this.slots[best];
      const at = this.queue.findIndex((t) => t.threads > best);
      const [task] = this.queue.splice(at, 1);
      const id = this.nextId++;
      const message = task.make(id);
      const transfer = [message.p.buffer, message.q?.buffer].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
      if (slot.running.size === 0) slot.worker.ref(); // a call in progress keeps the process alive
      slot.running.set(id, task);
      slot.worker.postMessage(message, transfer);
    }
  }

  async close(): Promise<void> {
    const slots = this.slots, queued = this.queue;
    this.slots = [];
    this.queue = [];
    this.generation++;
    for (const t of queued) t.fail(closedError());
    await Promise.all(slots.map((s) => s.worker.terminate()));
    spares.length = 0;
  }
}

/**
 * A worker inherits the process's Node options, but one given --input-type (as with
 * `node --input-type=module -e …`) refuses to run a file: those go, with the -e/-p script.
 * An explicit list must not hold V8 flags either; they are process-wide, so a worker has
 * them anyway, and if the list is refused the worker starts with none.
 */
function startWorker(url: URL): Worker {
  const all = process.execArgv;
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

const closedError = (): Error => new Error("kl-simd/parallel: the pool was closed");

const pool = new Pool();

/**
 * Ends the pool's workers (calls in progress reject) and frees its buffers; a later
 * `scoreParallel` starts new ones. Not needed for the process to exit: idle workers are unref'd.
 */
export function close(): Promise<void> {
  return pool.close();
}
