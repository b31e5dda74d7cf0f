// Checks kl() against the independent high-precision oracle in test/fixtures/kl-cases.json
// (made by test/fixtures/generate.py with mpmath; regenerate with `npm run fixtures`).
//
// Every case runs on both backends and on several element types:
//   kind "f64": Float64Array, the same as a subarray at an odd offset, number[]
//   kind "f32": Float32Array (the f32 kernel), the same as a subarray at an odd offset,
//               Float64Array of the same (exact) values, that as a subarray, and the mixed pair
//               Float32Array p with Float64Array q (both f64 runs go through the f64 kernel)
// Bounds: relative error ≤ 1e-12 for every f64 run and ≤ 1e-6 for Float32Array pairs; an
// expected 0 allows |result| ≤ 1e-15 (f64) / 1e-12 (f32), except identical p and q, which
// must give exactly 0; Infinity must be exactly Infinity; NaN never. Inputs must not change.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { init, kl, useBackend } from "../src/index.js";
import { WASM, type Backend } from "./backends.js";

type Kind = "f64" | "f32";
type Encoding = "f64le" | "f32le" | "u32le" | "u16le" | "u8";

interface RawCase {
  name: string;
  category: string;
  kind: Kind;
  n: number;
  p?: number[];
  q?: number[];
  p_b64?: string;
  q_b64?: string;
  encoding?: Encoding;
  normalize: boolean;
  base: number | null;
  expected: number | "Infinity";
  expected_str: string;
  exact_zero?: boolean;
  note?: string;
}

interface Case {
  name: string;
  category: string;
  kind: Kind;
  p: number[];
  q: number[];
  normalize: boolean;
  base: number | null;
  expected: number;
  expectedStr: string;
  exactZero: boolean;
}

function decode(text: string, encoding: Encoding, n: number): number[] {
  const bytes = Buffer.from(text, "base64");
  // copy into a fresh, aligned buffer before viewing it
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const view =
    encoding === "f64le" ? new Float64Array(buffer)
    : encoding === "f32le" ? new Float32Array(buffer)
    : encoding === "u32le" ? new Uint32Array(buffer)
    : encoding === "u16le" ? new Uint16Array(buffer)
    : new Uint8Array(buffer);
  if (view.length !== n) throw new Error(`fixture: ${n} elements expected, ${view.length} decoded`);
  return Array.from(view);
}

function load(): Case[] {
  const file = new URL("./fixtures/kl-cases.json", import.meta.url);
  const doc = JSON.parse(readFileSync(file, "utf8")) as { cases: RawCase[] };
  return doc.cases.map((c) => {
    const p = c.p ?? decode(c.p_b64!, c.encoding!, c.n);
    const q = c.q ?? decode(c.q_b64!, c.encoding!, c.n);
    if (p.length !== c.n || q.length !== c.n) throw new Error(`fixture ${c.name}: bad length`);
    if (c.kind === "f32" && !p.concat(q).every((x) => Math.fround(x) === x)) {
      throw new Error(`fixture ${c.name}: values not representable as float32`);
    }
    return {
      name: c.name,
      category: c.category,
      kind: c.kind,
      p,
      q,
      normalize: c.normalize,
      base: c.base,
      expected: c.expected === "Infinity" ? Infinity : c.expected,
      expectedStr: c.expected_str,
      exactZero: c.exact_zero === true,
    };
  });
}

const cases = load();

/** How one run feeds a case to kl(): the two arguments, and what the bound is. */
interface InputType {
  name: string;
  kind: Kind;
  /** true: Float32Array pair (f32 kernel), bound 1e-6; false: f64 bound 1e-12 */
  f32: boolean;
  make(values: number[]): { arg: Float64Array | Float32Array | number[]; owner: ArrayBufferView | number[] };
  /** which of p / q gets the second maker (mixed pairs) */
  makeQ?: InputType["make"];
}

const PAD = 3; // odd offset for the subarray runs (elements of padding on each side)

function typed(Ctor: Float64ArrayConstructor | Float32ArrayConstructor) {
  return (values: number[]) => {
    const a = Ctor.from(values);
    return { arg: a, owner: a };
  };
}
function sub(Ctor: Float64ArrayConstructor | Float32ArrayConstructor, off: number) {
  return (values: number[]) => {
    // NaN padding: reading outside the subarray would make kl() throw
    const big = new Ctor(values.length + 2 * off).fill(NaN);
    big.set(values, off);
    return { arg: big.subarray(off, off + values.length), owner: big };
  };
}

const TYPES: InputType[] = [
  { name: "Float64Array", kind: "f64", f32: false, make: typed(Float64Array) },
  { name: `Float64Array.subarray(${PAD})`, kind: "f64", f32: false, make: sub(Float64Array, PAD) },
  { name: "number[]", kind: "f64", f32: false, make: (v) => { const a = v.slice(); return { arg: a, owner: a }; } },
  { name: "Float32Array", kind: "f32", f32: true, make: typed(Float32Array) },
  { name: "Float32Array.subarray(1)", kind: "f32", f32: true, make: sub(Float32Array, 1) },
  { name: "Float64Array (f32 values)", kind: "f32", f32: false, make: typed(Float64Array) },
  { name: `Float64Array.subarray(${PAD}) (f32 values)`, kind: "f32", f32: false, make: sub(Float64Array, PAD) },
  { name: "Float32Array p + Float64Array q", kind: "f32", f32: false, make: typed(Float32Array), makeQ: typed(Float64Array) },
];

