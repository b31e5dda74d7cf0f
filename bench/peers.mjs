// What a JavaScript user would otherwise call for D(P‖Q), each written as that user would write
// it: the plain loop, ml-distance, mathjs, TensorFlow.js on its WebAssembly (XNNPACK, SIMD)
// and CPU backends, both as the formula Σ p·log(p/q) in tensor ops and as the library's KL loss,
// and ONNX Runtime Web on its WebAssembly (SIMD) backend running an ONNX graph (onnx-graphs.mjs).
// The libraries are dev-dependencies of bench/ only (bench/package.json, `npm run bench:install`);
// loadPeers() says so instead of failing when they are missing, and leaves out onnxruntime-web
// alone when an older install lacks it. Used by kl.bench.mjs, scores.bench.mjs (onnxruntime-web's
// batch and pairwise graphs) and peers-zeros.mjs.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { pairwiseKlModel, rowsKlModel } from "./onnx-graphs.mjs";

/**
 * The loop a user would write: Σ p·ln(p/q), no zero handling, no normalisation. One copy per
 * array type, so each stays monomorphic: the loop's best case.
 */
export function plainLoop32(p, q) {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += p[i] * Math.log(p[i] / q[i]);
  return s;
}
export function plainLoop64(p, q) {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += p[i] * Math.log(p[i] / q[i]);
  return s;
}

const require = createRequire(import.meta.url);
const PEER_PACKAGES = ["ml-distance", "mathjs", "@tensorflow/tfjs-core", "@tensorflow/tfjs-backend-cpu", "@tensorflow/tfjs-backend-wasm", "@tensorflow/tfjs-layers"];
const ORT = "onnxruntime-web"; // added later than the rest: an older bench install lacks it
export const INSTALL_HINT = "the comparison libraries are not installed: run `npm run bench:install` (npm ci in bench/)";
export const ORT_HINT = `${ORT} is not installed in bench/node_modules (run \`npm run bench:install\` again): its rows are left out`;

// read from bench/node_modules: some of these export no ./package.json
const installedVersion = (name) => {
  try {
    return JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url), "utf8")).version;
  } catch {
    return undefined;
  }
};

/** Each package's installed version (onnxruntime-web's where installed), or { missing } naming those missing. */
export function peerVersions() {
  const missing = PEER_PACKAGES.filter((name) => !installedVersion(name));
  if (missing.length) return { missing };
  const versions = Object.fromEntries([...PEER_PACKAGES, ORT].map((name) => [name, installedVersion(name)]).filter(([, v]) => v));
  return { versions };
}

/** tfjs and ONNX Runtime compute in float32: a Float64Array is converted (timed, as a user's call would). */
const toF32 = (x) => (x instanceof Float32Array ? x : new Float32Array(x));

/**
 * ONNX Runtime Web on its WebAssembly backend with `threads` threads (ort.env.wasm.numThreads,
 * set before its first session; it falls back to 1 where threads are unavailable, so `threads`
 * in the result is what it runs with). Its only wasm build, ort-wasm-simd-threaded.wasm, is read
 * from bench/node_modules (no network) and needs SIMD (its init fails without it). The sessions
 * are made once, as a user's would be; each call makes the float32 input tensors, runs the
 * session (async) and reads the output: klRows(p, q, dim) → Float32Array of each row's D(p‖q),
 * klPairwise(a, b, dim) → Float32Array (m × n) of D(aᵢ‖bⱼ), kl(p, q) → one number. Returns
 * { missing: ORT_HINT } when onnxruntime-web is not installed.
 */
export async function loadOrt(threads = 1) {
  const version = installedVersion(ORT);
  if (!version) return { missing: ORT_HINT };
  const ort = await import(ORT);
  ort.env.wasm.numThreads = threads;
  const rows = await ort.InferenceSession.create(rowsKlModel());
  const pairwise = await ort.InferenceSession.create(pairwiseKlModel());
  const tensor = (x, dim) => new ort.Tensor("float32", toF32(x), [x.length / dim, dim]);
  const klRows = async (p, q, dim) => (await rows.run({ p: tensor(p, dim), q: tensor(q, dim) })).kl.data;
  return {
    version,
    threads: ort.env.wasm.numThreads,
    klRows,
    klPairwise: async (a, b, dim) => (await pairwise.run({ a: tensor(a, dim), b: tensor(b, dim) })).kl.data,
    kl: async (p, q) => (await klRows(p, q, p.length))[0],
  };
}

