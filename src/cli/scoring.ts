// The one place the command line calls the library: a block of rows is scored by a single
// call. Injectable, so a multi-threaded scorer (--threads) can take the in-process one's place
// without the readers, writers or error handling knowing.
import { score, topK, type BatchOptions, type MeasureName, type TopK } from "../index.js";
import { maxThreads, scoreFileRows, scoreParallel, type FileRows } from "../parallel/api.js";
import type { Values } from "./readers.js";

export interface Scoring {
  /** every row of p (rows × dim) against q (one row, broadcast, or rows × dim) */
  score(measure: MeasureName, p: Values, q: Values | null, options: BatchOptions): Float64Array;
  /** a whole block on worker threads (--threads > 1); `score` serves the row-by-row retries */
  scoreMany?: (measure: MeasureName, p: Values, q: Values | null, options: BatchOptions) => Promise<Float64Array>;
  /** a block of a binary file whose rows the worker threads read themselves (--threads > 1) */
  scoreFile?: (measure: MeasureName, p: FileRows, q: Values | FileRows | null, options: BatchOptions) => Promise<Float64Array>;
  /** the k nearest candidates of every query row */
  topK(measure: MeasureName, queries: Values, candidates: Values, options: BatchOptions & { k: number }): TopK;
  /** what runs, for --stats: "in-process" */
  readonly name: string;
}

export const inProcess: Scoring = {
  score: (measure, p, q, options) => score(measure, p, q, options) as Float64Array,
  topK,
  name: "in-process",
};

/**
 * The scorer for --threads N: blocks go to kl-simd/parallel's worker pool (which scores small
 * blocks in-process itself, where threads would cost more than they save); top-k and the
 * row-by-row retries of a block with a bad row stay in-process.
 */
export function scoringFor(asked: number): Scoring {
  // as the library clamps it: more threads than cores only add memory and switching
  const threads = Math.min(asked, maxThreads());
  if (threads <= 1) return inProcess;
  let scored = 0;
  return {
    ...inProcess,
    scoreMany: async (measure, p, q, options) => {
      scored += p.length;
      if (scored <= IN_PROCESS_VALUES) return inProcess.score(measure, p, q, options);
      // this thread scores chunks too (one worker fewer: less memory, no copy for its share)
      return (await scoreParallel(measure, p, q, { ...options, threads, callingThread: true })) as Float64Array;
    },
    // this thread reads and scores chunks too: it starts at once, while the workers start
    // (~100 ms), and has little else to do (writing the values)
    scoreFile: (measure, p, q, options) => scoreFileRows(measure, p, q, { ...options, threads, callingThread: true }),
    name: `${threads} threads`,
  };
}

// Values a run scores in-process before it starts worker threads: starting the pool (tens of
// ms) pays only on inputs larger than that (measured: 1e6 rows × 16 ran slower on 2 threads).
const IN_PROCESS_VALUES = 2 ** 24;