const REL_F64 = 1e-12;
const REL_F32 = 1e-6;
const ZERO_F64 = 1e-15;
const ZERO_F32 = 1e-12;

function snapshot(owner: ArrayBufferView | number[]): Uint8Array | number[] {
  if (Array.isArray(owner)) return owner.slice();
  return new Uint8Array(owner.buffer, owner.byteOffset, owner.byteLength).slice();
}
function unchanged(owner: ArrayBufferView | number[], before: Uint8Array | number[]): boolean {
  const now = snapshot(owner);
  if (now.length !== before.length) return false;
  for (let i = 0; i < now.length; i++) if (!Object.is(now[i], before[i])) return false;
  return true;
}

// Worst relative error per backend and type, and every failure, for the summary.
interface Worst { rel: number; name: string; runs: number; passRel: number; passName: string }
const worst = new Map<string, Worst>();
const failures: string[] = [];
const runsPerBackend = new Map<Backend, number>();

function record(key: string, rel: number, name: string, pass: boolean): void {
  const w = worst.get(key) ?? { rel: 0, name: "-", runs: 0, passRel: 0, passName: "-" };
  w.runs++;
  if (rel > w.rel) {
    w.rel = rel;
    w.name = name;
  }
  if (pass && rel > w.passRel) {
    w.passRel = rel;
    w.passName = name;
  }
  worst.set(key, w);
}

const selected: Backend = await init();

beforeAll(async () => {
  await init();
});

const BACKENDS: Backend[] = [WASM, "js"];

for (const backendName of BACKENDS) {
  // the SIMD backend is skipped only where init() fell back to JS; the JS runs always happen
  describe.skipIf(backendName === WASM && selected !== WASM)(`${backendName} backend`, () => {
    for (const type of TYPES) {
      const applicable = cases.filter((c) => c.kind === type.kind);
      describe(type.name, () => {
        it.each(applicable)("$name", (c) => {
          useBackend(backendName);
          const p = type.make(c.p);
          const q = (type.makeQ ?? type.make)(c.q);
          const beforeP = snapshot(p.owner);
          const beforeQ = snapshot(q.owner);
          const options = c.base === null ? { normalize: c.normalize } : { normalize: c.normalize, base: c.base };
          const got = kl(p.arg, q.arg, options);
          // kl(p, q) without options takes a shorter path (src/engine/single.ts): the same number
          if (c.normalize && c.base === null) expect(Object.is(kl(p.arg, q.arg), got), `kl(p, q) without options`).toBe(true);
          runsPerBackend.set(backendName, (runsPerBackend.get(backendName) ?? 0) + 1);

          const where = `${c.name} [${backendName}, ${type.name}]`;
          expect(unchanged(p.owner, beforeP), `${where}: p was modified`).toBe(true);
          expect(unchanged(q.owner, beforeQ), `${where}: q was modified`).toBe(true);
          expect(Number.isNaN(got), `${where}: NaN`).toBe(false);

          const key = `${backendName} | ${type.name}`;
          const e = c.expected;
          let ok: boolean;
          let detail: string;
          if (e === Infinity) {
            ok = got === Infinity;
            detail = `expected Infinity, got ${got}`;
          } else if (e === 0) {
            const bound = c.exactZero ? 0 : type.f32 ? ZERO_F32 : ZERO_F64;
            ok = c.exactZero ? got === 0 : Math.abs(got) <= bound;
            detail = `expected ${c.exactZero ? "exactly " : ""}0, got ${got}`;
          } else {
            const rel = Math.abs(got - e) / Math.abs(e);
            const bound = type.f32 ? REL_F32 : REL_F64;
            ok = rel <= bound;
            record(key, Number.isNaN(rel) ? Infinity : rel, c.name, ok);
            detail = `expected ${c.expectedStr}, got ${got}, relative error ${rel.toExponential(2)} > ${bound}`;
          }
          if (!ok) failures.push(`${where}: ${detail}`);
          expect(ok, `${where}: ${detail}`).toBe(true);
        });
      });
    }
  });
}

describe("coverage", () => {
  it("ran every case on the JS backend, and on wasm-simd where init() selected it", () => {
    const runs = (kind: Kind) => cases.filter((c) => c.kind === kind).length * TYPES.filter((t) => t.kind === kind).length;
    const perBackend = runs("f64") + runs("f32");
    expect(runsPerBackend.get("js")).toBe(perBackend);
    expect(runsPerBackend.get(WASM) ?? 0).toBe(selected === WASM ? perBackend : 0);
  });
});

afterAll(() => {
  const rows = [...worst.entries()].map(([key, w]) => ({
    "backend | type": key,
    runs: w.runs,
    "worst rel. error": w.rel === 0 ? "0" : w.rel.toExponential(2),
    case: w.name,
    "worst within bound": w.passRel === 0 ? "0" : w.passRel.toExponential(2),
    "case ": w.passName,
  }));
  const counts = new Map<string, number>();
  for (const c of cases) counts.set(`${c.category} ${c.kind}`, (counts.get(`${c.category} ${c.kind}`) ?? 0) + 1);
  console.log(
    `oracle: ${cases.length} cases (${[...counts].map(([k, v]) => `${k}: ${v}`).join(", ")}); init() selected ${selected}\n` +
      `worst relative error over cases with a finite non-zero expected value:`,
  );
  console.table(rows);
  if (failures.length > 0) console.log(`oracle failures (${failures.length}):\n  ${failures.join("\n  ")}`);
});
