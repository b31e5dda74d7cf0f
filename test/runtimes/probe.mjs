// The known-answer set, run against whatever `kl-simd` resolves to in the runtime at hand (the
// installed tarball; the workerd condition in workerd). Runtime-neutral: no Node APIs, so
// Node, Deno, Bun and a Worker all run this same file. cases.json is written beside it by
// run.mjs: fixtures from test/fixtures/kl-cases.json (mpmath) with up to 300 elements.
import { backend, init, kl, KLRangeError, KLTypeError } from "kl-simd";
import cases from "./cases.json" with { type: "json" };

/** Runs every case; returns the backend init() selected and the failures, if any. */
export async function probe(source) {
  const selected = await init(source);
  const failures = [];
  const fail = (name, got, want) => failures.push(`${name}: got ${got}, expected ${want}`);

  // the README's example, as a number[] (the f64 kernel)
  const seed = kl([0.5, 0.5], [0.7, 0.3]);
  if (Math.abs(seed / 0.08717669357238884 - 1) > 1e-15) fail("seed", seed, 0.08717669357238884);

  for (const c of cases) {
    const f32 = c.kind === "f32";
    const Vec = f32 ? Float32Array : Float64Array;
    const options = { normalize: c.normalize, ...(c.base === null ? {} : { base: c.base }) };
    const got = kl(new Vec(c.p), new Vec(c.q), options);
    const want = c.expected === "Infinity" ? Infinity : c.expected;
    const ok =
      want === Infinity ? got === Infinity
      : want === 0 ? (c.exact_zero ? got === 0 : Math.abs(got) <= (f32 ? 1e-12 : 1e-15))
      : Math.abs(got / want - 1) <= (f32 ? 1e-6 : 1e-12);
    if (!ok) fail(c.name, got, want);
  }

  // typed errors survive the bundling
  const code = (fn) => { try { fn(); } catch (e) { return e instanceof KLRangeError || e instanceof KLTypeError ? e.code : String(e); } };
  if (code(() => kl([1], [1, 2])) !== "KL_LENGTH_MISMATCH") fail("length mismatch", code(() => kl([1], [1, 2])), "KL_LENGTH_MISMATCH");
  if (code(() => kl("ab", [1])) !== "KL_NOT_ARRAY") fail("not an array", code(() => kl("ab", [1])), "KL_NOT_ARRAY");

  return { selected, backend: backend(), cases: cases.length + 3, failures };
}
