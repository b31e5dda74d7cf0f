// node bench/logits-kernel.mjs (after npm run build:wasm): ns/element of the logits kernel
// (build/kl.wasm, called directly) next to the plain JS loop a user would write for the same
// max-subtracted log-softmax KL (Math.exp, Math.log), on 128k-element rows of N(0, 3) logits.
//
//   KL pass alone, in cache:     logitsKL over one 4096-element chunk pair (64 KiB), repeated
//   KL pass alone, not in cache: logitsKL over ROWS row pairs (ROWS·2 MiB, past L3), in turn
//   whole row:                   max, Σexp and KL passes in 4096-element chunks with the JS
//                                glue a wrapper needs, against the three JS loops
// Times are medians of REPS runs; the machine may be shared, so read ratios, not absolutes.
import { readFileSync } from "node:fs";

const N = 128 * 1024;
const CHUNK = 4096;
const ROWS = Number(process.env.LOGITS_BENCH_ROWS ?? 24);
const REPS = Number(process.env.LOGITS_BENCH_REPS ?? 15);
const T = 0.7;

const { instance } = await WebAssembly.instantiate(readFileSync(new URL("../build/kl.wasm", import.meta.url)), { Math: { log: Math.log } });
const w = instance.exports;

// deterministic N(0, 3) logits (xorshift32 + Box–Muller)
let seed = 20261126;
function uniform() {
  seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
  return ((seed >>> 0) + 1) / 4294967297;
}
function logits(n) {
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = 3 * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return v;
}

// ROWS pairs of rows, a then b, from scratchPtr() on
const base = w.scratchPtr();
const bytes = base + ROWS * 2 * N * 8;
if (bytes > w.memory.buffer.byteLength) w.memory.grow(Math.ceil((bytes - w.memory.buffer.byteLength) / 65536));
const rowA = (r) => base + r * 2 * N * 8;
const rowB = (r) => rowA(r) + N * 8;
const jsRows = [];
for (let r = 0; r < ROWS; r++) {
  const a = logits(N), b = logits(N);
  new Float64Array(w.memory.buffer, rowA(r), N).set(a);
  new Float64Array(w.memory.buffer, rowB(r), N).set(b);
  if (r < 2) jsRows.push([a, b]);
}

function median(f, elements) {
  const t = [];
  for (let k = 0; k < REPS; k++) {
    const t0 = process.hrtime.bigint();
    f(k);
    t.push(Number(process.hrtime.bigint() - t0) / elements);
  }
  t.sort((x, y) => x - y);
  return t[t.length >> 1];
}

// the row's statistics, from the kernel (exact enough for timing the KL pass)
const invT = 1 / T;
function stats(p, n) {
  let m = -Infinity;
  for (let i = 0; i < n; i += CHUNK) m = Math.max(m, w.logitsMax(p + 8 * i, Math.min(CHUNK, n - i)));
  let s = 0;
  for (let i = 0; i < n; i += CHUNK) s += w.logitsSumExp(p + 8 * i, Math.min(CHUNK, n - i), m, invT);
  return [m, Math.log(s)];
}
const [ma, la] = stats(rowA(0), N), [mb, lb] = stats(rowB(0), N);

let sink = 0;
// KL pass over one chunk, in cache
const inCache = median(() => {
  for (let k = 0; k < N / CHUNK; k++) sink += w.logitsKL(rowA(0), rowB(0), CHUNK, ma, mb, invT, la, lb);
}, N);
// KL pass over a whole row, a different one each time (all ROWS are cycled before a repeat)
const notInCache = median((k) => {
  const r = k % ROWS;
  for (let i = 0; i < N; i += CHUNK) sink += w.logitsKL(rowA(r) + 8 * i, rowB(r) + 8 * i, CHUNK, ma, mb, invT, la, lb);
}, N);

// the whole row through the kernel, as a wrapper would (chunks, compensation left out)
function wasmRow(pa, pb) {
  const [ma, la] = stats(pa, N), [mb, lb] = stats(pb, N);
  let t = 0, pd = 0;
  const res = new Float64Array(w.memory.buffer, w.logitsResultsPtr(), 1);
  for (let i = 0; i < N; i += CHUNK) {
    t += w.logitsKL(pa + 8 * i, pb + 8 * i, CHUNK, ma, mb, invT, la, lb);
    pd += res[0];
  }
  return w.logitsFinish(t, pd);
}

// plain JS: the same max-subtracted log-softmax and Σ p·(ln p − ln q)
function jsMaxLogSum(x) {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > m) m = x[i];
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp((x[i] - m) * invT);
  return [m, Math.log(s)];
}
function jsKL(a, b, ma, mb, la, lb) {
  let kl = 0;
  for (let i = 0; i < a.length; i++) {
    const lp = (a[i] - ma) * invT - la;
    const lq = (b[i] - mb) * invT - lb;
    kl += Math.exp(lp) * (lp - lq);
  }
  return kl;
}
function jsRow(a, b) {
  const [ma, la] = jsMaxLogSum(a), [mb, lb] = jsMaxLogSum(b);
  return jsKL(a, b, ma, mb, la, lb);
}

const [a0, b0] = jsRows[0];
for (let k = 0; k < 3; k++) sink += jsRow(a0, b0) + wasmRow(rowA(0), rowB(0)); // warm-up
const jsKLPass = median(() => { sink += jsKL(a0, b0, ma, mb, la, lb); }, N);
const jsWhole = median((k) => { const [a, b] = jsRows[k & 1]; sink += jsRow(a, b); }, N);
const wasmWhole = median((k) => { sink += wasmRow(rowA(k % ROWS), rowB(k % ROWS)); }, N);

const agree = Math.abs(wasmRow(rowA(0), rowB(0)) - jsRow(a0, b0)) / jsRow(a0, b0);
const f = (x) => x.toFixed(2).padStart(6);
console.log(`logits KL, rows of ${N} f64 logits, T = ${T}, ${REPS} runs each (median), node ${process.version}`);
console.log(`  KL pass, in cache      wasm ${f(inCache)} ns/element   JS ${f(jsKLPass)}   ratio JS/wasm ${(jsKLPass / inCache).toFixed(2)}x`);
console.log(`  KL pass, not in cache  wasm ${f(notInCache)} ns/element   JS ${f(jsKLPass)}   ratio JS/wasm ${(jsKLPass / notInCache).toFixed(2)}x`);
console.log(`  whole row (3 passes)   wasm ${f(wasmWhole)} ns/element   JS ${f(jsWhole)}   ratio JS/wasm ${(jsWhole / wasmWhole).toFixed(2)}x`);
console.log(`  (wasm and JS results agree to ${agree.toExponential(1)}; ${sink > 0 ? "" : "!"}sink)`);
