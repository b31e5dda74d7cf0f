// npm run bench:floor: nanoseconds per element, kernels only (inputs already in wasm memory,
// 4096 doubles or 8192 floats, positive, in cache), in one run: the package's kernels, the
// stripped floor of bench/floor/stripped.ts (for f64 also with the lowest-degree series that
// keeps ln(p/q) within 1e-13), the plain JS loop, and a TypedArray copy of both inputs (what
// kl() adds per element for marshalling). Medians of 15 rounds.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";

const here = new URL(".", import.meta.url).pathname;
execFileSync("npx", ["asc", `${here}stripped.ts`, "-O3", "--runtime", "stub", "--enable", "simd", "--noAssert",
  "--use", "abort=", "--initialMemory", "4", "-o", `${here}../../build/stripped.wasm`], { stdio: "inherit" });
const load = async (file) => (await WebAssembly.instantiate(readFileSync(new URL(file, import.meta.url)), { Math: { log: Math.log } })).instance.exports;
const kernel = await load("../../build/kl.wasm");
const floor = await load("../../build/stripped.wasm");

function fill(mem, base, n, Type) {
  const v = new Type(mem.buffer, base, 2 * n);
  let x = 12345;
  for (let i = 0; i < 2 * n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    v[i] = -Math.log(((x >>> 0) + 1) / 4294967297); // Exp(1): Dirichlet(1) up to scale
  }
  return [v.subarray(0, n), v.subarray(n)];
}
function plain(p, q) {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += p[i] * Math.log(p[i] / q[i]);
  return s;
}
function nsPerElement(fn, n) {
  const rounds = [];
  for (let r = 0; r < 15; r++) {
    const reps = 400;
    const t = performance.now();
    for (let i = 0; i < reps; i++) fn();
    rounds.push(((performance.now() - t) * 1e6) / (reps * n));
  }
  return rounds.sort((a, b) => a - b)[7];
}

const rows = [];
for (const [name, Type, n, full, stripped] of [
  ["float32", Float32Array, 8192, (k, p, q, n) => k.klF32(p, q, n), (f, p, q, n) => f.strippedF32(p, q, n)],
  ["float64", Float64Array, 4096, (k, p, q, n) => k.klF64(p, q, n, 1), (f, p, q, n) => f.strippedF64(p, q, n)],
]) {
  const kb = kernel.scratchPtr(), fb = 65536;
  const bytes = n * Type.BYTES_PER_ELEMENT;
  const [kp, kq] = fill(kernel.memory, kb, n, Type);
  fill(floor.memory, fb, n, Type);
  const jsP = kp.slice(), jsQ = kq.slice(), into = new Type(2 * n);
  for (let w = 0; w < 200; w++) { full(kernel, kb, kb + bytes, n); stripped(floor, fb, fb + bytes, n); plain(jsP, jsQ); }
  const row = {
    type: name,
    "kl kernel": nsPerElement(() => full(kernel, kb, kb + bytes, n), n),
    "stripped kernel": nsPerElement(() => stripped(floor, fb, fb + bytes, n), n),
    "stripped, lowest adequate series": Type === Float64Array ? nsPerElement(() => floor.strippedF64Low(fb, fb + bytes, n), n) : NaN,
    "plain JS loop": nsPerElement(() => plain(jsP, jsQ), n),
    "copy p and q": nsPerElement(() => { into.set(jsP); into.set(jsQ, n); }, n),
  };
  rows.push(row);
}
console.log(`${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}: ns per element (median of 15)`);
console.table(rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "number" ? +v.toFixed(2) : v]))));
for (const r of rows) {
  const plainNs = r["plain JS loop"];
  const low = r["stripped, lowest adequate series"];
  console.log(`${r.type}: plain ÷ (kernel + copy) = ${(plainNs / (r["kl kernel"] + r["copy p and q"])).toFixed(2)}×; ` +
    `plain ÷ (stripped + copy) = ${(plainNs / (r["stripped kernel"] + r["copy p and q"])).toFixed(2)}×` +
    (Number.isNaN(low) ? "" : `; plain ÷ (stripped with the lowest adequate series + copy) = ${(plainNs / (low + r["copy p and q"])).toFixed(2)}×`));
}
