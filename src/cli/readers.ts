// Row readers: every input format read as blocks of rows in one reused row-major buffer, so
// memory stays bounded whatever the input's size. Binary input (.npy, raw f32/f64) is read
// straight into the buffer the block's typed array views: no copy, no object per row.
import { closeSync, openSync } from "node:fs";
import type { InputKind } from "../index.js";
import type { FileRows } from "../parallel/api.js";
import { CliError, usage } from "./errors.js";
import { NPY_MAX_HEADER, npyPrefixLength, parseNpyHeader } from "./npy.js";
import { readFully, withPrefix, type ByteSource } from "./sources.js";
import { TextReader } from "./text-reader.js";

export const FORMATS = ["csv", "tsv", "ndjson", "npy", "f32", "f64"] as const;
export type Format = (typeof FORMATS)[number];
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
  /** the row length: known from the start (binary, or given) or after the first row */
  readonly dim: number | null;
  /** the next up-to-`maxRows` rows (fewer only at the end), or null after the last */
  next(maxRows: number): Promise<Block | null>;
  /** "file:line" (text) or "file: row i (byte offset b)" (binary) of row r of the last block */
  where(r: number): string;
  bytesRead(): number;
  /** the data rows read so far, bad ones included */
  readonly rowsRead: number;
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

/** A bad row: with --on-error skip, counted (its message kept if it is the first); else the run stops with it. */
export function skipOrFail(skips: Skips | null, message: string): void {
  if (skips === null) throw new CliError(message);
  skips.count++;
  skips.first ??= message;
}

export interface ReadOptions {
  format: Format | null;
  dim: number | null;
  /** how values are checked: probabilities ≥ 0 and finite; log kinds < +Infinity */
  kind: InputKind;
  /** csv/tsv: whether the first line is a header; null: a line of names only is, said by `note` */
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
  const buffer = new Uint8Array(SNIFF_BYTES);
  const head = buffer.subarray(0, await source.read(buffer));
  const prefixed = withPrefix(source, head);
  const format = options.format ?? formatOf(source.name, head);
  if (format === "npy") return npyReader(prefixed, options, head);
  if (format === "f32" || format === "f64") {
    if (options.dim === null) throw usage(`${source.name}: raw ${format} input needs --dim (the values per row)`);
    return new BinaryReader(prefixed, format, options.dim, 0, null, options.blockRows);
  }
  return new TextReader(prefixed, format, options);
}

const EXTENSIONS = new Map<string, Format>([
  ["csv", "csv"], ["tsv", "tsv"], ["tab", "tsv"], ["ndjson", "ndjson"], ["jsonl", "ndjson"], ["json", "ndjson"], ["npy", "npy"], ["f32", "f32"], ["f64", "f64"],
]);

/** The format a file's extension names (input and output), if any. */
export const formatByExtension = (path: string): Format | undefined => EXTENSIONS.get(/\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase() ?? "");

function formatOf(name: string, head: Uint8Array): Format {
  const byExtension = formatByExtension(name);
  if (byExtension !== undefined) return byExtension;
  if (typeof npyPrefixLength(head) === "number") return "npy";
  const first = head.find((c) => c !== 32 && c !== 9 && c !== 10 && c !== 13);
  if (first === 0x5b || first === 0x7b) return "ndjson"; // [ or {
  return "csv"; // the CSV reader also takes tabs or blanks as separators
}

// ---------------------------------------------------------------------------------------
// Binary: .npy and raw little-endian floats.

async function npyReader(source: ByteSource, options: ReadOptions, head: Uint8Array): Promise<RowReader> {
  const total = npyPrefixLength(head);
  if (typeof total === "string") throw new CliError(`${source.name}: ${total}`);
  if (source.size !== null && total > source.size) {
    throw new CliError(`${source.name}: truncated .npy header: it says it is ${total} bytes long, the file has ${source.size}`);
  }
  if (total > NPY_MAX_HEADER) {
    throw new CliError(`${source.name}: the .npy header says it is ${total} bytes long, more than the ${NPY_MAX_HEADER} this tool reads (a corrupt file?)`);
  }
  const headerBytes = new Uint8Array(total);
  const header = (await source.read(headerBytes)) === total ? parseNpyHeader(headerBytes) : "truncated .npy header";
  if (typeof header === "string") throw new CliError(`${source.name}: ${header}`);
  const { type, rows, dim } = header;
  if (options.dim !== null && options.dim !== dim) throw new CliError(`${source.name}: rows of ${dim} values, expected ${options.dim}`);
  return new BinaryReader(source, type, dim, total, rows, options.blockRows);
}

export class BinaryReader implements RowReader {
  private readonly buffer: ArrayBuffer;
  private readonly capacity: number;
  private readonly elementBytes: 4 | 8;
  private readonly rowBytes: number;
  private row = 0;
  private first = 0;
  private bytes: number;
  readonly name: string;
  readonly size: number | null;
  readonly rowCount: number | null;

