// Row readers: every input format read as blocks of rows in one reused row-major buffer, so
// memory stays bounded whatever the input's size. Text (CSV, TSV, whitespace, NDJSON) is
// parsed from the bytes into a Float64Array; binary (.npy, raw f32/f64) is read straight into
// an ArrayBuffer that the block's typed array views: no copy, no object per row.
import { closeSync, openSync, readSync } from "node:fs";
import type { InputKind } from "../index.js";
import type { FileRows } from "../parallel/api.js";
import { CliError, usage } from "./errors.js";
import { npyPrefixLength, parseNpyHeader } from "./npy.js";
import { latin1, parseNumber, scanned } from "./numbers.js";
import type { ByteSource } from "./sources.js";

export type Format = "csv" | "tsv" | "ndjson" | "npy" | "f32" | "f64";
export const FORMATS: readonly Format[] = ["csv", "tsv", "ndjson", "npy", "f32", "f64"];
export type Values = Float64Array | Float32Array;

export interface Block {
  /** rows × dim values, row-major; valid until the next call of `next` (of a slice: read when first used) */
  values: Values;
  /** the rows' place in their file, where workers read them themselves (`nextSlice`) */
  slice?: FileRows;
  rows: number;
  /** the input row index (0-based, data rows only) of the block's first row */
  first: number;
  /** with --on-error skip: 1 marks a row that had an error (its values are placeholders) */
  bad: Uint8Array | null;
}

export interface RowReader {
  readonly name: string;
  readonly format: Format;
  /** the row length: known from the start (binary, or given) or after the first row */
  readonly dim: number | null;
  /** the next up-to-`maxRows` rows (fewer only at the end), or null after the last */
  next(maxRows: number): Promise<Block | null>;
  /** "file:line" (text) or "file: row i (byte offset b)" (binary) of row r of the last block */
  where(r: number): string;
  bytesRead(): number;
  readonly size: number | null;
  /** the number of rows, where known before reading them (.npy, raw files) */
  readonly rowCount: number | null;
  close(): void;
}

/** Rows skipped with --on-error skip: how many, and the first message. */
export interface Skips {
  count: number;
  first: string | null;
}

export interface ReadOptions {
  format: Format | null;
  dim: number | null;
  /** how values are checked: probabilities ≥ 0 and finite; log kinds < +Infinity */
  kind: InputKind;
  /**
   * csv/tsv: true = the first line is a header, false = none, null = guess: a first line of
   * names only (each field starts with a letter or "_") is a header, said on stderr by `note`
   */
  header: boolean | null;
  /** ndjson objects: the field holding the row */
  field: string | null;
  /** --on-error skip: record bad rows in `skips` and go on */
  skips: Skips | null;
  blockRows: number;
  /** a line for stderr: what a guess took (a header), or a first line that looks like one */
  note?: (text: string) => void;
}

const SNIFF_BYTES = 1 << 16;

/** Opens a reader of `source`, the format from `options.format`, the extension, or the bytes. */
export async function openReader(source: ByteSource, options: ReadOptions): Promise<RowReader> {
  const head = new Uint8Array(SNIFF_BYTES);
  const n = await source.read(head);
  const prefixed = withPrefix(source, head.subarray(0, n));
  const format = options.format ?? formatOf(source.name, head.subarray(0, n));
  if (format === "npy") return npyReader(prefixed, options, head.subarray(0, n));
  if (format === "f32" || format === "f64") {
    if (options.dim === null) throw usage(`${source.name}: raw ${format} input needs --dim (the values per row)`);
    return new BinaryReader(prefixed, format, format === "f32" ? 4 : 8, options.dim, 0, null, options.blockRows);
  }
  return new TextReader(prefixed, format, options);
}

