// Every way kl() can be called wrongly, on both backends: the error class (KLRangeError /
// KLTypeError, and through them RangeError / TypeError), the stable `code`, a message that
// names the argument, the index and the value, and inputs left untouched by the failing call.
//
// Invalid element values are placed at index 0, the last index and positions around the
// kernel's SIMD blocks (32 doubles / 64 floats) and scratch chunks (4096 doubles / 8192
// floats): first, middle and last chunk of 10 000- and 20 000-element inputs.
import { describe, expect, it } from "vitest";
import { init, kl, KLRangeError, KLTypeError, useBackend, type KLErrorCode, type KLOptions } from "../src/index.js";
import { WASM, type Backend } from "./backends.js";

type Arg = "p" | "q";
type Input = Float64Array | Float32Array | number[];

const selected: Backend = await init();
const BACKENDS: Backend[] = [WASM, "js"];

interface InputType {
  name: string;
  make(n: number, f: (i: number) => number): Input;
}

const TYPES: InputType[] = [
  { name: "Float64Array", make: (n, f) => fill(new Float64Array(n), f) },
  { name: "Float32Array", make: (n, f) => fill(new Float32Array(n), f) },
  { name: "number[]", make: (n, f) => fill(new Array<number>(n).fill(0), f) },
];

function fill<T extends Input>(a: T, f: (i: number) => number): T {
  for (let i = 0; i < a.length; i++) a[i] = f(i);
  return a;
}

// Positive, normal backgrounds (every block would take the SIMD fast path) ...
const P_BASE = (i: number): number => 1 + (i % 7);
const Q_BASE = (i: number): number => 1 + ((3 * i) % 11);
// ... and backgrounds with zeros, q = 0 under p > 0 (an Infinity result) and subnormals,
// which send every block to the kernel's scalar path: the invalid value must still win.
const P_MIXED = (i: number): number => (i % 5 === 0 ? 0 : i % 13 === 0 ? 5e-324 : 1 + (i % 7));
const Q_MIXED = (i: number): number => (i % 7 === 3 ? 0 : i % 11 === 0 ? 1e-310 : 1 + ((3 * i) % 11));

interface BadValue {
  label: string;
  value: number;
  code: KLErrorCode;
  /** the message tail after "p[i] is <value>" */
  tail: RegExp;
}

const BAD_VALUES: BadValue[] = [
  { label: "negative", value: -0.1, code: "KL_NEGATIVE", tail: /; values must be ≥ 0$/ },
  { label: "NaN", value: NaN, code: "KL_NAN", tail: /$/ },
  { label: "+Infinity", value: Infinity, code: "KL_INFINITE", tail: /; values must be finite$/ },
  { label: "-Infinity", value: -Infinity, code: "KL_INFINITE", tail: /; values must be finite$/ },
];

/** Lengths and the indices at which a bad value is placed. */
const POSITIONS: Array<[number, number[]]> = [
  [1, [0]],
  [5, [0, 2, 4]],
  [37, [0, 31, 32, 36]], // a full and a partial f64 block, a partial f32 block
  [100, [0, 63, 64, 70, 99]],
  [10000, [0, 70, 4095, 4096, 5000, 8191, 8192, 9999]], // 3 f64 chunks, 2 f32 chunks
  [20000, [0, 12000, 16383, 16384, 19999]], // 3 f32 chunks
];

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to throw, it returned");
}

/** Asserts the class (own and built-in), the name, the code and the message patterns. */
function expectKLError(f: () => unknown, kind: "range" | "type", code: KLErrorCode, ...patterns: RegExp[]): void {
  const error = thrown(f);
  if (kind === "range") {
    expect(error).toBeInstanceOf(KLRangeError);
    expect(error).toBeInstanceOf(RangeError);
    expect(error).not.toBeInstanceOf(TypeError);
    expect((error as Error).name).toBe("KLRangeError");
  } else {
    expect(error).toBeInstanceOf(KLTypeError);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).not.toBeInstanceOf(RangeError);
    expect((error as Error).name).toBe("KLTypeError");
  }
  expect(error).toBeInstanceOf(Error);
  const { code: got, message } = error as KLRangeError;
  expect(got).toBe(code);
  for (const pattern of patterns) expect(message).toMatch(pattern);
}

type Snapshot = unknown[] | Uint8Array | null;

