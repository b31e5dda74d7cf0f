// npm run bench: elements/second of kl() on the SIMD kernel (marshalling included), on the
// JS fallback, of the plain loop a user would write, and of the libraries a user would
// otherwise pick (bench/peers.mjs: ml-distance, mathjs, TensorFlow.js on its wasm and cpu
// backends, ONNX Runtime Web on its wasm backend), all in this one run, and each peer's relative
// error against kl-simd's value on the same inputs. Each row (type, n) runs in a process of its own, so the JIT
// state one size leaves cannot skew the next; within a row all are measured side by side.
// Prints Markdown tables and writes bench/RESULTS.md, the two tables of docs/performance.md and
// the README's short comparison, with the machine and its load named. Without the libraries
// (`npm run bench:install`) it measures kl-simd and the loop only, and writes nothing.
import { Bench } from "tinybench";
import { cpus, loadavg, totalmem } from "node:os";
import { readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { init, kl, useBackend } from "../dist/index.js";
import { INSTALL_HINT, ORT_HINT, loadPeers, peerVersions, plainLoop32, plainLoop64 } from "./peers.mjs";

const SIZES = (process.env.KL_BENCH_SIZES ?? "10,16,100,1000,10000,100000,1000000,10000000").split(",").map(Number);
const TIME_MS = Number(process.env.KL_BENCH_TIME ?? 150); // per task and round
const ROUNDS = 5;
// A peer is not measured at a size where one call takes longer than this, nor above it
// (mathjs at 10⁷ takes seconds a call).
const CAP_MS = Number(process.env.KL_BENCH_CAP_MS ?? 2000);

// Deterministic Dirichlet(1) vectors: normalised exponential variates.
function dirichlet(n, seed, Type) {
  let x = seed >>> 0;
  const v = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; // xorshift32
    v[i] = -Math.log(((x >>> 0) + 1) / 4294967297);
    sum += v[i];
  }
  for (let i = 0; i < n; i++) v[i] /= sum;
  return new Type(v);
}

