// The NumPy .npy format (numpy.lib.format): "\x93NUMPY", version, header length, then a Python
// dict literal {'descr': '<f8', 'fortran_order': False, 'shape': (rows, dim), } padded with
// spaces and "\n" so the data starts at a multiple of 64 bytes.

export const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * The longest header this tool reads: every version 1.0 header (a 16-bit length) fits, and NumPy
 * itself reads at most 10,000 bytes of header unless told otherwise (np.load's max_header_size):
 * a larger length (a v2/v3 header can say up to 4 GiB) is a corrupt file, refused before a buffer
 * of that size is made.
 */
export const NPY_MAX_HEADER = 10 + 0xffff;

/** The header's length in bytes (10 or 12 + dict), from its first bytes, or an error text. */
export function npyPrefixLength(b: Uint8Array): number | string {
  if (b.length < 10 || NPY_MAGIC.some((m, i) => b[i] !== m)) return "not a .npy file (no \\x93NUMPY magic)";
  const major = b[6];
  if (major === 1) return 10 + (b[8] | (b[9] << 8));
  if (major === 2 || major === 3) {
    if (b.length < 12) return "truncated .npy header";
    return 12 + (b[8] | (b[9] << 8) | (b[10] << 16)) + b[11] * 2 ** 24;
  }
  return `unsupported .npy format version ${major}.${b[7]}`;
}

/** The element type and shape of a whole header (the bytes up to the data), or what keeps this tool from reading it. */
export function parseNpyHeader(b: Uint8Array): { type: "f32" | "f64"; rows: number; dim: number } | string {
  const total = npyPrefixLength(b);
  if (typeof total === "string") return total;
  const start = b[6] === 1 ? 10 : 12;
  const dict = Buffer.from(b.buffer, b.byteOffset + start, total - start).toString("latin1");
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(dict)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(dict)?.[1];
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(dict)?.[1];
  if (descr === undefined || fortran === undefined || shape === undefined) return `unreadable .npy header ${JSON.stringify(dict.trim())}`;
  const dims = shape.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) return `unreadable .npy shape (${shape})`;
  const type = descr === "<f8" || descr === "=f8" ? "f64" : descr === "<f4" || descr === "=f4" ? "f32" : null;
  if (type === null) return `dtype '${descr}' is not supported; save float32 or float64 little-endian (arr.astype('<f8'))`;
  if (dims.length < 1 || dims.length > 2) return `a ${dims.length}-D array; expected rows × values (2-D) or one row (1-D)`;
  const [rows, dim] = dims.length === 1 ? [1, dims[0]] : dims;
  if (fortran === "True" && rows > 1 && dim > 1) return "Fortran-order array; save it in C order (np.ascontiguousarray(arr))";
  return dim < 1 ? "rows of 0 values" : { type, rows, dim };
}

/**
 * A version 1.0 header for `descr` and `shape`, padded to `minLength` (rounded up to 64) so a
 * header with a larger row count can later be written over it in place.
 */
export function npyHeader(descr: string, shape: number[], minLength = 0): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  let total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  if (total < minLength) total = Math.ceil(minLength / 64) * 64;
  const headerLength = total - 10;
  const out = new Uint8Array(total);
  out.set([...NPY_MAGIC, 1, 0, headerLength & 0xff, headerLength >> 8]); // version 1.0, then the length
  const text = dict.padEnd(headerLength - 1, " ") + "\n";
  for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i);
  return out;
}
