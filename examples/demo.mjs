// npm start: the package at work. Computes the seed example, then scores a few thousand
// random distributions against a reference (drift monitoring) as one batch, on the SIMD
// kernel and on the JS fallback, with the time; then PSI and JS divergence of the same batch
// and an LLM-style comparison of two rows of logits.
import { backend, init, jsDistance, kl, psi, useBackend } from "../dist/index.js";

const selected = await init();
console.log(`kl-simd: init() selected "${selected}"`);

const p = [0.5, 0.5], q = [0.7, 0.3];
console.log(`\nSeed example: P = {0.5, 0.5}, Q = {0.7, 0.3}`);
console.log(`  D(P‖Q) = ${kl(p, q)} nats = ${kl(p, q, { base: 2 })} bits`);
console.log(`  D(Q‖P) = ${kl(q, p)} nats (KL is not symmetric)`);

// A reference histogram over 1024 bins and 4000 observed ones: most drift a little, a few a lot.
const bins = 1024, rows = 4000;
let seed = 2026;
const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const reference = new Float64Array(bins).map((_, i) => 1 + Math.sin(i / 40) ** 2);
// row-major: rows × bins in one Float64Array, the reference one row broadcast against all
const observed = new Float64Array(rows * bins);
for (let r = 0; r < rows; r++) {
  const drift = r % 100 === 0 ? 1.5 : 0.01;
  for (let i = 0; i < bins; i++) observed[r * bins + i] = reference[i] * (1 + drift * (random() - 0.5));
}

function score(name) {
  useBackend(name);
  const start = performance.now();
  const scores = kl(observed, reference, { dim: bins }); // one call; counts are normalised by default
  const ms = performance.now() - start;
  return { scores, ms };
}
const js = score("js");
const wasm = selected !== "js" ? score(selected) : js;
useBackend(selected);

const flagged = wasm.scores.filter((s) => s > 1e-3).length;
const maxDiff = Math.max(...wasm.scores.map((s, i) => Math.abs(s - js.scores[i]) / js.scores[i]));
console.log(`\nScored ${rows} histograms of ${bins} bins against a reference (${(rows * bins / 1e6).toFixed(1)} M elements):`);
console.log(`  ${selected.padEnd(9)} ${wasm.ms.toFixed(1).padStart(7)} ms  (${((rows * bins) / wasm.ms / 1e3).toFixed(0)} M elements/s)`);
console.log(`  js        ${js.ms.toFixed(1).padStart(7)} ms  (${((rows * bins) / js.ms / 1e3).toFixed(0)} M elements/s)`);
console.log(`  largest relative difference between the two: ${maxDiff.toExponential(1)}`);
console.log(`  ${flagged} of ${rows} drifted past KL = 1e-3 nats (expected ${rows / 100}); median KL ${median(wasm.scores).toExponential(3)}`);
// the same batch, as drift dashboards show it
const index = psi(observed, reference, { dim: bins });
const distance = jsDistance(observed, reference, { dim: bins, base: 2 });
const band = (lo, hi) => index.filter((x) => x >= lo && x < hi).length;
console.log(`  PSI: ${band(0.25, Infinity)} rows ≥ 0.25 (major shift), ${band(0.1, 0.25)} in 0.1–0.25 (moderate), ${band(0, 0.1)} < 0.1 (stable);` +
  ` mean JS distance (bits) ${(distance.reduce((a, b) => a + b, 0) / rows).toExponential(3)}`);

// two models' next-token logits over a 32k vocabulary, compared at temperature 2
const vocab = 32768;
const teacher = new Float32Array(vocab).map(() => 8 * (random() - 0.5));
const student = teacher.map((z) => z + 0.3 * (random() - 0.5));
console.log(`\nDistillation: KL(teacher ‖ student) over ${vocab} logits at T = 2: ${kl(teacher, student, { input: "logits", temperature: 2 }).toExponential(6)} nats`);
console.log(`\nbackend() now: ${backend()}`);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}