let sink = 0;
// kl(p, q, { normalize: false }) on the kernel: the kl-simd table's ratio to the normalised call
const UNNORMALISED = "kl wasm-simd normalize:false";
const PLAIN_SUM = { normalize: false };
// A closure that calls a peer's fn(p, q) reps times. Each peer gets its own copy, compiled apart
// (so with its own type feedback, as a user's own call site has): one call site shared by all
// peers goes megamorphic, and V8 then stops inlining the fast ones (ml-distance).
// An async peer (onnxruntime-web) is awaited each call.
const repeater = (fn, p, q, reps, async) =>
  new Function("fn", "p", "q", "reps", `return ${async ? "async " : ""}() => { let s = 0; for (let r = 0; r < reps; r++) s += ${async ? "await " : ""}fn(p, q); return s; };`)(fn, p, q, reps);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function measureRow(Type, n, withPeers, skip) {
  const backendName = await init();
  if (backendName === "js") console.warn(`warning: init() selected "${backendName}"; the wasm rows measure the fallback`);
  const p = dirichlet(n, 12345 + n, Type);
  const q = dirichlet(n, 67890 + n, Type);
  // small inputs: repeat inside one sample so the timer resolves it
  const reps = Math.max(1, Math.round(20000 / n));
  const plainLoop = Type === Float32Array ? plainLoop32 : plainLoop64;
  // kl-simd and the loop each have their own literal loop, as they always had here: that gives
  // the loop its best case (10 % faster than through repeater(), whatever V8's reason).
  const tasks = [
    { name: "kl wasm-simd", prepare: () => useBackend(backendName), run: () => { let s = 0; for (let r = 0; r < reps; r++) s += kl(p, q); return s; } },
    { name: "kl js fallback", prepare: () => useBackend("js"), run: () => { let s = 0; for (let r = 0; r < reps; r++) s += kl(p, q); return s; } },
    { name: UNNORMALISED, prepare: () => useBackend("wasm-simd"), run: () => { let s = 0; for (let r = 0; r < reps; r++) s += kl(p, q, PLAIN_SUM); return s; } },
    { name: "plain loop", run: () => { let s = 0; for (let r = 0; r < reps; r++) s += plainLoop(p, q); return s; } },
  ];
  const skipped = {};
  const errors = {}; // each peer's |value − kl-simd's| / kl-simd's
  if (withPeers) {
    useBackend(backendName);
    // as Float64Array (a copy of a Float32Array holds its values exactly): within 1e-12 of the exact KL
    const reference = kl(Float64Array.from(p), Float64Array.from(q));
    const { peers } = await loadPeers();
    for (const peer of peers) {
      if (skip.includes(peer.name)) {
        skipped[peer.name] = "slower at a smaller size";
        continue;
      }
      // one call over CAP_MS (the faster of two, so a cold first call does not decide) skips it
      await peer.prepare();
      let ms = Infinity;
      for (let i = 0; i < 2 && ms > CAP_MS; i++) {
        const start = performance.now();
        const value = await peer.kl(p, q);
        ms = Math.min(ms, performance.now() - start);
        errors[peer.name] = Math.abs(value - reference) / reference;
      }
      if (ms > CAP_MS) skipped[peer.name] = Math.round(ms);
      else tasks.push({ name: peer.name, prepare: peer.prepare, async: peer.async, run: repeater(peer.kl, p, q, reps, peer.async) });
    }
  }
  // Rounds: every task runs once per round, so a burst of load from elsewhere on the machine
  // lands on one round of a few tasks, not on all of one task; the rate is the median round's.
  const latencies = Object.fromEntries(tasks.map((t) => [t.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const bench = new Bench({ time: TIME_MS, warmup: round === 0, warmupTime: 100, warmupIterations: 2, iterations: 3 });
    for (const { name, run, prepare, async } of tasks) {
      const task = async ? async () => { sink += await run(); } : () => { sink += run(); };
      bench.add(name, task, prepare ? { beforeAll: prepare } : {});
    }
    await bench.run();
    for (const t of bench.tasks) latencies[t.name].push(t.result.latency.p50);
  }
  const rates = Object.fromEntries(tasks.map((t) => [t.name, (n * reps) / (median(latencies[t.name]) / 1000)]));
  return { type: Type.name, n, rates, skipped, errors };
}

if (process.env.KL_BENCH_ROW) {
  // child: one row, as JSON on stdout
  const [type, n] = process.env.KL_BENCH_ROW.split(":");
  const skip = process.env.KL_BENCH_SKIP ? JSON.parse(process.env.KL_BENCH_SKIP) : [];
  console.log(JSON.stringify(await measureRow(type === "Float32Array" ? Float32Array : Float64Array, Number(n), process.env.KL_BENCH_PEERS === "1", skip)));
  process.exit(0);
}

const { missing, versions } = peerVersions();
if (missing) console.error(`${INSTALL_HINT}\n(missing: ${missing.join(", ")}); measuring kl-simd and the plain loop only, writing no files.\n`);
else if (!versions["onnxruntime-web"]) console.error(`${ORT_HINT}.\n`);
const loadAtStart = loadavg();
const rows = [];
for (const type of ["Float32Array", "Float64Array"]) {
  const tooSlow = new Set(); // peers skipped at a smaller size
  for (const n of SIZES) {
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url)], {
      env: { ...process.env, KL_BENCH_ROW: `${type}:${n}`, KL_BENCH_PEERS: missing ? "0" : "1", KL_BENCH_SKIP: JSON.stringify([...tooSlow]) },
      encoding: "utf8",
      maxBuffer: 1 << 24,
    });
    const row = JSON.parse(out.trim().split("\n").pop());
    rows.push(row);
    for (const name of Object.keys(row.skipped)) tooSlow.add(name);
    process.stderr.write(`${type} n=${n} done\n`);
  }
}
const loadAtEnd = loadavg();

const KL_NAMES = ["kl wasm-simd", "kl js fallback"];
const PLAIN = "plain loop";
const PEER_ORDER = versions ? (await loadPeers()).peers.map((peer) => peer.name) : [];
const IMPLEMENTATIONS = [...KL_NAMES, PLAIN, ...PEER_ORDER];
const LABELS = { "kl wasm-simd": "**kl-simd** `kl()`, wasm-simd", "kl js fallback": "**kl-simd** `kl()`, js fallback", [PLAIN]: "plain loop (the baseline)" };
const label = (name) => LABELS[name] ?? name;

const fmt = (x) => (x >= 1e9 ? (x / 1e9).toFixed(2) + " G" : x >= 1e6 ? (x / 1e6).toFixed(1) + " M" : x >= 1e3 ? (x / 1e3).toFixed(0) + " k" : x.toFixed(0) + " ");
const ratio = (r, name) => {
  const x = r.rates[name] / r.rates[PLAIN];
  return x >= 0.1 ? x.toFixed(2) : x.toPrecision(2);
};
const cell = (r, name) => {
  if (name in r.skipped) return "—¹";
  if (!(name in r.rates)) return "";
  return name === PLAIN ? `${fmt(r.rates[name])}/s` : `${fmt(r.rates[name])}/s (${ratio(r, name)}×)`;
};
const sizeLabel = (n) => (n >= 1e5 ? `10${String(Math.log10(n)).split("").map((d) => "⁰¹²³⁴⁵⁶⁷⁸⁹"[d]).join("")}` : n.toLocaleString("en-US"));