function formatOf(name: string, head: Uint8Array): Format {
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
  if (ext === "csv") return "csv";
  if (ext === "tsv" || ext === "tab") return "tsv";
  if (ext === "ndjson" || ext === "jsonl" || ext === "json") return "ndjson";
  if (ext === "npy") return "npy";
  if (ext === "f32" || ext === "f64") return ext;
  if (typeof npyPrefixLength(head) === "number") return "npy";
  for (let i = 0; i < head.length; i++) {
    const c = head[i];
    if (c === 32 || c === 9 || c === 10 || c === 13) continue;
    if (c === 0x5b || c === 0x7b) return "ndjson"; // [ or {
    break;
  }
  return "csv"; // the CSV reader also takes tabs or blanks as separators
}

/** `source` with `prefix` (bytes already read from it) put back in front. */
function withPrefix(source: ByteSource, prefix: Uint8Array): ByteSource {
  let rest: Uint8Array | null = prefix.length > 0 ? prefix : null;
  return {
    name: source.name,
    size: source.size,
    async read(into) {
      if (rest === null) return source.read(into);
      const take = Math.min(rest.length, into.length);
      into.set(rest.subarray(0, take));
      rest = take === rest.length ? null : rest.subarray(take);
      if (take === into.length) return take;
      return take + (await source.read(into.subarray(take)));
    },
    close: () => source.close(),
  };
}

// ---------------------------------------------------------------------------------------
// Binary: .npy and raw little-endian floats.

async function npyReader(source: ByteSource, options: ReadOptions, head: Uint8Array): Promise<RowReader> {
  const total = npyPrefixLength(head);
  if (typeof total === "string") throw new CliError(`${source.name}: ${total}`);
  const headerBytes = new Uint8Array(total);
  const got = await source.read(headerBytes);
  const header = got === total ? parseNpyHeader(headerBytes) : "truncated .npy header";
  if (typeof header === "string") throw new CliError(`${source.name}: ${header}`);
  const { descr, shape, fortranOrder } = header;
  const type = descr === "<f8" || descr === "=f8" ? "f64" : descr === "<f4" || descr === "=f4" ? "f32" : null;
  if (type === null) {
    throw new CliError(`${source.name}: dtype '${descr}' is not supported; save float32 or float64 little-endian (arr.astype('<f8'))`);
  }
  if (shape.length < 1 || shape.length > 2) throw new CliError(`${source.name}: a ${shape.length}-D array; expected rows × values (2-D) or one row (1-D)`);
  const [rows, dim] = shape.length === 1 ? [1, shape[0]] : shape;
  if (fortranOrder && rows > 1 && dim > 1) {
    throw new CliError(`${source.name}: Fortran-order array; save it in C order (np.ascontiguousarray(arr))`);
  }
  if (dim < 1) throw new CliError(`${source.name}: rows of 0 values`);
  if (options.dim !== null && options.dim !== dim) throw new CliError(`${source.name}: rows of ${dim} values, expected ${options.dim}`);
  return new BinaryReader(source, "npy", type === "f32" ? 4 : 8, dim, total, rows, options.blockRows);
}

class BinaryReader implements RowReader {
  private readonly buffer: ArrayBuffer;
  private row = 0;
  private first = 0;
  private bytes: number;
  readonly name: string;
  readonly size: number | null;
  readonly rowCount: number | null;

  constructor(
    private readonly source: ByteSource,
    readonly format: Format,
    private readonly elementBytes: 4 | 8,
    readonly dim: number,
    private readonly dataOffset: number,
    private readonly expectedRows: number | null,
    blockRows: number,
  ) {
    this.name = source.name;
    this.size = source.size;
    this.bytes = dataOffset;
    const rowBytes = dim * elementBytes;
    this.rowCount = expectedRows ?? (source.size !== null && source.size % rowBytes === 0 ? source.size / rowBytes : null);
    this.capacity = blockRows_(blockRows, dim);
    this.buffer = new ArrayBuffer(this.capacity * dim * elementBytes);
  }

  private readonly capacity: number;

