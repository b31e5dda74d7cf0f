// node bench/peers-zeros.mjs: what each peer returns on the inputs where KL implementations
// differ (zeros, a zero under p > 0, unnormalised counts), next to SciPy's
// scipy.stats.entropy(p, q), which normalises and treats 0·log 0 as 0. Prints a Markdown table
// for docs/performance.md; a value is marked ✗ where it is more than 1e-6 relative from SciPy's.
import { execFileSync } from "node:child_process";
import { backend, init, kl, useBackend } from "../dist/index.js";
import { INSTALL_HINT, loadPeers, plainLoop64 } from "./peers.mjs";

const CASES = [
  { label: "seed example", p: [0.5, 0.5], q: [0.7, 0.3] },
  { label: "p = 0 where q > 0", p: [0.5, 0.5, 0], q: [0.5, 0.25, 0.25] },
  { label: "p = q = 0 in one place", p: [0.5, 0.5, 0], q: [0.7, 0.3, 0] },
  { label: "q = 0 under p > 0", p: [0.5, 0.5], q: [1, 0] },
  { label: "counts (unnormalised)", p: [30, 10], q: [20, 20] },
];

// SciPy's values, computed here when python3 has scipy; else the ones recorded from scipy 1.17.1.
const RECORDED = [0.08717669357238894, 0.34657359027997264, 0.08717669357238894, Infinity, 0.13081203594113697];
function scipyValues() {
  const program = `import json, sys\nfrom scipy.stats import entropy\nprint(json.dumps([str(float(entropy(c["p"], c["q"]))) for c in json.load(sys.stdin)]))`;
  try {
    const out = execFileSync("python3", ["-c", program], { input: JSON.stringify(CASES), encoding: "utf8", stdio: ["pipe", "pipe", "ignore"] });
    return { values: JSON.parse(out).map((v) => (v === "inf" ? Infinity : Number(v))), source: "computed now" };
  } catch {
    return { values: RECORDED, source: "recorded from scipy 1.17.1 (python3 with scipy not found)" };
  }
}

const loaded = await loadPeers();
if (loaded.missing) {
  console.error(`${INSTALL_HINT} (missing: ${loaded.missing.join(", ")})`);
  process.exit(1);
}
await init();
const scipy = scipyValues();

const rows = [
  { name: "plain loop", prepare: async () => {}, kl: (p, q) => plainLoop64(p, q) },
  ...loaded.peers,
  ...[backend(), "js"].map((b) => ({ name: `kl-simd (${b})`, prepare: async () => useBackend(b), kl: (p, q) => kl(p, q) })),
];

const show = (x) => (Number.isNaN(x) ? "NaN" : !Number.isFinite(x) ? (x > 0 ? "∞" : "−∞") : Number(x.toPrecision(7)).toString());
const right = (x, want) => (Number.isFinite(want) ? Math.abs(x - want) <= 1e-6 * Math.abs(want) : Object.is(x, want));
const lines = [
  `| | ${CASES.map((c) => `${c.label}<br>p = [${c.p.join(", ")}], q = [${c.q.join(", ")}]`).join(" | ")} |`,
  `|---|${CASES.map(() => "---:").join("|")}|`,
  `| **scipy.stats.entropy** | ${scipy.values.map((v) => `**${show(v)}**`).join(" | ")} |`,
];
for (const row of rows) {
  await row.prepare();
  const cells = [];
  for (const [i, c] of CASES.entries()) {
    let value;
    try {
      value = await row.kl(new Float64Array(c.p), new Float64Array(c.q)); // onnxruntime-web's is async
    } catch (e) {
      cells.push(`throws (${e.message.slice(0, 40)}) ✗`);
      continue;
    }
    cells.push(right(value, scipy.values[i]) ? show(value) : `${show(value)} ✗`);
  }
  lines.push(`| ${row.name} | ${cells.join(" | ")} |`);
}
console.log(lines.join("\n"));
console.log(`\nSciPy values ${scipy.source}; inputs as Float64Array (tfjs and onnxruntime-web convert them to float32, mathjs to arrays). ${loaded.notes.tfjsWasm}. ${loaded.notes.ort}.`);
