// SVG charts for the demo: an editable bar chart (drag a bar with mouse, pen or touch, or
// focus it and use the arrow keys) and a diverging chart of each bin's contribution.
const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 240;
const MARGIN = { left: 46, right: 10, top: 12, bottom: 26 };
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;

function el(name, attributes = {}, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  parent?.appendChild(node);
  return node;
}

/** The smallest of 1, 2, 2.5, 5 × 10^k that is ≥ x (x > 0). */
function niceCeil(x) {
  const power = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= x * (1 - 1e-12)) return m * power;
  return 10 * power;
}

/** Short, readable number: 6 significant digits, no trailing zeros. */
export function formatNumber(x) {
  if (x === Infinity) return "∞";
  if (x === -Infinity) return "−∞";
  if (x === 0) return "0";
  const abs = Math.abs(x);
  const text = abs >= 1e-4 && abs < 1e6 ? String(Number(x.toPrecision(6))) : x.toExponential(3);
  return text.replace("-", "−");
}

function axisLabel(x) {
  return String(Number(x.toPrecision(4))).replace("-", "−");
}

// Bars are columns of equal width across a plot `width` wide; the gap is a fraction of the column.
function columns(n, plotWidth) {
  const width = plotWidth / n;
  return { width, bar: Math.max(2, width * (n > 40 ? 0.9 : 0.72)) };
}

/**
 * An editable bar chart in `svg`. `onInput(index, value)` is called while a bar is dragged or
 * changed from the keyboard. The y axis keeps its scale during a drag and is tidied after.
 */
export function createBarChart(svg, { name, className, width: WIDTH = 560 }) {
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  svg.classList.add("chart", className);
  const grid = el("g", { class: "grid" }, svg);
  const bars = el("g", { class: "bars" }, svg);
  let values = [];
  let max = 1;
  let dragging = -1;
  let onInput = () => {};

  const yOf = (v) => MARGIN.top + PLOT_H * (1 - v / max);
  // Values snap to 1/100 of the axis, so a drag gives short numbers.
  const step = () => max / 100;
  const snap = (v) => Number((Math.round(Math.min(Math.max(v, 0), max) / step()) * step()).toPrecision(12));

  function valueAt(event) {
    const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(svg.getScreenCTM().inverse());
    return snap(((MARGIN.top + PLOT_H - point.y) / PLOT_H) * max);
  }

  function drawGrid() {
    grid.replaceChildren();
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4;
      el("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: yOf(v), y2: yOf(v) }, grid);
      el("text", { x: MARGIN.left - 6, y: yOf(v) + 4, class: "tick", "text-anchor": "end" }, grid).textContent = axisLabel(v);
    }
  }

  function draw() {
    const { width, bar } = columns(values.length, WIDTH - MARGIN.left - MARGIN.right);
    const labelEvery = Math.ceil(values.length / 20);
    if (bars.childElementCount !== values.length) {
      bars.replaceChildren();
      values.forEach((_, i) => {
        const g = el("g", { class: "bin", tabindex: 0, role: "slider", "data-index": i }, bars);
        el("rect", { class: "hit", x: MARGIN.left + i * width, y: MARGIN.top, width, height: PLOT_H }, g);
        el("rect", { class: "bar", x: MARGIN.left + i * width + (width - bar) / 2, width: bar, rx: Math.min(3, bar / 4) }, g);
        const label = el("text", { class: "bin-label", x: MARGIN.left + (i + 0.5) * width, y: HEIGHT - 8, "text-anchor": "middle" }, g);
        if (i % labelEvery === 0) label.textContent = String(i + 1);
      });
    }
    [...bars.children].forEach((g, i) => {
      const v = values[i];
      const rect = g.querySelector(".bar");
      const top = yOf(Math.min(v, max));
      rect.setAttribute("y", top);
      rect.setAttribute("height", MARGIN.top + PLOT_H - top);
      g.setAttribute("aria-label", `${name}, bin ${i + 1}`);
      g.setAttribute("aria-valuemin", "0");
      g.setAttribute("aria-valuemax", String(max));
      g.setAttribute("aria-valuenow", String(v));
      g.setAttribute("data-value", String(v));
    });
  }

  function rescale() {
    max = niceCeil(Math.max(...values, 0) * 1.15 || 1);
    drawGrid();
  }

  function set(index, value) {
    if (values[index] === value) return;
    values[index] = value;
    draw();
    onInput(index, value);
  }

  svg.addEventListener("pointerdown", (event) => {
    const g = event.target.closest?.(".bin");
    if (!g || event.button > 0) return;
    event.preventDefault();
    dragging = Number(g.dataset.index);
    g.focus({ preventScroll: true });
    svg.setPointerCapture(event.pointerId);
    svg.classList.add("dragging");
    set(dragging, valueAt(event));
  });
  svg.addEventListener("pointermove", (event) => {
    if (dragging >= 0) set(dragging, valueAt(event));
  });
  const end = () => {
    if (dragging < 0) return;
    dragging = -1;
    svg.classList.remove("dragging");
    rescale();
    draw();
  };
  svg.addEventListener("pointerup", end);
  svg.addEventListener("pointercancel", end);
  svg.addEventListener("keydown", (event) => {
    const g = event.target.closest?.(".bin");
    if (!g) return;
    const i = Number(g.dataset.index);
    const delta = { ArrowUp: 1, ArrowRight: 1, ArrowDown: -1, ArrowLeft: -1, PageUp: 10, PageDown: -10 }[event.key];
    let next;
    if (delta !== undefined) next = Math.max(0, values[i] + delta * step());
    else if (event.key === "Home") next = 0;
    else return;
    event.preventDefault();
    set(i, Number(next.toPrecision(12)));
    if (next > max || next < max / 4) {
      rescale();
      draw();
    }
  });

  return {
    /** Shows new values (e.g. typed or loaded); does not call onInput. */
    show(next) {
      values = next.slice();
      if (dragging < 0) rescale();
      draw();
    },
    set onInput(fn) {
      onInput = fn;
    },
  };
}