  async next(maxRows: number): Promise<Block | null> {
    const rowBytes = this.dim * this.elementBytes;
    let want = Math.min(maxRows, this.capacity);
    if (this.expectedRows !== null) want = Math.min(want, this.expectedRows - this.row);
    if (want <= 0) return null;
    const n = await this.source.read(new Uint8Array(this.buffer, 0, want * rowBytes));
    this.bytes += n;
    const rows = Math.floor(n / rowBytes);
    if (rows < want) {
      if (this.expectedRows !== null) {
        throw new CliError(`${this.name}: truncated: the header says ${this.expectedRows} rows, the data ends after ${this.row + rows} rows and ${n % rowBytes} bytes (byte offset ${this.bytes})`);
      }
      if (n % rowBytes !== 0) {
        throw new CliError(`${this.name}: ${n % rowBytes} bytes at byte offset ${this.dataOffset + (this.row + rows) * rowBytes} are not a whole row of ${this.dim} ${this.format} values (${rowBytes} bytes)`);
      }
    }
    if (rows === 0) return null;
    this.first = this.row;
    this.row += rows;
    const values = this.elementBytes === 4 ? new Float32Array(this.buffer, 0, rows * this.dim) : new Float64Array(this.buffer, 0, rows * this.dim);
    return { values, rows, first: this.first, bad: null };
  }

  /**
   * Whether `nextSlice` can serve: a file (not a stream) whose bytes hold every row the header
   * or the size says, and from which `next` has read no rows.
   */
  get sliceable(): boolean {
    const rowBytes = this.dim * this.elementBytes;
    return this.name !== "<stdin>" && this.row === 0 && this.rowCount !== null && this.size !== null && this.size >= this.dataOffset + this.rowCount * rowBytes;
  }

  /**
   * The next up-to-`maxRows` rows unread, as where they are in the file (--threads: the workers
   * read their own rows); their `values` are read here only if something asks for them (a bad
   * row to find). Null after the last. Only where `sliceable`; not mixed with `next`.
   */
  nextSlice(maxRows: number): Block | null {
    const rows = Math.min(maxRows, this.capacity, this.rowCount! - this.row);
    if (rows <= 0) return null;
    const rowBytes = this.dim * this.elementBytes;
    const first = this.row, offset = this.dataOffset + first * rowBytes;
    this.first = first;
    this.row += rows;
    this.bytes += rows * rowBytes;
    const slice: FileRows = { file: this.name, offset, rows, dim: this.dim, type: this.elementBytes === 4 ? "f32" : "f64" };
    let values: Values | null = null;
    const read = (): Values => {
      if (values !== null) return values;
      const bytes = new Uint8Array(this.buffer, 0, rows * rowBytes);
      const fd = openSync(this.name, "r");
      try {
        for (let at = 0; at < bytes.length; ) at += readSync(fd, bytes, at, bytes.length - at, offset + at) || fail(this.name);
      } finally {
        closeSync(fd);
      }
      values = this.elementBytes === 4 ? new Float32Array(this.buffer, 0, rows * this.dim) : new Float64Array(this.buffer, 0, rows * this.dim);
      return values;
    };
    return { get values() { return read(); }, slice, rows, first, bad: null };
  }

  where(r: number): string {
    const row = this.first + r;
    return `${this.name}: row ${row} (byte offset ${this.dataOffset + row * this.dim * this.elementBytes})`;
  }

  /** Where element `column` of row r of the last block is. */
  whereElement(r: number, column: number): string {
    const row = this.first + r;
    return `${this.name}: row ${row}, element ${column} (byte offset ${this.dataOffset + (row * this.dim + column) * this.elementBytes})`;
  }

  bytesRead(): number {
    return this.bytes;
  }

  close(): void {
    this.source.close();
  }
}

function fail(name: string): never {
  throw new CliError(`${name}: the file became shorter while it was read`);
}

export function isBinary(reader: RowReader): reader is RowReader & { whereElement(r: number, column: number): string; readonly sliceable: boolean; nextSlice(maxRows: number): Block | null } {
  return reader instanceof BinaryReader;
}

