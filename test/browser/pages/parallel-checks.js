// The checks of kl-simd/parallel that every runtime runs: Chromium's pages (parallel-page.js)
// and Node, Deno and Bun (test/runtimes/parallel.mjs, on the packed package). Runtime-neutral:
// the library's two entries and the fixture cases come in as arguments. Reports, not throws.
//  - every batch case of test/fixtures/score-cases.json (exact values from mpmath) through
//    scoreParallel: each value equal bit for bit to score()'s, and within 1e-12 of the exact one
//  - a larger batch on rows from allocate() (shared memory where the runtime has it)
//  - an invalid value late in the rows: score()'s error, by the caller's indices
//  - threads: 1000 clamped to the cores; close() after a rejected call and mid-call settles
const REL = 1e-12, ZERO = 1e-15;

function decode(v) {
  if (Array.isArray(v)) return Float64Array.from(v, (x) => (x === "-Infinity" ? -Infinity : x));
  const binary = atob(v.b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return Float64Array.from(v.enc === "f32le" ? new Float32Array(bytes.buffer) : new Float64Array(bytes.buffer));
}

const sameBits = (a, b) => (typeof b === "number" ? Object.is(a, b) : a.length === b.length && a.every((x, i) => Object.is(x, b[i])));
const near = (got, exact) => exact === Infinity ? got === Infinity : exact === 0 ? Math.abs(got) <= ZERO : Math.abs(got - exact) <= REL * Math.abs(exact);

/** Deterministic positive values (xorshift32). */
export function fill(v, seed) {
  let x = seed;
  for (let i = 0; i < v.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    v[i] = 1e-3 + (x >>> 0) / 4294967296;
  }
  return v;
}

async function knownAnswers({ score }, { scoreParallel }, cases, failures) {
  let runs = 0;
  for (const c of cases.filter((c) => c.category === "batch" && c.call === "pair")) {
    const p = decode(c.args.p), q = decode(c.args.q);
    const options = { ...c.options, ...(c.options.weights ? { weights: Float64Array.from(c.options.weights) } : {}) };
    for (const [measure, exact] of Object.entries(c.expected)) {
      if (measure === "klTerms") continue;
      const args = measure === "entropy" ? [p, null] : [p, q];
      const inProcess = score(measure, ...args, options);
      const parallel = await scoreParallel(measure, ...args, { ...options, threads: 2, minElements: 0 });
      runs++;
      if (!sameBits(parallel, inProcess)) failures.push(`${c.name} ${measure}: scoreParallel ${parallel} ≠ score() ${inProcess}`);
      const values = Array.isArray(exact) ? exact : [exact];
      const got = typeof parallel === "number" ? [parallel] : Array.from(parallel);
      if (values.some((e, i) => !near(got[i], e === "Infinity" ? Infinity : e))) failures.push(`${c.name} ${measure}: ${got} vs exact ${values}`);
    }
  }
  return runs;
}

/** Runs the checks; `cases`: the "cases" of score-cases.json. */
export async function checkParallel(lib, parallel, cases) {
  const { score } = lib;
  const { allocate, close, maxThreads, poolSize, scoreParallel } = parallel;
  await lib.init();
  const failures = [];
  const runs = await knownAnswers(lib, parallel, cases, failures);

  const dim = 64, rows = 20_000;
  const p = fill(allocate(rows * dim), 1), q = fill(allocate(rows * dim), 2);
  const sharedRows = typeof SharedArrayBuffer === "function" && p.buffer instanceof SharedArrayBuffer;
  for (const options of [{ dim }, { dim, reduction: "mean" }, { dim, callingThread: true }]) {
    const { callingThread: _, ...scoreOptions } = options;
    const inProcess = score("kl", p, q, scoreOptions);
    const got = await scoreParallel("kl", p, q, { ...options, threads: 2, minElements: 0 });
    if (!sameBits(got, inProcess)) failures.push(`large batch ${JSON.stringify(options)}: values differ from score()`);
  }
  const workers = poolSize();
  const many = await scoreParallel("kl", p, q, { dim, threads: 1000, minElements: 0 });
  if (!sameBits(many, score("kl", p, q, { dim })) || poolSize() > maxThreads()) failures.push(`threads 1000: ${poolSize()} workers for ${maxThreads()} cores`);

  const bad = p.slice();
  bad[(rows - 3) * dim + 5] = -1;
  const error = await scoreParallel("kl", bad, q, { dim, threads: 2, minElements: 0 }).then(() => null, (e) => e);
  if (error?.name !== "KLRangeError" || error.message !== `p[${(rows - 3) * dim + 5}] (row ${rows - 3}, column 5) is -1; values must be ≥ 0`) {
    failures.push(`bad value: ${error?.name}: ${error?.message}`);
  }
  await close(); // after a rejected call
  const running = scoreParallel("kl", p, q, { dim, threads: 2, minElements: 0 }).then(() => "resolved", (e) => e.code);
  await new Promise((r) => setTimeout(r, 5));
  await close(); // mid-call
  const midCall = await running;
  if (midCall !== "resolved" && midCall !== "KL_POOL_CLOSED") failures.push(`a call closed mid-way: ${midCall}`);
  return { runs, sharedRows, workers, maxThreads: maxThreads(), workersAfterClose: poolSize(), failures };
}