/**
 * A diverging bar chart of contributions (positive up, negative down, ∞ as a full bar with
 * its sign written on it).
 */
export function createContributionChart(svg) {
  svg.classList.add("chart", "contributions");
  let last = [];
  // Drawn at the width it has on screen, so its text stays the size of the other charts' text.
  new ResizeObserver(() => chart.show(last)).observe(svg);
  const chart = {
    show(contributions) {
      last = contributions;
      const WIDTH = Math.max(320, Math.round(svg.clientWidth) || 1100);
      svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
      svg.replaceChildren();
      const finite = contributions.filter(Number.isFinite).map(Math.abs);
      const extent = niceCeil(Math.max(...finite, 0) * 1.1 || 1);
      const mid = MARGIN.top + PLOT_H / 2;
      const yOf = (v) => mid - (PLOT_H / 2) * (Math.max(-extent, Math.min(extent, v)) / extent);
      for (const v of [-extent, -extent / 2, 0, extent / 2, extent]) {
        el("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: yOf(v), y2: yOf(v), class: v === 0 ? "zero" : "" }, svg);
        el("text", { x: MARGIN.left - 6, y: yOf(v) + 4, class: "tick", "text-anchor": "end" }, svg).textContent = axisLabel(v);
      }
      const { width, bar } = columns(contributions.length, WIDTH - MARGIN.left - MARGIN.right);
      const showValues = contributions.length <= 16;
      contributions.forEach((c, i) => {
        const x = MARGIN.left + i * width + (width - bar) / 2;
        const top = Math.min(yOf(c), mid);
        const sign = c > 0 ? "positive" : c < 0 ? "negative" : "zero";
        const rect = el("rect", { x, y: top, width: bar, height: Math.max(Math.abs(yOf(c) - mid), c === 0 ? 0 : 1), class: `bar ${sign}${Number.isFinite(c) ? "" : " infinite"}` }, svg);
        el("title", {}, rect).textContent = `bin ${i + 1}: ${formatNumber(c)}`;
        if (showValues) {
          const y = c >= 0 ? yOf(c) - 5 : yOf(c) + 13;
          el("text", { x: x + bar / 2, y: Math.min(Math.max(y, MARGIN.top + 9), HEIGHT - MARGIN.bottom), class: "value", "text-anchor": "middle" }, svg).textContent = c === Infinity ? "∞" : axisLabel(Number(c.toPrecision(3)));
        }
        if (i % Math.ceil(contributions.length / 20) === 0) {
          el("text", { x: x + bar / 2, y: HEIGHT - 8, class: "bin-label", "text-anchor": "middle" }, svg).textContent = String(i + 1);
        }
      });
    },
  };
  return chart;
}
