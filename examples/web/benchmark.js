// "Benchmark in this browser": kl() on the SIMD path (or the JS fallback where that is what
// init() selected) against the loop a user would write, on 10⁶ elements of each float type.
import { backend, kl } from "../../dist/index.js";

const N = 1_000_000;
const ROUNDS = 9; // timed calls of each; the median is shown

// The loop kl() is measured against: no validation, NaN for pᵢ = 0, digits lost near p = q.
function plainLoop(p, q) {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += p[i] * Math.log(p[i] / q[i]);
  return s;
}

// Two normalised random vectors (values in (0, 1], then divided by the sum), so both sides
// compute the same quantity.
function randomPair(Type, seed) {
  const make = () => {
    const v = new Type(N);
    let sum = 0;
    for (let i = 0; i < N; i++) {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      v[i] = ((seed >>> 0) + 1) / 2 ** 32;
      sum += v[i];
    }
    for (let i = 0; i < N; i++) v[i] /= sum;
    return v;
  };
  return [make(), make()];
}

function median(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  return s[s.length >> 1];
}

function time(fn) {
  const start = performance.now();
  const result = fn();
  return { ms: performance.now() - start, result };
}

/** Runs both float types; resolves to rows { type, klMs, loopMs, ratio, klResult, loopResult }. */
export async function runBenchmark(onProgress = () => {}) {
  const path = backend();
  const rows = [];
  for (const Type of [Float64Array, Float32Array]) {
    onProgress(`${Type.name}: preparing`);
    await new Promise((resolve) => setTimeout(resolve, 0)); // let the page paint
    const [p, q] = randomPair(Type, 2026);
    const klTimes = [];
    const loopTimes = [];
    let klResult = 0;
    let loopResult = 0;
    for (let round = -2; round < ROUNDS; round++) { // two rounds of warm-up
      const a = time(() => kl(p, q));
      const b = time(() => plainLoop(p, q));
      if (round >= 0) {
        klTimes.push(a.ms);
        loopTimes.push(b.ms);
      }
      klResult = a.result;
      loopResult = b.result;
    }
    const klMs = median(klTimes);
    const loopMs = median(loopTimes);
    rows.push({ type: Type.name, path, klMs, loopMs, ratio: loopMs / klMs, klResult, loopResult });
    onProgress(`${Type.name}: done`);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return rows;
}

export const BENCHMARK_SIZE = N;