  constructor(
    private readonly source: ByteSource,
    private readonly type: "f32" | "f64",
    readonly dim: number,
    private readonly dataOffset: number,
    private readonly expectedRows: number | null,
    blockRows: number,
  ) {
    this.name = source.name;
    this.size = source.size;
    this.bytes = dataOffset;
    this.elementBytes = type === "f32" ? 4 : 8;
    this.rowBytes = dim * this.elementBytes;
    this.rowCount = expectedRows ?? (source.size !== null && source.size % this.rowBytes === 0 ? source.size / this.rowBytes : null);
    this.capacity = blockRows_(blockRows, dim);
    this.buffer = new ArrayBuffer(this.capacity * this.rowBytes);
  }

  async next(maxRows: number): Promise<Block | null> {
    const rowBytes = this.rowBytes;
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
        throw new CliError(`${this.name}: ${n % rowBytes} bytes at byte offset ${this.dataOffset + (this.row + rows) * rowBytes} are not a whole row of ${this.dim} ${this.type} values (${rowBytes} bytes)`);
      }
    }
    if (rows === 0) return null;
    this.first = this.row;
    this.row += rows;
    return { values: this.view(rows), rows, first: this.first, bad: null };
  }

  /** Whether `nextSlice` can serve: a file holding every row it should, from which `next` read none. */
  get sliceable(): boolean {
    return this.name !== "<stdin>" && this.row === 0 && this.rowCount !== null && this.size !== null && this.size >= this.dataOffset + this.rowCount * this.rowBytes;
  }

  /**
   * The next up-to-`maxRows` rows unread, as where they are in the file (--threads: the workers
   * read their own rows); their `values` are read here only if something asks for them (a bad
   * row to find). Null after the last. Only where `sliceable`; not mixed with `next`.
   */
  nextSlice(maxRows: number): Block | null {
    const rows = Math.min(maxRows, this.capacity, this.rowCount! - this.row);
    if (rows <= 0) return null;
    const first = this.row, offset = this.dataOffset + first * this.rowBytes, bytes = rows * this.rowBytes;
    this.first = first;
    this.row += rows;
    this.bytes += bytes;
    const slice: FileRows = { file: this.name, offset, rows, dim: this.dim, type: this.type };
    const read = (): Values => {
      const fd = openSync(this.name, "r");
      try {
        if (readFully(fd, new Uint8Array(this.buffer, 0, bytes), offset) < bytes) throw new CliError(`${this.name}: the file became shorter while it was read`);
      } finally {
        closeSync(fd);
      }
      return this.view(rows);
    };
    let values: Values | null = null;
    return { get values() { return (values ??= read()); }, slice, rows, first, bad: null };
  }

  /** The first `rows` rows of the buffer as values. */
  private view(rows: number): Values {
    return this.type === "f32" ? new Float32Array(this.buffer, 0, rows * this.dim) : new Float64Array(this.buffer, 0, rows * this.dim);
  }

  /** Where row r of the last block is, or its element `column`. */
  where(r: number, column?: number): string {
    const row = this.first + r;
    const element = column === undefined ? "" : `, element ${column}`;
    return `${this.name}: row ${row}${element} (byte offset ${this.dataOffset + row * this.rowBytes + (column ?? 0) * this.elementBytes})`;
  }

  bytesRead(): number {
    return this.bytes;
  }

  get rowsRead(): number {
    return this.row;
  }

  close(): void {
    this.source.close();
  }
}

/** What is wrong with value v (shown as `token`) of an input of this kind; `overflow`: ±Infinity from a number written beyond the double range. */
export function valueProblem(v: number, token: string, kind: InputKind, overflow = false): string {
  if (Number.isNaN(v)) return `${token} is NaN; values must be numbers`;
  const infinite = overflow ? `${token} is beyond the double range (about 1.8e308)` : null;
  if (kind !== "probabilities") return `${infinite ?? `${token} is +Infinity`}; ${kind} must be < Infinity (-inf means probability 0)`;
  if (v === Infinity || v === -Infinity) return `${infinite ?? `${token} is infinite`}; probabilities must be finite`;
  return `${token} is negative; probabilities must be ≥ 0`;
}

/** Whether v is a valid value of an input of this kind: probabilities ≥ 0 and finite; log kinds < +Infinity. */
export const validFor = (v: number, kind: InputKind): boolean => (kind === "probabilities" ? v >= 0 && v !== Infinity : v < Infinity);

// A block holds at most this many values (32 MiB of doubles), whatever --block-rows says:
// memory stays bounded for wide rows too.
const BLOCK_VALUES = 1 << 22;

/** Rows per block for rows of `dim`: the asked-for count, within BLOCK_VALUES. */
export function blockRows_(asked: number, dim: number): number {
  return Math.max(1, Math.min(asked, Math.floor(BLOCK_VALUES / dim)));
}