// ---------------------------------------------------------------------------------------
// Text: CSV / TSV / blank-separated, and NDJSON (one JSON array, or object with --field, a line).

/** A problem with one row: where on the line and what. */
class RowProblem {
  constructor(readonly at: number, readonly message: string, readonly notNumber = false) {}
}

const NL = 10, CR = 13, SPACE = 32, TAB = 9, COMMA = 44, QUOTE = 34, HASH = 35;

/** How a separator is named in messages. */
const SEPARATOR_NAMES: Record<number, string> = { [COMMA]: '","', [TAB]: "a tab", [SPACE]: "blanks", 59: '";"', 124: '"|"' };

class TextReader implements RowReader {
  private buf: Buffer = Buffer.allocUnsafe(1 << 20);
  private pos = 0;
  private end = 0;
  private eof = false;
  private discarded = 0; // bytes dropped from the front of buf
  private line = 0; // lines consumed
  private row = 0; // data rows produced
  private first = 0;
  private headerDone: boolean;
  private delimiterLine = 0; // the line the separator was picked from (0: not yet)
  private delimiter: number;
  private values: Float64Array = new Float64Array(0);
  private lines: Float64Array = new Float64Array(0);
  private bad: Uint8Array = new Uint8Array(0);
  private anyBad = false;
  private scratch = new Float64Array(256);
  dim: number | null;
  readonly name: string;
  readonly size: number | null;
  readonly rowCount = null;

  constructor(private readonly source: ByteSource, readonly format: Format, private readonly options: ReadOptions) {
    this.name = source.name;
    this.size = source.size;
    this.dim = options.dim;
    this.headerDone = format === "ndjson" || options.header === false;
    this.delimiter = format === "tsv" ? TAB : COMMA;
    if (this.dim !== null) this.allocate(this.dim);
  }

  private allocate(dim: number): void {
    const rows = blockRows_(this.options.blockRows, dim);
    this.values = new Float64Array(rows * dim);
    this.lines = new Float64Array(rows);
    this.bad = new Uint8Array(rows);
  }

  async next(maxRows: number): Promise<Block | null> {
    let rows = 0;
    this.anyBad = false;
    if (this.values.length > 0 && this.dim !== null) maxRows = Math.min(maxRows, this.values.length / this.dim);
    if (this.bad.length > 0) this.bad.fill(0, 0, Math.min(maxRows, this.bad.length));
    for (;;) {
      rows = this.parseLines(rows, maxRows);
      if (rows === maxRows || (this.lines.length > 0 && rows === this.lines.length) || (this.eof && this.pos === this.end)) break;
      if (this.eof) {
        rows = this.parseLine(this.pos, this.end, rows) ? rows + 1 : rows; // a last line without "\n"
        this.pos = this.end;
        break;
      }
      await this.fill();
    }
    if (rows === 0) return null;
    this.first = this.row;
    this.row += rows;
    return { values: this.values.subarray(0, rows * this.dim!), rows, first: this.first, bad: this.anyBad ? this.bad : null };
  }

