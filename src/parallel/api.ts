// kl-simd/parallel (docs/parallel.md): score() with a batch's rows spread over a pool of
// workers, each running the same score() on chunks of rows, so every row's value is bit for bit
// the in-process one; weights and reductions are applied here, by score() too (reduce.ts).
import { backend, init, KLRangeError, KLTypeError, score, type BatchOptions, type MeasureName, type ScoreResult, type Vector } from "../index.js";
import { KLParallelError, poolClosed } from "./errors.js";
import { Pool, type Chunk } from "./pool.js";
import { reduceRows } from "./reduce.js";
import { checkFile, COPY_CHUNK_ELEMENTS, copiedRows, dropSpares, rowsFor, rowsHere, type FileRows, type Rows } from "./rows.js";
import { availableCores, nextTurn, node } from "./runtime.js";
import { startNodeThread } from "./node-thread.js";
import { startWebWorker } from "./web-worker.js";

export { allocate, sharedMemory, type FileRows } from "./rows.js";
export { KLParallelError, type ParallelErrorCode } from "./errors.js";

/** Options of `scoreParallel`: the batch options of `score`, and how to spread the rows. */
export interface ParallelOptions extends BatchOptions {
  /** Threads to use, default `maxThreads()`; more are clamped to it (they would only add memory and switching). */
  threads?: number;
  /** Batches of fewer elements (rows × dim) run in-process (default `PARALLEL_MIN_ELEMENTS`). */
  minElements?: number;
  /**
   * The calling thread scores chunks too, one per event-loop turn, and counts as one of `threads`.
   * Default: true where rows are copied to the workers (the copying keeps this thread busy anyway,
   * and its own chunks need no copy), false where every side is read in place.
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

// Chunks a thread, for rows read in place: few (each costs a message), but more than one, so
// that a thread slowed by other work hands part of its share to the others.
const IN_PLACE_CHUNKS_PER_THREAD = 4;

/** The most threads a call uses, and the default: the cores this process may run on. */
export function maxThreads(): number {
  return availableCores();
}

/** @deprecated the same as `maxThreads()` */
export const defaultThreads = maxThreads;

const pool = new Pool(node !== null ? startNodeThread : startWebWorker, new URL("./parallel-worker.js", import.meta.url));

/**
 * `score(measure, p, q, options)` with the rows spread over workers: the same values bit for
 * bit (per row, or their "sum"/"mean"/weights), as a promise. Needs `options.dim` (without
 * it, or below `minElements`, it scores in-process). Errors are the ones `score` throws, with
 * the same class, code and message (indices into the caller's arrays); the pool's own are
 * `KLParallelError`s ("KL_POOL_CLOSED", "KL_WORKER_LOST"). `p`, `q` and `options.weights` are
 * read while the call runs, not at the call (nothing before its first await): leave them
 * unchanged until the promise settles, or the result can mix old and new rows.
 */
export async function scoreParallel<O extends ParallelOptions>(measure: MeasureName, p: Vector, q: Vector | null, options: O): Promise<ScoreResult<O>> {
  const { threads, minElements, callingThread, scoreOptions } = await start(options);
  // score() on the whole input decides whatever is not a plain batch, and reports every error
  const inProcess = (): ScoreResult<O> => score(measure, p, q, scoreOptions) as ScoreResult<O>;
  const shape = batchShape(measure, p, q, scoreOptions.dim);
  if (shape === null) return inProcess();
  const [ps, qs, rows] = shape;
  const here = callingThread ?? copiedRows(ps, qs);
  if (rows * ps.dim < minElements || rows < 2 || (here && threads === 1)) return inProcess();

  const { reduction, weights, ...perRow } = scoreOptions;
  try {
    // the measure and the options, as score() checks them, on one row before any copying
    score(measure, rowsHere(ps, 0, 1), qs === null ? null : rowsHere(qs, 0, 1), perRow);
  } catch {
    return inProcess();
  }
  let values: Float64Array;
  try {
    values = await spread(measure, ps, qs, rows, perRow, threads, here);
  } catch (error) {
    // score() names the first invalid element of the whole input by the caller's indices
    // (a chunk knows only its own); it throws that, or (never yet) returns the right values
    if (error instanceof KLRangeError || error instanceof KLTypeError) return inProcess();
    throw error;
  }
  if (reduction === undefined && weights === undefined) return values as ScoreResult<O>;
  return (reduceRows(values, reduction, weights) ?? inProcess()) as ScoreResult<O>;
}

/** The options of a call checked, `threads` clamped, the package ready; before any work. */
async function start(options: ParallelOptions) {
  const { threads: asked = maxThreads(), minElements = PARALLEL_MIN_ELEMENTS, callingThread, ...rest } = (options ?? {}) as ParallelOptions;
  for (const [name, value, ok] of [["threads", asked, Number.isInteger(asked) && asked >= 1], ["minElements", minElements, minElements >= 0]] as const) {
    const wanted = name === "threads" ? "a positive integer" : "a number ≥ 0";
    if (typeof value !== "number") throw new KLTypeError("KL_BAD_OPTION", `options.${name} must be ${wanted}, got ${typeof value}`);
    if (!ok) throw new KLRangeError("KL_BAD_OPTION", `options.${name} must be ${wanted}, got ${value}`);
  }
  if (callingThread !== undefined && typeof callingThread !== "boolean") throw new KLTypeError("KL_BAD_OPTION", `options.callingThread must be a boolean, got ${typeof callingThread}`);
  const generation = pool.generation;
  await init();
  if (pool.generation !== generation) throw poolClosed();
  return { threads: Math.min(asked, maxThreads()), minElements, callingThread, scoreOptions: rest as BatchOptions };
}

/**
 * Node and Deno: per-row values of `measure` for rows the workers read from a file themselves
 * (.npy data, a raw f32/f64 file), in chunks of ~2 MiB; with `callingThread: true` this thread
 * reads and scores chunks too. `q` may be rows in memory (one row is broadcast) or in a file.
 * Per-row options only. Bad values are score()'s errors with the whole file's indices (found
 * again on this thread, window by window, so an error costs reading the file up to it); a file
 * that cannot be read, or ends before its rows, is a `KLParallelError` "KL_FILE". The files and
 * `q` are read while the call runs, not at the call: leave them unchanged until it settles, or
 * the result can mix old and new rows.
 */
export async function scoreFileRows(measure: MeasureName, p: FileRows, q: Vector | FileRows | null, options: ParallelOptions): Promise<Float64Array> {
  const { threads, callingThread, scoreOptions } = await start(options);
  if (node === null) throw new KLTypeError("KL_BAD_OPTION", "scoreFileRows reads files: Node and Deno only");
  const { reduction, weights } = scoreOptions;
  if (reduction !== undefined || weights !== undefined) throw new KLRangeError("KL_BAD_OPTION", "scoreFileRows gives per-row values: options.reduction and options.weights do not apply");
  const files = q !== null && "file" in q ? [p, q] : [p];
  for (const s of files) checkFileRows(s, scoreOptions.dim);
  const qs = q === null || "file" in q ? q : rowsOf(q, p.dim);
  if (q !== null && qs === null) {
    // score() names what is wrong with q (its type, a Proxy, its length), beside a row that
    // every measure and input kind accepts
    score(measure, new Float64Array(p.dim).fill(1), q as Vector, scoreOptions);
    throw new KLRangeError("KL_BAD_SHAPE", `q must be one row of ${p.dim} values, or rows of them`);
  }
  if (qs !== null && qs.rows !== 1 && qs.rows !== p.rows) throw new KLRangeError("KL_BAD_SHAPE", `p has ${p.rows} rows and q has ${qs.rows}: they must match, or q must be a single row`);
  for (const s of files) checkFile(s);
  const here = callingThread === true && threads > 1;
  const used = measure === "entropy" ? null : qs;
  try {
    return await spread(measure, p, used, p.rows, scoreOptions, threads, here);
  } catch (error) {
    if (!(error instanceof KLRangeError || error instanceof KLTypeError)) throw error;
    // a chunk names its own rows: score() here names the first bad one in the whole file's
    throw placeError(measure, p, used, scoreOptions, error);
  }
}

/**
 * score()'s error for a file call's rows, window by window in row order on this thread, with
 * its indices moved from the window's to the whole file's: what score() says for the rows
 * loaded whole, where the first window with a bad row holds its only kind of problem (score()
 * checks every value of p, then of q, then the rows' sums; windows do that per window).
 * Windows of ≥ 2 rows, so that score() names an element's or a row's place as for many rows
 * ("p[37] (row 2, column 5)", "p row 2": sides.ts at() and rowName()), never the bare "p" it
 * uses for a single row. Only the sides with rows of their own move; a broadcast q stays put.
 */
function placeError(measure: MeasureName, p: FileRows, q: Rows | FileRows | null, options: BatchOptions, error: Error): Error {
  const size = Math.max(2, Math.floor(COPY_CHUNK_ELEMENTS / p.dim));
  const moving = q !== null && q.rows > 1 ? "p|q" : "p";
  for (let start = 0; start < p.rows; start += size) {
    const from = Math.max(0, Math.min(start, p.rows - 2)), to = Math.min(p.rows, start + size);
    try {
      score(measure, rowsHere(p, from, to), q === null ? null : rowsHere(q, from, to, 1), options);
    } catch (e) {
      if (!(e instanceof KLRangeError || e instanceof KLTypeError) || from === 0) throw e;
      const message = e.message
        .replace(new RegExp(`^(${moving})\\[(\\d+)\\]( \\(row (\\d+), column (\\d+)\\))?`), (_, name: string, i: string, place?: string, row?: string, column?: string) =>
          `${name}[${Number(i) + from * p.dim}]${place === undefined ? "" : ` (row ${Number(row) + from}, column ${column})`}`)
        .replace(new RegExp(`^(${moving}) row (\\d+)`), (_, name: string, row: string) => `${name} row ${Number(row) + from}`);
      return e instanceof KLRangeError ? new KLRangeError(e.code, message) : new KLTypeError(e.code, message);
    }
  }
  return error; // no window fails now: the file changed during the call
}

function checkFileRows(s: FileRows, dim: number): void {
  const integer = (x: unknown, least: number) => typeof x === "number" && Number.isSafeInteger(x) && x >= least;
  if (typeof s.file !== "string" || (s.type !== "f32" && s.type !== "f64")) throw new KLTypeError("KL_BAD_OPTION", "file rows need a file name and a type, \"f32\" or \"f64\"");
  if (!integer(s.offset, 0) || !integer(s.rows, 1) || !integer(s.dim, 1) || s.dim !== dim) {
    throw new KLRangeError("KL_BAD_OPTION", `file rows need an offset ≥ 0, rows ≥ 1 and dim = options.dim (${dim}), got ${s.offset}, ${s.rows}, ${s.dim}`);
  }
}

/** The sides and row count of a batch, or null where score() must decide (and throw). */
function batchShape(measure: MeasureName, p: Vector, q: Vector | null, dim: unknown): [Rows, Rows | null, number] | null {
  if (typeof dim !== "number" || !Number.isInteger(dim) || dim < 1) return null;
  const ps = rowsOf(p, dim);
  if (ps === null) return null;
  if (measure === "entropy") return [ps, null, ps.rows];
  const qs = rowsOf(q, dim);
  if (qs === null || (ps.rows !== qs.rows && ps.rows !== 1 && qs.rows !== 1)) return null;
  return [ps, qs, Math.max(ps.rows, qs.rows)];
}

/** A side as rows of `dim`, or null if it is not an array of whole rows. */
function rowsOf(v: unknown, dim: number): Rows | null {
  // isView: a Proxy of a typed array (or an object inheriting from one) passes instanceof, but
  // its length throws; score() names it (KL_NOT_ARRAY), as it names a detached one (length 0)
  const ok = ArrayBuffer.isView(v) ? v instanceof Float64Array || v instanceof Float32Array : Array.isArray(v);
  if (!ok || (v as Vector).length === 0 || (v as Vector).length % dim !== 0) return null;
  return { v: v as Vector, rows: (v as Vector).length / dim, dim };
}

/** Per-row values of the whole batch, from chunks of rows on `threads` threads. */
function spread(measure: MeasureName, p: Rows | FileRows, q: Rows | FileRows | null, rows: number, options: BatchOptions, threads: number, here: boolean): Promise<Float64Array> {
  // Copied rows, and rows read from a file: at most COPY_CHUNK_ELEMENTS a side, so the copies
  // stay in cache. Rows read in place: a few chunks a thread. Either way at least two a thread.
  const most = copiedRows(p, q) ? Math.floor(COPY_CHUNK_ELEMENTS / p.dim) : Math.ceil(rows / (IN_PLACE_CHUNKS_PER_THREAD * threads));
  const rowsPerChunk = Math.max(1, Math.min(most, Math.ceil(rows / (2 * threads))));
  const count = Math.ceil(rows / rowsPerChunk);
  const out = new Float64Array(rows);
  const active = backend();
  const owner = {};
  return new Promise((done, fail) => {
    let left = count; // chunks to go; 0 once the call has settled
    const finished = (from: number, values: Float64Array): void => {
      if (left === 0) return;
      out.set(values, from);
      if (--left === 0) done(out);
    };
    const failed = (error: unknown): void => {
      if (left === 0) return;
      left = 0;
      pool.cancel(owner);
      fail(error);
    };
    const chunks: Chunk[] = [];
    for (let c = 0; c < count; c++) {
      const from = c * rowsPerChunk, to = Math.min(rows, from + rowsPerChunk);
      chunks.push({
        owner,
        threads: here ? threads - 1 : threads,
        attempts: 0,
        make: (id) => ({ id, measure, p: rowsFor(p, from, to), q: q === null ? null : rowsFor(q, from, to), options, backend: active }),
        settle: (reply) => ("error" in reply ? failed(rebuild(reply.error)) : finished(from, reply.values)),
        fail: failed,
      });
    }
    pool.enqueue(chunks);
    if (!here) return;
    // a chunk a turn on this thread, so the workers' replies (and their next chunks) are
    // handled in between; views of the caller's rows, no copy
    const step = (): void => {
      const chunk = pool.take(owner);
      if (chunk === undefined || left === 0) return;
      const from = chunks.indexOf(chunk) * rowsPerChunk, to = Math.min(rows, from + rowsPerChunk);
      try {
        finished(from, score(measure, rowsHere(p, from, to), q === null ? null : rowsHere(q, from, to, 1), options) as Float64Array);
      } catch (error) {
        failed(error);
      }
      nextTurn(step);
    };
    nextTurn(step);
  });
}

/** A worker's error as the class the package throws (score() in-process then replaces it). */
function rebuild(e: { name: string; code?: string; message: string }): Error {
  if (e.name === "KLRangeError") return new KLRangeError(e.code as never, e.message);
  if (e.name === "KLTypeError") return new KLTypeError(e.code as never, e.message);
  if (e.name === "KLParallelError") return new KLParallelError(e.code as never, e.message);
  return new Error(`kl-simd/parallel worker: ${e.message}`);
}

/**
 * Ends the pool's workers (calls in progress reject with KL_POOL_CLOSED) and frees its
 * buffers; settles once every worker is gone. A later `scoreParallel` starts new ones. Not
 * needed for a Node or Bun process to exit: idle workers do not hold it.
 */
export async function close(): Promise<void> {
  await pool.close();
  dropSpares();
}

/** Workers running now (for tests and monitoring). */
export function poolSize(): number {
  return pool.size;
}