function bytesOf(v: Float64Array | Float32Array): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}
function snapshot(v: unknown): Snapshot {
  if (Array.isArray(v)) return v.slice(); // keeps holes
  if (v instanceof Float64Array || v instanceof Float32Array) return bytesOf(v).slice();
  return null;
}
/** The first difference (bit pattern, sign of zero, NaN-ness or a hole), or null. */
function difference(v: unknown, before: Snapshot): string | null {
  if (before === null) return null;
  if (before instanceof Uint8Array) {
    const now = bytesOf(v as Float64Array | Float32Array);
    if (now.length !== before.length) return `byte length ${before.length} -> ${now.length}`;
    for (let i = 0; i < now.length; i++) if (now[i] !== before[i]) return `byte ${i}`;
    return null;
  }
  const now = v as unknown[];
  if (now.length !== before.length) return `length ${before.length} -> ${now.length}`;
  for (let i = 0; i < now.length; i++) {
    if (!Object.is(now[i], before[i]) || (i in now) !== (i in before)) {
      return `index ${i}: ${String(before[i])} -> ${String(now[i])}`;
    }
  }
  return null;
}
function expectUnchanged(v: unknown, before: Snapshot): void {
  const diff = difference(v, before);
  if (diff !== null) expect.fail(`input modified at ${diff}`);
}

/** Runs kl() expecting a throw, then checks that neither input changed. */
function expectFailsCleanly(p: unknown, q: unknown, options: unknown, check: (f: () => unknown) => void): void {
  const beforeP = snapshot(p), beforeQ = snapshot(q);
  check(() => kl(p as Input, q as Input, options as undefined));
  expectUnchanged(p, beforeP);
  expectUnchanged(q, beforeQ);
}

/** Message pattern for an invalid value: "p[70] is -0.1…". */
function valueMessage(arg: Arg, index: number, stored: number): RegExp {
  return new RegExp(`^${arg}\\[${index}\\] is ${escapeRe(String(stored))}(;|$)`);
}

