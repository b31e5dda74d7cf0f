// The input types every known-answer suite runs its vectors through: each element type, plain
// arrays, and subarrays at an odd offset inside a buffer filled with a sentinel (so a read
// outside the view, or a write to the caller's array, shows).
export type Kind = "f64" | "f32";
export type Input = Float64Array | Float32Array | number[];

/** The argument passed, and the array that owns its memory (to check it is not modified). */
export interface Made {
  arg: Input;
  owner: Input;
}

export interface InputType {
  name: string;
  /** which cases it runs: f64 values, or values exact in f32 */
  kind: Kind;
  /** two Float32Arrays run the f32 kernel: bound 1e-6 */
  f32: boolean;
  make(values: number[]): Made;
}

/** The odd offset of the subarray runs. */
export const PAD = 3;

function typed(C: Float64ArrayConstructor | Float32ArrayConstructor, offset = 0) {
  return (values: number[]): Made => {
    const owner = new C(values.length + 2 * offset);
    owner.fill(offset > 0 ? 12345 : 0);
    owner.set(values, offset);
    return { arg: offset > 0 ? owner.subarray(offset, offset + values.length) : owner, owner };
  };
}

export const TYPES: InputType[] = [
  { name: "Float64Array", kind: "f64", f32: false, make: typed(Float64Array) },
  { name: "number[]", kind: "f64", f32: false, make: (v) => { const a = v.slice(); return { arg: a, owner: a }; } },
  { name: "Float64Array subarray", kind: "f64", f32: false, make: typed(Float64Array, PAD) },
  { name: "Float32Array", kind: "f32", f32: true, make: typed(Float32Array) },
  { name: "Float32Array subarray", kind: "f32", f32: true, make: typed(Float32Array, PAD) },
  { name: "Float64Array (f32 values)", kind: "f32", f32: false, make: typed(Float64Array) },
];
