// The demo page: two editable distributions, the divergences between them, each bin's
// contribution, the backend in use and an in-browser benchmark.
import { init, kl } from "../../dist/index.js";
import { createBarChart, createContributionChart, formatNumber } from "./chart.js";
import { jsDivergenceAndPsi } from "./divergences.js";
import { BENCHMARK_SIZE, runBenchmark } from "./benchmark.js";

// Counts over ten bins: an observed histogram P and the reference Q it is compared with.
const EXAMPLE = {
  p: [2, 5, 9, 14, 17, 16, 12, 8, 5, 2],
  q: [6, 8, 10, 12, 13, 13, 12, 10, 9, 7],
};

const state = { p: EXAMPLE.p.slice(), q: EXAMPLE.q.slice(), units: "nats" };
const $ = (id) => document.getElementById(id);

const charts = {
  p: createBarChart($("chart-p"), { name: "P", className: "p" }),
  q: createBarChart($("chart-q"), { name: "Q", className: "q" }),
};
const contributionChart = createContributionChart($("chart-contrib"));

/** Numbers from pasted text or a CSV column: anything separated by commas, spaces, tabs, ;, new lines. */
function parseNumbers(text) {
  const tokens = text.split(/[\s,;]+/).filter((t) => t !== "");
  const values = tokens.map(Number);
  const bad = tokens.findIndex((t, i) => !Number.isFinite(values[i]));
  if (bad >= 0) throw new Error(`"${tokens[bad]}" is not a number`);
  return values;
}

/** A CSV with columns p and q (an optional header row is skipped). */
function parseCsv(text) {
  const p = [];
  const q = [];
  for (const line of text.split(/\r?\n/)) {
    const cells = line.split(/[,;\t]/).map((c) => c.trim());
    if (cells.length < 2 || cells.every((c) => c === "")) continue;
    const [a, b] = [Number(cells[0]), Number(cells[1])];
    if (cells[0] === "" || cells[1] === "" || !Number.isFinite(a) || !Number.isFinite(b)) {
      if (p.length === 0) continue; // a header row
      throw new Error(`CSV line "${line}": two numbers expected`);
    }
    p.push(a);
    q.push(b);
  }
  if (p.length === 0) throw new Error("the CSV has no rows of two numbers (p, q)");
  return { p, q };
}

function showMessage(text) {
  const box = $("message");
  box.hidden = text === "";
  box.textContent = text;
}

function showValue(id, value) {
  const out = $(id);
  out.textContent = value === null ? "—" : formatNumber(value);
  out.dataset.value = value === null ? "" : String(value);
  out.title = value === null ? "" : String(value);
}

// Per bin, for the chart and table only: p̂ᵢ·ln(p̂ᵢ/q̂ᵢ) in the chosen units.
function contributions(p, q, scale) {
  const sp = p.reduce((a, b) => a + b, 0);
  const sq = q.reduce((a, b) => a + b, 0);
  return p.map((x, i) => {
    const a = x / sp;
    const b = q[i] / sq;
    return { a, b, c: a === 0 ? 0 : b === 0 ? Infinity : a * Math.log(a / b) * scale };
  });
}

function renderTable(rows) {
  $("contrib-table").tBodies[0].replaceChildren(
    ...rows.map(({ a, b, c }, i) => {
      const tr = document.createElement("tr");
      for (const text of [String(i + 1), formatNumber(a), formatNumber(b), formatNumber(c)]) {
        tr.appendChild(document.createElement("td")).textContent = text;
      }
      tr.lastChild.className = c > 0 ? "positive" : c < 0 ? "negative" : "";
      return tr;
    }),
  );
}