/**
 * Loads the peers. Returns { peers, notes } where each peer is { name, prepare(), kl(p, q) }:
 * prepare() (async) selects what the peer needs (the tfjs backend) and must run before kl();
 * kl(p, q) takes two Float32Arrays or two Float64Arrays and returns a number. Returns
 * { missing } when bench/ has not been installed.
 */
export async function loadPeers() {
  const { missing, versions } = peerVersions();
  if (missing) return { missing };

  const { distance } = await import("ml-distance");
  const { kldivergence } = await import("mathjs");

  // tfjs ships CommonJS for Node; its .wasm files are read from the package's dist/ folder.
  const wasmBytesSeen = [];
  const instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = function (source, ...rest) {
    if (source?.byteLength) wasmBytesSeen.push(source.byteLength);
    return instantiate.call(this, source, ...rest);
  };
  const tf = require("@tensorflow/tfjs-core");
  require("@tensorflow/tfjs-backend-cpu");
  const tfWasm = require("@tensorflow/tfjs-backend-wasm");
  const tfLayers = require("@tensorflow/tfjs-layers");
  tf.enableProdMode(); // only silences the "install tfjs-node" banner; no checks are skipped
  const wasmDir = join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist");
  tfWasm.setWasmPaths(wasmDir + "/");

  await tf.setBackend("wasm");
  WebAssembly.instantiate = instantiate;
  // Which binary did it pick? tfjs-backend-wasm-simd.wasm is the SIMD (XNNPACK) build.
  const binaries = readdirSync(wasmDir).filter((f) => f.endsWith(".wasm"));
  const loaded = binaries.filter((f) => wasmBytesSeen.includes(statSync(join(wasmDir, f)).size));
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
  if (!simd || !loaded.includes("tfjs-backend-wasm-simd.wasm")) {
    console.warn(`warning: tfjs-backend-wasm is not running its SIMD binary (loaded: ${loaded.join(", ") || "unknown"})`);
  }

  // tfjs-layers has the Keras KL loss (inputs clipped to [1e-7, 1]) but does not export it; a
  // user gets it from compile({ loss: "kullbackLeiblerDivergence" }), as here.
  const model = tfLayers.sequential({ layers: [tfLayers.layers.dense({ units: 1, inputShape: [1] })] });
  model.compile({ optimizer: "sgd", loss: "kullbackLeiblerDivergence" });
  const kerasKL = model.model.lossFunctions[0];
  if (kerasKL.name !== "kullbackLeiblerDivergence") throw new Error(`unexpected tfjs loss ${kerasKL.name}`);
  model.dispose();

  // tfjs tensors are float32 (tensor1d refuses a Float64Array): toF32 converts a Float64Array.
  const tfScalar = (p, q, f) => {
    const r = tf.tidy(() => f(tf.tensor1d(toF32(p)), tf.tensor1d(toF32(q))));
    const value = r.dataSync()[0];
    r.dispose();
    return value;
  };
  const formula = (tp, tq) => tf.sum(tf.mul(tp, tf.log(tf.div(tp, tq))));
  const tfPeers = (backend) => {
    const prepare = async () => {
      await tf.setBackend(backend);
    };
    return [
      { name: `tfjs-${backend} Σ p·log(p/q)`, prepare, kl: (p, q) => tfScalar(p, q, formula) },
      { name: `tfjs-${backend} KL loss (clipped)`, prepare, kl: (p, q) => tfScalar(p, q, kerasKL) },
    ];
  };

  const ort = await loadOrt(1);
  const none = async () => {};
  const peers = [
    { name: "ml-distance", prepare: none, kl: (p, q) => distance.kullbackLeibler(p, q) },
    // mathjs takes plain arrays or its matrices, not typed arrays
    { name: "mathjs", prepare: none, kl: (p, q) => kldivergence(Array.from(p), Array.from(q)) },
    ...tfPeers("wasm"),
    ...tfPeers("cpu"),
    // its kl() returns a promise (session.run is async): callers await it
    ...(ort.missing ? [] : [{ name: `${ORT} Σ p·log(p/q)`, prepare: none, async: true, kl: ort.kl }]),
  ];
  const notes = {
    versions,
    tfjsWasm: `tfjs-backend-wasm ${versions["@tensorflow/tfjs-backend-wasm"]}: ${loaded.join(", ") || "binary unknown"}, SIMD ${simd ? "on" : "off"}, ${threads ? "multi-threaded" : "one thread"}`,
    ort: ort.missing ?? `${ORT} ${ort.version}: ort-wasm-simd-threaded.wasm, SIMD on, ${ort.threads} thread${ort.threads > 1 ? "s" : ""}`,
  };
  return { peers, notes };
}
