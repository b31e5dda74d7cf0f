// The known-answer set the browser tests run in every setting (main thread, worker, isolated
// page, CSPs, no SIMD): every case of test/fixtures/kl-cases.json (exact values from mpmath,
// see generate.py there) through the backend that init() selected, plus two values quoted in
// the README. Runs the same in a page and in a worker; reports instead of throwing.
const REL_F64 = 1e-12; // relative bound for any run through the f64 kernel / JS path
const REL_F32 = 1e-6; // Float32Array pairs: bound relative to the exact KL of the f32 values
const ZERO_F64 = 1e-15;
const ZERO_F32 = 1e-12;

// mpmath, 50 digits: kl([0.5,0.5],[0.7,0.3]) = 0.0871766935723888710636840…,
// kl([0.7,0.3],[0.5,0.5]) = 0.0822828785050517795760…
const QUOTED = [
  { name: "quoted/P‖Q", p: [0.5, 0.5], q: [0.7, 0.3], expected: 0.08717669357238887 },
  { name: "quoted/Q‖P", p: [0.7, 0.3], q: [0.5, 0.5], expected: 0.08228287850505178 },
];

// An empty module, and one function returning a v128 constant: which of them this engine accepts.
const EMPTY_MODULE = [0, 97, 115, 109, 1, 0, 0, 0];
const SIMD_MODULE = [...EMPTY_MODULE, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, ...new Array(16).fill(0), 11];

function engine() {
  if (typeof WebAssembly !== "object") return { webAssembly: false, simd: false };
  return { webAssembly: WebAssembly.validate(new Uint8Array(EMPTY_MODULE)), simd: WebAssembly.validate(new Uint8Array(SIMD_MODULE)) };
}

function decode(text, encoding) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const Ctor = { f64le: Float64Array, f32le: Float32Array, u32le: Uint32Array, u16le: Uint16Array, u8: Uint8Array }[encoding];
  return Array.from(new Ctor(bytes.buffer));
}

function check(got, expected, rel, zero, exactZero) {
  if (Number.isNaN(got)) return false;
  if (exactZero) return got === 0;
  if (expected === Infinity) return got === Infinity;
  if (expected === 0) return Math.abs(got) <= zero;
  return Math.abs(got - expected) <= rel * Math.abs(expected);
}

/** Runs the set with the package module `pkg`; resolves to a plain, cloneable summary. */
export async function runKnownAnswers(pkg, fixturesUrl) {
  const summary = { backend: null, backendAfter: null, runs: 0, failures: [], worstRel: 0, crossOriginIsolated: globalThis.crossOriginIsolated === true, engine: null };
  try {
    summary.engine = engine();
    summary.backend = await pkg.init();
    const doc = await (await fetch(fixturesUrl)).json();
    const runs = [];
    for (const c of doc.cases) {
      const p = c.p ?? decode(c.p_b64, c.encoding);
      const q = c.q ?? decode(c.q_b64, c.encoding);
      const options = c.base === null ? { normalize: c.normalize } : { normalize: c.normalize, base: c.base };
      const expected = c.expected === "Infinity" ? Infinity : c.expected;
      const exactZero = c.exact_zero === true;
      runs.push({ name: `${c.name} [Float64Array]`, p: Float64Array.from(p), q: Float64Array.from(q), options, expected, exactZero, f32: false });
      if (c.kind === "f64") runs.push({ name: `${c.name} [number[]]`, p, q, options, expected, exactZero, f32: false });
      else runs.push({ name: `${c.name} [Float32Array]`, p: Float32Array.from(p), q: Float32Array.from(q), options, expected, exactZero, f32: true });
    }
    for (const c of QUOTED) runs.push({ ...c, options: {}, exactZero: false, f32: false });
    for (const r of runs) {
      let got;
      try {
        got = pkg.kl(r.p, r.q, r.options);
      } catch (error) {
        summary.failures.push(`${r.name}: threw ${error}`);
        continue;
      }
      summary.runs++;
      const ok = check(got, r.expected, r.f32 ? REL_F32 : REL_F64, r.f32 ? ZERO_F32 : ZERO_F64, r.exactZero);
      if (Number.isFinite(r.expected) && r.expected !== 0 && !r.f32) {
        summary.worstRel = Math.max(summary.worstRel, Math.abs(got - r.expected) / Math.abs(r.expected));
      }
      if (!ok) summary.failures.push(`${r.name}: got ${got}, expected ${r.expected}`);
    }
    summary.backendAfter = pkg.backend();
  } catch (error) {
    summary.failures.push(`run failed: ${error && error.stack ? error.stack : error}`);
  }
  return summary;
}