/** Recomputes everything from state; `skip` names a text field the user is typing in. */
function update({ skip } = {}) {
  for (const side of ["p", "q"]) {
    if (side !== skip) $(`text-${side}`).value = state[side].join(", ");
  }
  $("bins").textContent = String(state.p.length);
  const options = state.units === "bits" ? { base: 2 } : {};
  if (state.p.length !== state.q.length) {
    showMessage(`P has ${state.p.length} values and Q has ${state.q.length}: they need the same number of bins.`);
    for (const id of ["kl-pq", "kl-qp", "js", "psi", "contrib-sum"]) showValue(id, null);
    return;
  }
  let pq, qp, others;
  try {
    pq = kl(state.p, state.q, options);
    qp = kl(state.q, state.p, options);
    others = jsDivergenceAndPsi(state.p, state.q, options);
  } catch (error) {
    showMessage(error.message);
    for (const id of ["kl-pq", "kl-qp", "js", "psi", "contrib-sum"]) showValue(id, null);
    return;
  }
  showMessage("");
  showValue("kl-pq", pq);
  showValue("kl-qp", qp);
  showValue("js", others.js);
  showValue("psi", others.psi);
  showValue("contrib-sum", pq);
  const rows = contributions(state.p, state.q, state.units === "bits" ? 1 / Math.LN2 : 1);
  contributionChart.show(rows.map((r) => r.c));
  renderTable(rows);
  for (const el of document.querySelectorAll(".unit")) el.textContent = state.units;
}

function showAll() {
  charts.p.show(state.p);
  charts.q.show(state.q);
  update();
}

for (const side of ["p", "q"]) {
  charts[side].onInput = (index, value) => {
    state[side][index] = value;
    update();
  };
  $(`text-${side}`).addEventListener("input", (event) => {
    try {
      state[side] = parseNumbers(event.target.value);
    } catch (error) {
      showMessage(`${side.toUpperCase()}: ${error.message}`);
      return;
    }
    charts[side].show(state[side]);
    update({ skip: side });
  });
  $(`text-${side}`).addEventListener("change", () => update()); // tidy the text on leaving it
}

$("bins-plus").addEventListener("click", () => {
  const mean = (v) => v.reduce((a, b) => a + b, 0) / Math.max(v.length, 1) || 1;
  state.p.push(Number(mean(state.p).toPrecision(3)));
  state.q.push(Number(mean(state.q).toPrecision(3)));
  showAll();
});
$("bins-minus").addEventListener("click", () => {
  if (state.p.length <= 1 || state.q.length <= 1) return;
  state.p.pop();
  state.q.pop();
  showAll();
});
$("units").addEventListener("change", (event) => {
  state.units = event.target.value;
  update();
});
$("reset").addEventListener("click", () => {
  state.p = EXAMPLE.p.slice();
  state.q = EXAMPLE.q.slice();
  showAll();
});
$("csv").addEventListener("change", async (event) => {
  const file = event.target.files?.[0];
  if (!file) return;
  try {
    Object.assign(state, parseCsv(await file.text()));
    showAll();
  } catch (error) {
    showMessage(`${file.name}: ${error.message}`);
  }
  event.target.value = "";
});

$("bench-run").addEventListener("click", async () => {
  const button = $("bench-run");
  button.disabled = true;
  $("bench-status").textContent = "running…";
  try {
    const rows = await runBenchmark((text) => ($("bench-status").textContent = text));
    document.querySelector(".bench-path").textContent = rows[0].path;
    $("bench-table").tBodies[0].replaceChildren(
      ...rows.map((r) => {
        const tr = document.createElement("tr");
        const rate = (ms) => `${ms.toFixed(2)} ms · ${(BENCHMARK_SIZE / ms / 1e3).toFixed(0)} M/s`;
        for (const text of [r.type, rate(r.klMs), rate(r.loopMs), `${r.ratio.toFixed(2)}×`]) {
          tr.appendChild(document.createElement("td")).textContent = text;
        }
        tr.dataset.ratio = String(r.ratio);
        tr.title = `kl() = ${r.klResult}, plain loop = ${r.loopResult}`;
        return tr;
      }),
    );
    $("bench-table").hidden = false;
    $("bench-status").textContent = "";
  } catch (error) {
    $("bench-status").textContent = `failed: ${error.message}`;
  } finally {
    button.disabled = false;
  }
});

showAll(); // on the JS path until init() resolves: same answers
const selected = await init();
const badge = $("backend");
badge.textContent = selected;
badge.dataset.backend = selected;
badge.title = selected === "js" ? "plain-JS fallback (no WebAssembly SIMD here, or a CSP forbids compiling it)" : selected === "wasm-simd" ? "WebAssembly SIMD kernel" : "WebAssembly SIMD kernel, its relaxed-SIMD build (fused multiply-adds where the CPU has them)";
document.body.dataset.ready = "true";