const mhz = cpus()[0]?.speed; // 0 where the VM hides it
const cpu = `${cpus()[0]?.model ?? "unknown CPU"}${mhz ? ` @ ${mhz} MHz` : ""}`;
const machine = `Machine: ${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}; load average (1 min) ${loadAtStart[0].toFixed(2)} at the start, ${loadAtEnd[0].toFixed(2)} at the end (the run itself adds about 1).`;
const inputs = `Inputs: independent Dirichlet(1) vectors; a rate is the median of ${ROUNDS} rounds' median samples.`;
const versus = "in brackets the ratio to the plain loop `s += p[i]*Math.log(p[i]/q[i])` (monomorphic, its best case) measured in the same process";
const skippedList = rows
  .flatMap((r) => Object.entries(r.skipped).filter(([, ms]) => typeof ms === "number").map(([name, ms]) => `${name}, ${r.type} n = ${r.n.toLocaleString("en-US")}: ${(ms / 1000).toFixed(1)} s`))
  .join("; ");
const how = versions
  ? [
      `¹ not measured: one call took more than ${CAP_MS / 1000} s (the faster of two timed calls${skippedList ? `: ${skippedList}` : ""}), nor at larger n.`,
      "",
      "How each is called, everything a user's call does inside the timed work:",
      "",
      "- **kl-simd** `kl(p, q)`: validation, normalisation and the copy into wasm memory included.",
      `- **ml-distance** ${versions["ml-distance"]} \`distance.kullbackLeibler(p, q)\`, on the typed arrays as they are.`,
      `- **mathjs** ${versions.mathjs} \`kldivergence(Array.from(p), Array.from(q))\`: it takes no typed arrays, so the copy is timed.`,
      `- **TensorFlow.js** ${versions["@tensorflow/tfjs-core"]}, \`tfjs-backend-wasm\` (its SIMD build, \`tfjs-backend-wasm-simd.wasm\`, checked at load; one thread in Node) and \`tfjs-backend-cpu\`: each call makes both tensors with \`tf.tensor1d\`, computes the scalar and reads it with \`dataSync()\`. tfjs has no float64, so a Float64Array is first copied to a Float32Array (timed) and those rows compute in float32. "Σ p·log(p/q)" is \`tf.sum(tf.mul(p, tf.log(tf.div(p, q))))\`; "KL loss (clipped)" is tfjs-layers' Keras loss \`kullbackLeiblerDivergence\`, which clips both inputs to [1e-7, 1] (tfjs-layers does not export it; it is the function \`compile({ loss: "kullbackLeiblerDivergence" })\` installs). tfjs has no KL metric of its own.`,
      ...(versions["onnxruntime-web"]
        ? [`- **ONNX Runtime Web** ${versions["onnxruntime-web"]} on its WebAssembly backend (its SIMD build, \`ort-wasm-simd-threaded.wasm\`, read from node_modules; \`ort.env.wasm.numThreads = 1\`): an ONNX graph (opset 18, built by bench/onnx-graphs.mjs) that normalises p and q and computes \`ReduceSum(P·Log(P/Q))\` in float32; the session is made once, and each call makes both \`ort.Tensor("float32", …)\` inputs, awaits \`session.run()\` and reads the output. A Float64Array is first copied to a Float32Array (timed).`]
        : []),
    ]
  : [];

// Each peer's relative error against kl-simd's value (within 1e-12 of the exact one), for the rows given.
const showError = (e) => (e === undefined ? "—" : e === 0 ? "0" : Number.isNaN(e) ? "NaN" : e.toExponential(1));
const accuracy = (shown) =>
  PEER_ORDER.length === 0
    ? []
    : [
        "Relative error |peer − kl-simd| / kl-simd on the same inputs (kl-simd's value is within 1e-12 of the exact one; a peer that computes in float32 also rounds a Float64Array's inputs):",
        "",
        `| type | n | ${PEER_ORDER.join(" | ")} |`,
        `|---|---:|${PEER_ORDER.map(() => "---:").join("|")}|`,
        ...shown.map((r) => `| ${r.type} | ${r.n.toLocaleString("en-US")} | ${PEER_ORDER.map((name) => showError(r.errors[name])).join(" | ")} |`),
        "",
      ];

