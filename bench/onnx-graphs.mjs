// The ONNX graphs the onnxruntime-web peer runs (bench/peers.mjs), built here as bytes: a user
// would export them from Python, but the bench has no `onnx` package, so this hand-encodes the
// few ModelProto fields they need (field numbers from onnx/onnx.proto; opset 18, IR version 8).
// Both graphs take float32 rows of any length and normalise each row first, as kl-simd does.

// ----- protobuf wire format: varints (wire type 0) and length-delimited fields (wire type 2) -----
const varint = (value) => {
  const out = [];
  let v = BigInt.asUintN(64, BigInt(value)); // negatives as 64-bit two's complement
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? low | 0x80 : low);
  } while (v);
  return out;
};
const int = (field, value) => [...varint(field << 3), ...varint(value)];
const bytes = (field, body) => [...varint((field << 3) | 2), ...varint(body.length), ...body];
const str = (field, s) => bytes(field, [...new TextEncoder().encode(s)]);
const many = (field, list, encode) => list.flatMap((x) => encode(field, x));

const FLOAT = 1; // TensorProto.DataType
const INT64 = 7;
const INT = 2; // AttributeProto.AttributeType
const INTS = 7;

/** An integer attribute (i 3) or a list of them (ints 8): AttributeProto name 1, type 20. */
const attribute = (name, value) =>
  Array.isArray(value) ? [...str(1, name), ...many(8, value, int), ...int(20, INTS)] : [...str(1, name), ...int(3, value), ...int(20, INT)];
/** NodeProto: input 1, output 2, op_type 4, attribute 5. */
const node = (op, inputs, output, attributes = {}) => [
  ...many(1, inputs, str),
  ...str(2, output),
  ...str(4, op),
  ...Object.entries(attributes).flatMap(([name, value]) => bytes(5, attribute(name, value))),
];
/** ValueInfoProto: name 1, type 2 → TypeProto.tensor_type 1 → elem_type 1, shape 2 → dim 1 → dim_param 2. */
const tensorInfo = (name, dims) =>
  [...str(1, name), ...bytes(2, bytes(1, [...int(1, FLOAT), ...bytes(2, many(1, dims, (f, d) => bytes(f, str(2, d))))]))];
/** TensorProto of int64 values: dims 1, data_type 2, int64_data 7, name 8. */
const int64s = (name, values) => [...int(1, values.length), ...int(2, INT64), ...many(7, values, int), ...str(8, name)];

/** ModelProto: ir_version 1, graph 7 (GraphProto: node 1, name 2, initializer 5, input 11, output 12), opset_import 8. */
function model(name, nodes, inputs, output) {
  const graph = [
    ...many(1, nodes, bytes),
    ...str(2, name),
    ...bytes(5, int64s("last", [-1])), // ReduceSum's axes (an input since opset 13)
    ...many(11, inputs, bytes),
    ...bytes(12, output),
  ];
  return Uint8Array.from([...int(1, 8), ...bytes(7, graph), ...bytes(8, int(2, 18))]);
}

/** Each row normalised to sum 1: x / ReduceSum(x, last axis). */
const normalised = (x) => [
  node("ReduceSum", [x, "last"], `${x}_total`),
  node("Div", [x, `${x}_total`], `${x}_n`),
];

/**
 * D(p‖q) of each row of p and q ([rows, d] each, float32) → kl [rows]:
 * ReduceSum(P·Log(P/Q)) over the last axis with P, Q the rows normalised. One vector is one row.
 */
export const rowsKlModel = () =>
  model(
    "rows_kl",
    [
      ...normalised("p"),
      ...normalised("q"),
      node("Div", ["p_n", "q_n"], "ratio"),
      node("Log", ["ratio"], "log_ratio"),
      node("Mul", ["p_n", "log_ratio"], "terms"),
      node("ReduceSum", ["terms", "last"], "kl", { keepdims: 0 }),
    ],
    [tensorInfo("p", ["rows", "d"]), tensorInfo("q", ["rows", "d"])],
    tensorInfo("kl", ["rows"]),
  );

/**
 * D(aᵢ‖bⱼ) for every row of a ([m, d]) against every row of b ([n, d]) → kl [m, n], through one
 * matrix product: rowsum(A·ln A) − A·(ln B)ᵀ with A, B the rows normalised.
 */
export const pairwiseKlModel = () =>
  model(
    "pairwise_kl",
    [
      ...normalised("a"),
      ...normalised("b"),
      node("Log", ["a_n"], "log_a"),
      node("Log", ["b_n"], "log_b"),
      node("Mul", ["a_n", "log_a"], "a_log_a"),
      node("ReduceSum", ["a_log_a", "last"], "neg_entropy"), // [m, 1]
      node("Transpose", ["log_b"], "log_b_t", { perm: [1, 0] }),
      node("MatMul", ["a_n", "log_b_t"], "cross"), // [m, n]
      node("Sub", ["neg_entropy", "cross"], "kl"),
    ],
    [tensorInfo("a", ["m", "d"]), tensorInfo("b", ["n", "d"])],
    tensorInfo("kl", ["m", "n"]),
  );
