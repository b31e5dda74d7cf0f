// kl-simd/parallel's own failures: the pool's, and a file it cannot read (bad input is reported
// as score() reports it). Thrown on the calling thread and in workers alike.
export type ParallelErrorCode =
  | "KL_POOL_CLOSED" // close() was called while the call was queued or running
  | "KL_WORKER_LOST" // a worker died twice while scoring the same rows
  | "KL_FILE"; // scoreFileRows: a file cannot be opened or read, or ends before its rows do

/** The pool's own failures, and files that cannot be read (bad input is reported as score() reports it). */
export class KLParallelError extends Error {
  constructor(readonly code: ParallelErrorCode, message: string) {
    super(message);
    this.name = "KLParallelError";
  }
}

/** The error of a call that close() overtook. */
export const poolClosed = () => new KLParallelError("KL_POOL_CLOSED", "kl-simd/parallel: the pool was closed");