// The full table: every size, both types.
const full = [
  machine,
  `Each cell: elements/s, ${versus}. ${inputs}`,
  "",
  `| type | n | ${IMPLEMENTATIONS.map(label).join(" | ")} |`,
  `|---|---:|${IMPLEMENTATIONS.map(() => "---:").join("|")}|`,
  ...rows.map((r) => `| ${r.type} | ${r.n.toLocaleString("en-US")} | ${IMPLEMENTATIONS.map((name) => cell(r, name)).join(" | ")} |`),
  "",
  ...accuracy(rows),
  ...how,
].join("\n");

// docs/performance.md's opening table: implementations down, four sizes across, one block per type.
const COMPACT_SIZES = [16, 1000, 100000, 10000000].filter((n) => SIZES.includes(n));
const compactBlock = (type) => [
  `| ${type} | ${COMPACT_SIZES.map((n) => `n = ${sizeLabel(n)}`).join(" | ")} |`,
  `|---|${COMPACT_SIZES.map(() => "---:").join("|")}|`,
  ...IMPLEMENTATIONS.map((name) => `| ${label(name)} | ${COMPACT_SIZES.map((n) => cell(rows.find((r) => r.type === type && r.n === n), name)).join(" | ")} |`),
];
const compact = [
  machine,
  `Each cell: elements/s, ${versus}. ${inputs} Every size: [bench/RESULTS.md](../bench/RESULTS.md).`,
  "",
  ...compactBlock("Float64Array"),
  "",
  ...compactBlock("Float32Array"),
  "",
  ...accuracy(rows.filter((r) => COMPACT_SIZES.includes(r.n))),
  ...how,
].join("\n");

// The README's short comparison: n = 10⁵ of each type, the rest in docs/performance.md.
const SHORT_SIZE = SIZES.includes(100000) ? 100000 : SIZES[SIZES.length - 1];
const short = [
  `| n = ${sizeLabel(SHORT_SIZE)}, elements/s (× the plain loop) | Float64Array | Float32Array |`,
  "|---|---:|---:|",
  ...IMPLEMENTATIONS.map((name) => `| ${label(name)} | ${["Float64Array", "Float32Array"].map((type) => {
    const r = rows.find((r) => r.type === type && r.n === SHORT_SIZE);
    return r === undefined ? "" : cell(r, name);
  }).join(" | ")} |`),
  "",
  `${machine.replace(/;[^;]*load average.*$/, "")}; \`npm run bench\`.`,
].join("\n");

// docs/performance.md's second table: kl-simd against the loop, every size.
const klOnly = [
  machine,
  inputs + " Ratios are against the plain loop `s += p[i]*Math.log(p[i]/q[i])`, measured in the same process. `kl` includes validation and copying into wasm memory.",
  "",
  "| type | n | kl wasm-simd | kl js fallback | plain loop | wasm ÷ plain | js ÷ plain | `normalize: false`, wasm-simd | ÷ normalised |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...rows.map((r) =>
    `| ${r.type} | ${r.n.toLocaleString("en-US")} | ${fmt(r.rates["kl wasm-simd"])}/s | ${fmt(r.rates["kl js fallback"])}/s | ${fmt(r.rates[PLAIN])}/s | **${ratio(r, "kl wasm-simd")}×** | ${ratio(r, "kl js fallback")}× | ${fmt(r.rates[UNNORMALISED])}/s | ${(r.rates[UNNORMALISED] / r.rates["kl wasm-simd"]).toFixed(2)}× |`,
  ),
].join("\n");

console.log(full);
console.log(`\n${klOnly}`);
if (!process.env.KL_BENCH_SIZES && versions) {
  // a full run with every peer is the one to keep: bench/RESULTS.md and the copies in the docs
  writeFileSync(new URL("./RESULTS.md", import.meta.url), `# Benchmark results\n\n\`npm run bench\` (after \`npm run bench:install\`)\n\n${full}\n`);
  writeMarked("../docs/performance.md", [["compare", compact], ["bench", klOnly]]);
  writeMarked("../README.md", [["compare-short", short]]);
  console.error("wrote bench/RESULTS.md, docs/performance.md's tables and the README's short one");
}
if (sink === 42) console.log(""); // keep the results alive

/** Puts each table between its <!-- marker:start --> and <!-- marker:end --> lines in `path` (relative to bench/). */
function writeMarked(path, tables) {
  const url = new URL(path, import.meta.url);
  let text = readFileSync(url, "utf8");
  for (const [marker, table] of tables) {
    const marked = new RegExp(`<!-- ${marker}:start -->[\\s\\S]*<!-- ${marker}:end -->`);
    if (marked.test(text)) text = text.replace(marked, `<!-- ${marker}:start -->\n${table}\n<!-- ${marker}:end -->`);
    else console.warn(`warning: ${path} has no <!-- ${marker}:start --> … <!-- ${marker}:end --> section`);
  }
  writeFileSync(url, text);
}
