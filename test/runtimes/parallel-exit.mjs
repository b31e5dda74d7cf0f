// `<runtime> parallel-exit.mjs`: a call of kl-simd/parallel and no close(): the idle pool must
// not keep the process alive (run.mjs requires the marker and exit code 0 within its timeout).
import { scoreParallel } from "kl-simd/parallel";

const p = new Float64Array(64 * 1000).fill(1), q = p.map((_, i) => 1 + (i % 3));
const mean = await scoreParallel("kl", p, q, { dim: 64, threads: 2, minElements: 0, reduction: "mean" });
console.log(JSON.stringify({ exited: "after a call, without close()", mean }));