  /** Moves the unread bytes to the front, grows the buffer if a line fills it, reads more. */
  private async fill(): Promise<void> {
    if (this.pos > 0) {
      this.buf.copyWithin(0, this.pos, this.end);
      this.discarded += this.pos;
      this.end -= this.pos;
      this.pos = 0;
    }
    if (this.end === this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    const n = await this.source.read(this.buf.subarray(this.end));
    if (n === 0) this.eof = true;
    this.end += n;
  }

  /** Parses the complete lines in the buffer into rows from slot `rows` on, up to `maxRows`. */
  private parseLines(rows: number, maxRows: number): number {
    const buf = this.buf;
    // the block's capacity once the first row has set dim (it may hold fewer than asked)
    while (rows < maxRows && (this.lines.length === 0 || rows < this.lines.length)) {
      const nl = buf.indexOf(NL, this.pos);
      if (nl === -1 || nl >= this.end) break;
      if (this.parseLine(this.pos, nl, rows)) rows++;
      this.pos = nl + 1;
    }
    return rows;
  }

  /** One line [s, e) (no "\n"): true if it was a data row, now in slot `slot`. */
  private parseLine(s: number, e: number, slot: number): boolean {
    const b = this.buf;
    this.line++;
    // a UTF-8 byte order mark (Excel's "CSV UTF-8") is not part of the first value
    if (this.line === 1 && e - s >= 3 && b[s] === 0xef && b[s + 1] === 0xbb && b[s + 2] === 0xbf) s += 3;
    const begin = s;
    if (e > s && b[e - 1] === CR) e--;
    while (s < e && (b[s] === SPACE || b[s] === TAB)) s++;
    if (s === e || b[s] === HASH) return false; // blank line or comment
    if (!this.headerDone && this.options.header === true) {
      this.headerDone = true;
      return false;
    }
    if (this.delimiterLine === 0) this.pickDelimiter(s, e);
    try {
      let count: number;
      if (this.dim === null) {
        count = this.parseRow(s, e, this.scratch, 0, this.scratch.length);
        if (count > this.scratch.length) {
          this.scratch = new Float64Array(count);
          count = this.parseRow(s, e, this.scratch, 0, count);
        }
        this.dim = count;
        this.allocate(count);
        this.values.set(this.scratch.subarray(0, count));
      } else {
        count = this.parseRow(s, e, this.values, slot * this.dim, this.dim);
      }
      if (!this.headerDone) {
        this.headerDone = true;
        if (this.options.header === null) this.noteColumnNumbers(this.values.subarray(slot * this.dim, slot * this.dim + count));
      }
      if (count !== this.dim) {
        throw new RowProblem(count > this.dim ? this.fieldStart(s, e, this.dim) : e, `row has ${count} value${count === 1 ? "" : "s"}, expected ${this.dim}`);
      }
    } catch (error) {
      if (!(error instanceof RowProblem)) throw error;
      const guessing = !this.headerDone && this.options.header === null;
      if (guessing && error.notNumber && this.isNames(s, e)) {
        this.headerDone = true;
        const header = latin1(b, s, Math.min(e, s + 60)) + (e - s > 60 ? "…" : "");
        this.options.note?.(`${this.name}: line ${this.line} taken as a header: ${header} (--header or --no-header says so and silences this)`);
        return false;
      }
      this.headerDone = true;
      const hint = guessing && error.notNumber ? " (if this line is a header, say --header)" : "";
      const message = `${this.name}:${this.line}:${error.at - begin + 1}: ${error.message}${hint}`;
      const skips = this.options.skips;
      if (skips === null) throw new CliError(message);
      skips.count++;
      skips.first ??= message;
      if (this.dim === null) return false; // no row length yet: nothing to hold a place for
      this.values.fill(1, slot * this.dim, (slot + 1) * this.dim);
      this.bad[slot] = 1;
      this.anyBad = true;
    }
    this.lines[slot] = this.line;
    return true;
  }

  /** True if every field of the line [s, e) is a name: it starts with a letter or "_" (quoted or not). */
  private isNames(s: number, e: number): boolean {
    const text = this.buf.toString("utf8", s, e);
    const fields = this.delimiter === SPACE ? text.trim().split(/[ \t]+/) : text.split(String.fromCharCode(this.delimiter));
    return fields.every((f) => /^\s*"?[\p{L}_]/u.test(f));
  }

  /** A first row 0,1,2,… (pandas' column names when saved without an index) is data unless --header says otherwise: say so. */
  private noteColumnNumbers(row: Float64Array): void {
    if (row.length < 2) return;
    for (let i = 0; i < row.length; i++) if (row[i] !== i) return;
    this.options.note?.(`${this.name}: line ${this.line} (0,1,…,${row.length - 1}) was scored as data; if it is a header of column numbers, say --header (--no-header silences this)`);
  }

  /** CSV: commas, else tabs, else blanks separate the values (decided on the first line). */
  private pickDelimiter(s: number, e: number): void {
    this.delimiterLine = this.line;
    if (this.format !== "csv") return;
    const line = this.buf.subarray(s, e);
    if (line.indexOf(COMMA) !== -1) this.delimiter = COMMA;
    else if (line.indexOf(TAB) !== -1) this.delimiter = TAB;
    else this.delimiter = SPACE;
  }

  /** The byte index where value number `n` of a delimited line starts (for "too many" messages). */
  private fieldStart(s: number, e: number, n: number): number {
    if (this.format === "ndjson") return s;
    const b = this.buf, d = this.delimiter;
    let seen = 0;
    for (let i = s; i < e; i++) {
      if (d === SPACE ? b[i] !== SPACE && b[i] !== TAB && (i === s || b[i - 1] === SPACE || b[i - 1] === TAB) && seen++ === n : b[i] === d && ++seen === n) {
        return d === SPACE ? i : i + 1;
      }
    }
    return s;
  }

  /** Parses a row into out[at…]; stores at most `capacity` values, returns how many there were. */
  private parseRow(s: number, e: number, out: Float64Array, at: number, capacity: number): number {
    return this.format === "ndjson" ? this.parseJsonRow(s, e, out, at, capacity) : this.parseDelimited(s, e, out, at, capacity);
  }

  private parseDelimited(s: number, e: number, out: Float64Array, at: number, capacity: number): number {
    const b = this.buf, d = this.delimiter;
    const blank = (c: number) => c === SPACE || (c === TAB && d !== TAB);
    let i = s, count = 0;
    for (;;) {
      while (i < e && blank(b[i])) i++;
      const fieldStart = i;
      const quoted = i < e && b[i] === QUOTE;
      if (quoted) i++;
      let j = parseNumber(b, i, e);
      if (j >= 0 && quoted) j = j < e && b[j] === QUOTE ? j + 1 : -1;
      let k = j;
      if (k >= 0) while (k < e && blank(b[k])) k++;
      if (j >= 0 && k < e && (d === SPACE ? k === j : b[k] !== d)) {
        // a number, then another separator than the file's: "0.1;0.2", or blanks or a tab between values of a CSV
        const found = k > j ? b[j] : b[k];
        if (k > j || found in SEPARATOR_NAMES) {
          throw new RowProblem(k > j ? j : k, `expected ${SEPARATOR_NAMES[d]} between values (the separator of line ${this.delimiterLine}), found ${SEPARATOR_NAMES[found]}`);
        }
      }
      if (j < 0 || (k < e && (d === SPACE ? k === j : b[k] !== d))) throw this.notANumber(fieldStart, e);
      this.check(scanned.value, fieldStart, k);
      if (count < capacity) out[at + count] = scanned.value;
      count++;
      if (k >= e) return count;
      i = d === SPACE ? k : k + 1;
    }
  }

  private parseJsonRow(s: number, e: number, out: Float64Array, at: number, capacity: number): number {
    const b = this.buf;
    const ws = (c: number) => c === SPACE || c === TAB || c === CR;
    if (b[s] === 0x7b) return this.parseJsonObject(s, e, out, at, capacity);
    if (b[s] !== 0x5b) throw new RowProblem(s, `expected a JSON array [...] or an object {...}, got ${JSON.stringify(latin1(b, s, Math.min(e, s + 20)))}`);
    let i = s + 1, count = 0;
    while (i < e && ws(b[i])) i++;
    if (i < e && b[i] === 0x5d) return 0;
    for (;;) {
      while (i < e && ws(b[i])) i++;
      const start = i;
      let k = parseNumber(b, i, e);
      if (k >= 0) while (k < e && ws(b[k])) k++;
      if (k < 0 || k >= e || (b[k] !== COMMA && b[k] !== 0x5d)) {
        if (k >= e) throw new RowProblem(e, "unterminated array (no ])");
        throw this.notANumber(start, e);
      }
      this.check(scanned.value, start, k);
      if (count < capacity) out[at + count] = scanned.value;
      count++;
      i = k + 1;
      if (b[k] === 0x5d) {
        while (i < e && ws(b[i])) i++;
        if (i < e) throw new RowProblem(i, `unexpected ${JSON.stringify(latin1(b, i, Math.min(e, i + 10)))} after the array`);
        return count;
      }
    }
  }

  private parseJsonObject(s: number, e: number, out: Float64Array, at: number, capacity: number): number {
    const field = this.options.field;
    let object: unknown;
    try {
      object = JSON.parse(this.buf.toString("utf8", s, e));
    } catch (error) {
      throw new RowProblem(s, `not valid JSON (${(error as Error).message})`);
    }
    if (field === null) throw new RowProblem(s, "a JSON object: name the field that holds the values with --field NAME");
    const values = (object as Record<string, unknown>)[field];
    if (!Array.isArray(values)) throw new RowProblem(s, `field "${field}" is ${values === undefined ? "missing" : "not an array"}`);
    for (let i = 0; i < values.length; i++) {
      const x = values[i];
      if (typeof x !== "number") throw new RowProblem(s, `${field}[${i}] is ${JSON.stringify(x)}, not a number`, true);
      this.checkValue(x, `${field}[${i}] = ${x}`, s);
      if (i < capacity) out[at + i] = x;
    }
    return values.length;
  }

  private notANumber(start: number, e: number): RowProblem {
    const b = this.buf;
    let end = start;
    while (end < e && b[end] !== this.delimiter && b[end] !== COMMA && b[end] !== 0x5d && b[end] !== TAB && b[end] !== SPACE) end++;
    const token = this.buf.toString("utf8", start, end);
    return new RowProblem(start, token === "" ? "empty field: expected a number" : `${JSON.stringify(token)} is not a number`, token !== "");
  }

  private check(v: number, start: number, end: number): void {
    if (this.options.kind === "probabilities" ? v >= 0 && v !== Infinity : v < Infinity) return;
    let e = end;
    while (e > start && (this.buf[e - 1] === SPACE || this.buf[e - 1] === TAB || this.buf[e - 1] === COMMA || this.buf[e - 1] === this.delimiter)) e--;
    this.checkValue(v, latin1(this.buf, start, e), start);
  }

  private checkValue(v: number, token: string, at: number): void {
    const kind = this.options.kind;
    if (kind === "probabilities" ? v >= 0 && v !== Infinity : v < Infinity) return;
    throw new RowProblem(at, valueProblem(v, token, kind));
  }

  where(r: number): string {
    return `${this.name}:${this.lines[r]}`;
  }

  bytesRead(): number {
    return this.discarded + this.pos;
  }

  close(): void {
    this.source.close();
  }
}

/** What is wrong with value v (shown as `token`) of an input of this kind. */
export function valueProblem(v: number, token: string, kind: InputKind): string {
  if (Number.isNaN(v)) return `${token} is NaN; values must be numbers`;
  if (kind !== "probabilities") return `${token} is +Infinity; ${kind} must be < Infinity (-inf means probability 0)`;
  if (v === Infinity || v === -Infinity) return `${token} is infinite; probabilities must be finite`;
  return `${token} is negative; probabilities must be ≥ 0`;
}

/** The first element of values[from, from + n) that is invalid for `kind`, or -1. */
export function firstInvalid(values: Values, from: number, n: number, kind: InputKind): number {
  for (let i = 0; i < n; i++) {
    const v = values[from + i];
    if (!(kind === "probabilities" ? v >= 0 && v !== Infinity : v < Infinity)) return i;
  }
  return -1;
}

// A block holds at most this many values (32 MiB of doubles), whatever --block-rows says:
// memory stays bounded for wide rows too.
const BLOCK_VALUES = 1 << 22;

/** Rows per block for rows of `dim`: the asked-for count, within BLOCK_VALUES. */
function blockRows_(asked: number, dim: number): number {
  return Math.max(1, Math.min(asked, Math.floor(BLOCK_VALUES / dim)));
}