for (const backendName of BACKENDS) {
  describe.skipIf(backendName === WASM && selected !== WASM)(`${backendName} backend`, () => {
    const use = (): void => useBackend(backendName);

    describe("negative, NaN and infinite elements", () => {
      for (const type of TYPES) {
        for (const [length, indices] of POSITIONS) {
          for (const index of indices) {
            for (const arg of ["p", "q"] as Arg[]) {
              it(`${type.name}: ${arg}[${index}] of ${length}`, () => {
                use();
                const runs: Array<[(i: number) => number, (i: number) => number, KLOptions | undefined]> = [
                  [P_BASE, Q_BASE, undefined],
                  [P_BASE, Q_BASE, { normalize: false }], // the plain-sum kernel
                  [P_BASE, Q_BASE, { base: 2 }],
                  [P_MIXED, Q_MIXED, undefined],
                ];
                for (const [pf, qf, options] of runs) {
                  const p0 = type.make(length, pf);
                  const q0 = type.make(length, qf);
                  for (const bad of BAD_VALUES) {
                    const p = p0.slice();
                    const q = q0.slice();
                    const target = arg === "p" ? p : q;
                    target[index] = bad.value;
                    const stored = target[index]!; // -0.1 reads back as float32 in a Float32Array
                    expectFailsCleanly(p, q, options, (f) =>
                      expectKLError(f, "range", bad.code, valueMessage(arg, index, stored), bad.tail),
                    );
                  }
                }
              });
            }
          }
        }
      }
    });

    describe("the first offending element in index order is reported", () => {
      for (const type of TYPES) {
        const n = 10000;
        const make = (bad: Array<[Arg, number, number]>) => {
          const p = type.make(n, P_BASE);
          const q = type.make(n, Q_BASE);
          for (const [arg, i, v] of bad) (arg === "p" ? p : q)[i] = v;
          return { p, q };
        };
        const cases: Array<{ name: string; bad: Array<[Arg, number, number]>; want: [Arg, number, KLErrorCode] }> = [
          { name: "two in p", bad: [["p", 5000, NaN], ["p", 70, -1]], want: ["p", 70, "KL_NEGATIVE"] },
          { name: "later p, earlier q", bad: [["p", 5000, -1], ["q", 70, Infinity]], want: ["q", 70, "KL_INFINITE"] },
          { name: "earlier p, later q", bad: [["q", 9999, NaN], ["p", 8192, -Infinity]], want: ["p", 8192, "KL_INFINITE"] },
          { name: "p and q at the same index: p first", bad: [["q", 4096, NaN], ["p", 4096, -2]], want: ["p", 4096, "KL_NEGATIVE"] },
          { name: "neighbours in one block", bad: [["p", 34, NaN], ["q", 33, -Infinity], ["p", 35, -3]], want: ["q", 33, "KL_INFINITE"] },
          { name: "one in every chunk", bad: [["q", 9000, -1], ["p", 5000, NaN], ["q", 100, NaN]], want: ["q", 100, "KL_NAN"] },
          { name: "several in the last chunk", bad: [["p", 9999, NaN], ["q", 9998, -1], ["q", 8200, Infinity]], want: ["q", 8200, "KL_INFINITE"] },
        ];
        for (const c of cases) {
          it(`${type.name}: ${c.name}`, () => {
            use();
            const { p, q } = make(c.bad);
            const [arg, index, code] = c.want;
            const stored = (arg === "p" ? p : q)[index]!;
            for (const options of [undefined, { normalize: false }]) {
              expectFailsCleanly(p, q, options, (f) => expectKLError(f, "range", code, valueMessage(arg, index, stored)));
            }
          });
        }
      }

      it("type errors are found before value errors, p before q", () => {
        use();
        // p[0] is NaN, but p[1] is not a number at all: shapes are checked first
        expectFailsCleanly([NaN, "x", 1], [1, 1, 1], undefined, (f) => expectKLError(f, "type", "KL_NOT_NUMBER", /^p\[1\] /));
        // the whole of p is checked before q
        expectFailsCleanly([1, 1, 1, null], ["x", 1, 1, 1], undefined, (f) => expectKLError(f, "type", "KL_NOT_NUMBER", /^p\[3\] /));
        // within one array, the first
        expectFailsCleanly([1, 1, 1, 1], [1, null, "x", undefined], undefined, (f) =>
          expectKLError(f, "type", "KL_NOT_NUMBER", /^q\[1\] /),
        );
      });
    });

    describe("length mismatch", () => {
      const pairs: Array<[string, () => [Input, Input], number, number]> = [
        ["number[] 2 vs 3", () => [[0.5, 0.5], [0.2, 0.3, 0.5]], 2, 3],
        ["Float64Array 4 vs 3", () => [new Float64Array([1, 2, 3, 4]), new Float64Array([1, 2, 3])], 4, 3],
        ["Float32Array 1 vs 64", () => [new Float32Array([1]), new Float32Array(64).fill(1)], 1, 64],
        ["Float32Array vs number[]", () => [new Float32Array([1, 2, 3]), [1, 2]], 3, 2],
        ["Float64Array 10000 vs 9999", () => [new Float64Array(10000).fill(1), new Float64Array(9999).fill(1)], 10000, 9999],
        ["non-empty vs empty", () => [[1], []], 1, 0],
        ["empty vs non-empty", () => [new Float64Array(0), new Float64Array([1])], 0, 1],
        // lengths are checked before element values
        ["invalid values too", () => [[NaN, -1], [Infinity]], 2, 1],
      ];
      for (const [name, make, a, b] of pairs) {
        it(name, () => {
          use();
          const [p, q] = make();
          for (const options of [undefined, { normalize: false }]) {
            expectFailsCleanly(p, q, options, (f) =>
              expectKLError(f, "range", "KL_LENGTH_MISMATCH", new RegExp(`\\b${a}\\b.*\\b${b}\\b`)),
            );
          }
        });
      }
    });

    describe("empty input", () => {
      for (const type of TYPES) {
        it(type.name, () => {
          use();
          for (const options of [undefined, { normalize: false }, { base: 2 }]) {
            expectFailsCleanly(type.make(0, P_BASE), type.make(0, Q_BASE), options, (f) =>
              expectKLError(f, "range", "KL_EMPTY", /empty/),
            );
          }
        });
      }
    });

    describe("zero sums", () => {
      for (const type of TYPES) {
        for (const n of [1, 3, 37, 10000]) {
          it(`${type.name}, length ${n}: normalising a zero sum throws`, () => {
            use();
            const zero = (): Input => type.make(n, () => 0);
            expectFailsCleanly(zero(), type.make(n, Q_BASE), undefined, (f) => expectKLError(f, "range", "KL_ZERO_SUM", /^p\b/));
            expectFailsCleanly(type.make(n, P_BASE), zero(), undefined, (f) => expectKLError(f, "range", "KL_ZERO_SUM", /^q\b/));
            expectFailsCleanly(zero(), zero(), { base: 2 }, (f) => expectKLError(f, "range", "KL_ZERO_SUM", /^p\b/));
            // -0 sums to zero as well
            expectFailsCleanly(type.make(n, () => -0), type.make(n, Q_BASE), undefined, (f) =>
              expectKLError(f, "range", "KL_ZERO_SUM", /^p\b/),
            );
          });

          it(`${type.name}, length ${n}: normalize:false accepts zero sums and q = 0 under p = 0`, () => {
            use();
            const zero = (): Input => type.make(n, () => 0);
            expect(kl(zero(), zero(), { normalize: false })).toBe(0);
            expect(kl(zero(), type.make(n, Q_BASE), { normalize: false })).toBe(0);
            // p = 0 exactly where q = 0, elsewhere p = q: every term is 0
            const p = type.make(n, (i) => (i % 3 === 1 ? 0 : P_BASE(i)));
            const q = type.make(n, (i) => (i % 3 === 1 ? 0 : P_BASE(i)));
            expect(kl(p, q, { normalize: false })).toBe(0);
            expect(kl(p, q)).toBe(0);
            // but q = 0 under p > 0 is Infinity, not an error
            expect(kl(type.make(n, P_BASE), zero(), { normalize: false })).toBe(Infinity);
          });
        }
      }
    });

    describe("overflow", () => {
      it("sums beyond the double range throw KL_OVERFLOW", () => {
        use();
        const options = { normalize: false };
        expectFailsCleanly([1e308, 1e308], [1, 1], options, (f) => expectKLError(f, "range", "KL_OVERFLOW", /range/));
        expectFailsCleanly(new Float64Array([1, 1.7e308, 1.7e308]), new Float64Array([1, 1, 1]), options, (f) =>
          expectKLError(f, "range", "KL_OVERFLOW", /range/),
        );
      });

      it("normalised, totals beyond the double range still give the finite divergence", () => {
        use();
        expect(kl([1e308, 1e308], [1, 1])).toBe(0);
        // p/P = [2.9e-309, ½, ½] against ⅓ each: ln 1.5 (mpmath: 0.405465108108164381978013115464…; the
        // first element's a·ln(3a) ≈ −2e-306 does not show)
        expect(Math.abs(kl(new Float64Array([1, 1.7e308, 1.7e308]), new Float64Array([1, 1, 1])) / 0.4054651081081644 - 1)).toBeLessThan(1e-14);
      });
    });

    describe("arguments that are not arrays", () => {
      const notArrays: Array<[string, () => unknown, RegExp]> = [
        ["undefined", () => undefined, /undefined/],
        ["null", () => null, /null/],
        ["a number", () => 5, /5/],
        ["a string", () => "0.5,0.5", /"0\.5,0\.5"/],
        ["an object", () => ({ 0: 0.5, 1: 0.5, length: 2 }), /Object/],
        ["an object without prototype", () => Object.create(null) as unknown, /object/],
        ["an Int32Array", () => new Int32Array([1, 1]), /Int32Array/],
        ["a Uint8Array", () => new Uint8Array([1, 1]), /Uint8Array/],
        ["a DataView", () => new DataView(new ArrayBuffer(16)), /DataView/],
        ["an ArrayBuffer", () => new ArrayBuffer(16), /ArrayBuffer/],
        ["a Set", () => new Set([0.5, 0.5]), /Set/],
      ];
      for (const [name, make, describes] of notArrays) {
        for (const arg of ["p", "q"] as Arg[]) {
          it(`${arg} is ${name}`, () => {
            use();
            const valid = [0.5, 0.5];
            const [p, q] = arg === "p" ? [make(), valid] : [valid, make()];
            expectFailsCleanly(p, q, undefined, (f) =>
              expectKLError(f, "type", "KL_NOT_ARRAY", new RegExp(`^${arg} must be`), describes),
            );
          });
        }
      }
      it("p is checked before q", () => {
        use();
        expectFailsCleanly(null, 5, undefined, (f) => expectKLError(f, "type", "KL_NOT_ARRAY", /^p must be/));
      });
    });

    describe("array elements that are not numbers", () => {
      const values: Array<[string, unknown, RegExp]> = [
        ['"0.5"', "0.5", /"0\.5"/],
        ["null", null, /null/],
        ["undefined", undefined, /undefined/],
        ["a boolean", true, /true/],
        ["a bigint", 1n, /bigint 1/],
        ["a Number object", new Number(0.5), /Number/],
        ["an array", [0.5], /array/],
      ];
      const shapes: Array<[number, number[]]> = [[1, [0]], [5, [0, 2, 4]], [10000, [0, 70, 5000, 9999]]];
      for (const arg of ["p", "q"] as Arg[]) {
        for (const [n, indices] of shapes) {
          for (const index of indices) {
            it(`${arg}[${index}] of ${n}`, () => {
              use();
              const check = (make: (a: unknown[]) => void, describes: RegExp): void => {
                const p: unknown[] = Array.from({ length: n }, (_, i) => P_BASE(i));
                const q: unknown[] = Array.from({ length: n }, (_, i) => Q_BASE(i));
                make(arg === "p" ? p : q);
                expectFailsCleanly(p, q, undefined, (f) =>
                  expectKLError(f, "type", "KL_NOT_NUMBER", new RegExp(`^${arg}\\[${index}\\] must be a number`), describes),
                );
              };
              for (const [, value, describes] of values) {
                check((a) => {
                  a[index] = value;
                }, describes);
              }
              // a hole reads as undefined
              check((a) => {
                delete a[index];
              }, /undefined/);
            });
          }
        }
      }
    });

    describe("bad options", () => {
      const valid: [number[], number[]] = [[0.5, 0.5], [0.7, 0.3]];
      const bad: Array<[string, unknown, "range" | "type", RegExp]> = [
        ["normalize: \"yes\"", { normalize: "yes" }, "type", /options\.normalize must be a boolean.*"yes"/],
        ["normalize: 1", { normalize: 1 }, "type", /options\.normalize must be a boolean.*1/],
        ["normalize: null", { normalize: null }, "type", /options\.normalize must be a boolean.*null/],
        ["base: 1", { base: 1 }, "range", /options\.base .*\b1$/],
        ["base: 0", { base: 0 }, "range", /options\.base .*\b0$/],
        ["base: -2", { base: -2 }, "range", /options\.base .*-2$/],
        ["base: NaN", { base: NaN }, "range", /options\.base .*NaN$/],
        ["base: Infinity", { base: Infinity }, "range", /options\.base .*\bInfinity$/],
        ["base: -Infinity", { base: -Infinity }, "range", /options\.base .*-Infinity$/],
        ["base: \"2\"", { base: "2" }, "type", /options\.base must be a number, got "2"$/],
        ["options = 5", 5, "type", /options must be an object.*5/],
        ["options = null", null, "type", /options must be an object.*null/],
        ["options = \"base 2\"", "base 2", "type", /options must be an object.*"base 2"/],
        ["options = true", true, "type", /options must be an object.*true/],
      ];
      for (const [name, options, kind, message] of bad) {
        it(name, () => {
          use();
          expectFailsCleanly(valid[0].slice(), valid[1].slice(), options, (f) => expectKLError(f, kind, "KL_BAD_OPTION", message));
          // options are checked even when the arrays are fine and long, and before the arrays
          expectFailsCleanly(new Float64Array(10000).fill(1), new Float64Array(10000).fill(2), options, (f) =>
            expectKLError(f, kind, "KL_BAD_OPTION", message),
          );
          expectFailsCleanly(null, [NaN], options, (f) => expectKLError(f, kind, "KL_BAD_OPTION", message));
        });
      }
      it("valid options still work", () => {
        use();
        expect(kl(valid[0], valid[1], {})).toBe(kl(valid[0], valid[1]));
        expect(kl(valid[0], valid[1], { normalize: true, base: Math.E })).toBe(kl(valid[0], valid[1]));
        expect(kl(valid[0], valid[1], { base: undefined })).toBe(kl(valid[0], valid[1]));
        expect(kl(valid[0], valid[1], { base: 1.5 })).toBeGreaterThan(0);
      });
    });
  });
}

describe("error classes", () => {
  it("carry a code and the built-in parent class", () => {
    const r = new KLRangeError("KL_NAN", "x");
    const t = new KLTypeError("KL_NOT_ARRAY", "y");
    expect(r).toBeInstanceOf(RangeError);
    expect(t).toBeInstanceOf(TypeError);
    expect([r.code, r.name, r.message]).toEqual(["KL_NAN", "KLRangeError", "x"]);
    expect([t.code, t.name, t.message]).toEqual(["KL_NOT_ARRAY", "KLTypeError", "y"]);
  });
});
