// Writes rows of random distributions to stdout (or a file) for the CLI benchmark:
//   node bench/cli-data.mjs ROWS DIM FORMAT [DIGITS] > file
// FORMAT csv (DIGITS significant digits, default 6; 17 = full precision) or npy/f32/f64
// (an .npy header, then float64 or float32 little-endian). Deterministic (a fixed-seed LCG),
// made in blocks so that 1e7 rows stream through a pipe in bounded memory.
import { writeSync } from "node:fs";

const [rows = 1e6, dim = 16] = process.argv.slice(2, 4).map(Number);
const format = process.argv[4] ?? "csv";
const digits = Number(process.argv[5] ?? 6);
let seed = 12345;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) + 0.5) / 2147483648;

function write(data) {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  for (let at = 0; at < bytes.length; ) {
    try {
      at += writeSync(1, bytes, at, bytes.length - at);
    } catch (error) {
      if (error.code !== "EAGAIN") throw error; // a non-blocking pipe that is full: try again
    }
  }
}

const block = 4096;
if (format === "csv") {
  for (let r0 = 0; r0 < rows; r0 += block) {
    let out = "";
    for (let r = r0; r < Math.min(rows, r0 + block); r++) {
      let line = "";
      for (let j = 0; j < dim; j++) line += (j ? "," : "") + (digits >= 17 ? String(random()) : random().toPrecision(digits));
      out += line + "\n";
    }
    write(out);
  }
} else {
  const f32 = format === "f32";
  if (format === "npy" || format === "npy32") {
    const descr = format === "npy32" ? "<f4" : "<f8";
    const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${rows}, ${dim}), }`;
    const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
    const header = Buffer.alloc(total, 0x20);
    header.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    header.writeUInt16LE(total - 10, 8);
    header.write(dict, 10, "latin1");
    header[total - 1] = 10;
    write(header);
  }
  const Type = f32 || format === "npy32" ? Float32Array : Float64Array;
  const buf = new Type(block * dim);
  for (let r0 = 0; r0 < rows; r0 += block) {
    const n = Math.min(block, rows - r0);
    for (let i = 0; i < n * dim; i++) buf[i] = random();
    write(new Uint8Array(buf.buffer, 0, n * dim * Type.BYTES_PER_ELEMENT));
  }
}
