// The text formats (CSV, TSV, NDJSON): rows from lines, with the header, separator and
// number rules of the command line, and the place of every bad value (file:line:column).
import { latin1, parseNumber, scanned } from "./numbers.js";
import { formatCount } from "./progress.js";
import type { ByteSource } from "./sources.js";
import { blockRows_, skipOrFail, type Block, type Format, type ReadOptions, type RowReader } from "./readers.js";
import { checkValue, jsonObjectRow, notANumber, RowProblem } from "./text-values.js";

const NL = 10, CR = 13, SPACE = 32, TAB = 9, COMMA = 44, QUOTE = 34, HASH = 35;

// A line is held whole while it is parsed, so its length is bounded: any line may take
// LINE_BYTES, plus VALUE_BYTES per value of the row (the row length, or while it is unknown the
// fields read so far). The longest shortest round-trip double is 24 characters and numpy's
// "%.18e" 25, so 128 leaves room for quotes, separators and padding. An NDJSON object may carry
// other fields (a text, an id) beside its row: it may take OBJECT_BYTES. A longer line is bad
// data at its line; a comment line, or the header line --header names, is passed over unread.
const LINE_BYTES = 1 << 20, VALUE_BYTES = 128, OBJECT_BYTES = 16 << 20;

/** How a separator is named in messages. */
const SEPARATOR_NAMES: Record<number, string> = { [COMMA]: '","', [TAB]: "a tab", [SPACE]: "blanks", 59: '";"', 124: '"|"' };

export class TextReader implements RowReader {
  private buf: Buffer = Buffer.allocUnsafe(1 << 20);
  private pos = 0;
  private end = 0;
  private eof = false;
  private discarded = 0; // bytes dropped from the front of buf
  private line = 0; // lines consumed
  private row = 0; // data rows produced
  private headerDone: boolean;
  private delimiterLine = 0; // the line the separator was picked from (0: not yet)
  private delimiter: number;
  private values: Float64Array = new Float64Array(0);
  private lines: Float64Array = new Float64Array(0);
  private bad: Uint8Array = new Uint8Array(0);
  private anyBad = false;
  // with --on-error skip, rows found bad before the row length was known, and the first good
  // row's line once it is (its values in scratch): placed before the rows after them, so row i
  // stays row i (of the output, and of the --against file it is scored with)
  private unplaced = 0;
  private held = 0;
  private scratch = new Float64Array(256);
  private extraAt = 0; // where the first value beyond the capacity of the last parseRow starts
  private openFrom = Infinity; // parsing the start of a line: a field from here on may be cut off, not judged
  private passing = false; // the rest of a line already dealt with (a long comment, header or bad line) is read past
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
    if (this.bad.length > 0) this.bad.fill(0, 0, Math.min(maxRows, this.bad.length));
    // up to the block's capacity once the first row has set dim (it may hold fewer than asked)
    while (rows < maxRows && (this.lines.length === 0 || rows < this.lines.length)) {
      let nl: number;
      if (this.unplaced > 0 && this.dim !== null) {
        this.unplaced--;
        this.lines[rows] = 0;
        this.markBad(rows++);
      } else if (this.held > 0) {
        this.values.set(this.scratch.subarray(0, this.dim!), rows * this.dim!);
        this.lines[rows++] = this.held;
        this.held = 0;
      } else if ((nl = this.buf.indexOf(NL, this.pos)) !== -1 && nl < this.end) {
        if (this.passing) this.passing = false;
        else if (this.parseLine(this.pos, nl, rows)) rows++;
        this.pos = nl + 1;
      } else if (this.passing) {
        this.pos = this.end;
        if (this.eof) this.passing = false;
        else await this.fill();
      } else if (!this.eof) {
        if (this.pos === 0 && this.end === this.buf.length && this.longLine(rows)) rows++;
        if (!this.passing) await this.fill();
      } else if (this.pos < this.end) {
        if (this.parseLine(this.pos, this.end, rows)) rows++; // a last line without "\n"
        this.pos = this.end;
      } else break;
    }
    if (rows === 0) return null;
    this.row += rows;
    return { values: this.values.subarray(0, rows * this.dim!), rows, first: this.row - rows, bad: this.anyBad ? this.bad : null };
  }

  /** Moves the unread bytes to the front, reads more (a line that fills the buffer has made it larger: longLine). */
  private async fill(): Promise<void> {
    if (this.pos > 0) {
      this.buf.copyWithin(0, this.pos, this.end);
      this.discarded += this.pos;
      this.end -= this.pos;
      this.pos = 0;
    }
    if (this.end === this.buf.length) return; // a line that fills it: longLine decides first
    const n = await this.source.read(this.buf.subarray(this.end));
    if (n === 0) this.eof = true;
    this.end += n;
  }

  /**
   * The buffer holds the start of a line and no "\n": a comment or a header line to skip is
   * passed over unread; the values read so far are checked as the whole line would be (its
   * first problem is said now: a binary file given as CSV fails at once); a line within its
   * bound gets a larger buffer, a longer one is bad data at its line. True if a (bad) data row
   * now fills slot `slot`.
   */
  private longLine(slot: number): boolean {
    const b = this.buf, e = this.end;
    let s = 0;
    if (this.line === 0 && e >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) s = 3;
    const begin = s;
    while (s < e && (b[s] === SPACE || b[s] === TAB)) s++;
    const header = !this.headerDone && this.options.header === true;
    if (s < e && (b[s] === HASH || header)) {
      this.line++;
      if (header) this.headerDone = true;
      this.passing = true;
      return false;
    }
    const guessing = !this.headerDone && this.options.header === null;
    const object = this.format === "ndjson" && b[s] === 0x7b;
    let problem: RowProblem | null = null, fields = this.dim;
    if (!object && s < e) {
      // the separator this line would pick, for now (picked for good from the whole line)
      const [delimiter, delimiterLine] = [this.delimiter, this.delimiterLine];
      if (delimiterLine === 0) this.pickDelimiter(s, e);
      const cut = this.lastSeparator(s, e);
      this.line++;
      this.openFrom = cut + 1;
      try {
        const known = this.dim !== null;
        const count = known ? this.parseRow(s, e, this.values, slot * this.dim!, this.dim!) : this.parseRow(s, e, this.scratch, 0, this.scratch.length);
        if (known && count > this.dim!) problem = new RowProblem(this.extraAt, `row has more than ${this.dim} values, expected ${this.dim}`);
        fields ??= count + 1;
      } catch (error) {
        if (!(error instanceof RowProblem)) throw error;
        // a line of names so far may be a header: judged by its length only, until its end
        if (guessing && error.notNumber && this.isNames(s, Math.max(s, cut))) fields ??= this.fieldsIn(s, e);
        else problem = error;
      } finally {
        this.openFrom = Infinity;
        this.line--;
        if (delimiterLine === 0) [this.delimiter, this.delimiterLine] = [delimiter, delimiterLine];
      }
    }
    fields ??= this.fieldsIn(s, e);
    const limit = (object ? OBJECT_BYTES : LINE_BYTES) + VALUE_BYTES * fields;
    if (problem === null && e <= limit) {
      const bigger = Buffer.allocUnsafe(Math.min(2 * e, limit + 1));
      this.buf.copy(bigger, 0, 0, e);
      this.buf = bigger;
      return false;
    }
    problem ??= new RowProblem(e, `the line is longer than ${formatCount(limit)} bytes, the most a row of ${fields} values takes here (${formatCount(VALUE_BYTES)} bytes a value and ${formatCount(object ? OBJECT_BYTES : LINE_BYTES)} more)`);
    this.line++;
    this.headerDone = true;
    this.passing = true;
    const hint = guessing && problem.notNumber ? " (if this line is a header, say --header)" : "";
    skipOrFail(this.options.skips, `${this.name}:${this.line}:${problem.at - begin + 1}: ${problem.message}${hint}`);
    if (this.dim === null) {
      this.unplaced++;
      return false;
    }
    this.markBad(slot);
    this.lines[slot] = this.line;
    return true;
  }

  /** Where the last separator of [s, e) is (of the line's kind), or s - 1: the fields before it are whole. */
  private lastSeparator(s: number, e: number): number {
    const b = this.buf;
    for (let i = e - 1; i >= s; i--) {
      const c = b[i];
      if (this.format === "ndjson" ? c === COMMA : c === this.delimiter || (this.delimiter === SPACE && c === TAB)) return i;
    }
    return s - 1;
  }

  /** How many fields [s, e) holds at least, by its separators (commas in NDJSON). */
  private fieldsIn(s: number, e: number): number {
    const b = this.buf, d = this.format === "ndjson" ? COMMA : this.delimiter;
    let n = 1;
    for (let i = s + 1; i < e; i++) {
      if (d === SPACE ? (b[i] === SPACE || b[i] === TAB) && b[i - 1] !== SPACE && b[i - 1] !== TAB : b[i] === d) n++;
    }
    return n;
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
      // the first row goes to scratch (grown to fit): its length sets dim and the block's size
      const known = this.dim !== null;
      let count = known
        ? this.parseRow(s, e, this.values, slot * this.dim!, this.dim!)
        : this.parseRow(s, e, this.scratch, 0, this.scratch.length);
      if (!known && count > this.scratch.length) {
        this.scratch = new Float64Array(count);
        count = this.parseRow(s, e, this.scratch, 0, count);
      }
      // `[]` (or an object's empty array), first or later
      if (count === 0) throw new RowProblem(s, "empty row: no values");
      if (this.dim === null) {
        this.dim = count;
        this.allocate(count);
        if (this.unplaced > 0) {
          this.held = this.line;
          return false;
        }
        this.values.set(this.scratch.subarray(0, count));
      }
      if (!this.headerDone) {
        this.headerDone = true;
        if (this.options.header === null) this.noteColumnNumbers(this.values.subarray(slot * this.dim, slot * this.dim + count));
      }
      if (count !== this.dim) {
        throw new RowProblem(count > this.dim ? this.extraAt : e, `row has ${count} value${count === 1 ? "" : "s"}, expected ${this.dim}`);
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
      skipOrFail(this.options.skips, message);
      if (this.dim === null) {
        this.unplaced++; // no row length yet: its place is taken once there is one
        return false;
      }
      this.markBad(slot);
    }
    this.lines[slot] = this.line;
    return true;
  }

  /** Slot `slot` holds a bad row: placeholder values, left out of the results. */
  private markBad(slot: number): void {
    this.values.fill(1, slot * this.dim!, (slot + 1) * this.dim!);
    this.bad[slot] = 1;
    this.anyBad = true;
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

  /** Parses a row into out[at…]; stores at most `capacity` values, returns how many there were. */
  private parseRow(s: number, e: number, out: Float64Array, at: number, capacity: number): number {
    if (this.format !== "ndjson") return this.parseDelimited(s, e, out, at, capacity);
    this.extraAt = s; // a JSON row's extra values are reported at its start
    return this.parseJsonRow(s, e, out, at, capacity);
  }

  private parseDelimited(s: number, e: number, out: Float64Array, at: number, capacity: number): number {
    const b = this.buf, d = this.delimiter;
    const blank = (c: number) => c === SPACE || (c === TAB && d !== TAB);
    let i = s, count = 0;
    for (;;) {
      if (count === capacity) this.extraAt = i; // where a row with too many values is reported
      while (i < e && blank(b[i])) i++;
      if (i >= this.openFrom) return count; // the start of a line: this field may be cut off
      const fieldStart = i;
      const quoted = i < e && b[i] === QUOTE;
      if (quoted) i++;
      let j = parseNumber(b, i, e);
      if (j >= 0 && quoted) j = j < e && b[j] === QUOTE ? j + 1 : -1;
      let k = j;
      if (k >= 0) while (k < e && blank(b[k])) k++;
      // no number, or a number not followed by the separator (k = j = -1: no number)
      if (k < e && (d === SPACE ? k === j : b[k] !== d)) {
        // a number, then another separator than the file's: "0.1;0.2", or blanks or a tab between values of a CSV
        const found = k > j ? b[j] : b[k];
        if (j >= 0 && (k > j || found in SEPARATOR_NAMES)) {
          // on the line the separator was picked from, ";" or "|" made it blanks: say which are taken
          if (this.line === this.delimiterLine && this.format === "csv" && k === j && found !== COMMA && found !== TAB) {
            throw new RowProblem(k, `found ${SEPARATOR_NAMES[found]}, which is not a separator: values are separated by ",", a tab or blanks`);
          }
          throw new RowProblem(k > j ? j : k, `expected ${SEPARATOR_NAMES[d]} between values (the separator of line ${this.delimiterLine}), found ${SEPARATOR_NAMES[found]}`);
        }
        throw this.notANumber(fieldStart, e);
      }
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
    for (;;) {
      while (i < e && ws(b[i])) i++;
      if (i >= this.openFrom) return count; // the start of a line: this value may be cut off
      if (count === 0 && i < e && b[i] === 0x5d) return 0; // []
      if (i >= e) throw new RowProblem(e, "unterminated array (no ])"); // "[" or "[0.5," and the line ends
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
    return jsonObjectRow(this.buf.toString("utf8", s, e), s, this.options.field, this.options.kind, out, at, capacity);
  }

  private notANumber(start: number, e: number): RowProblem {
    return notANumber(this.buf, start, e, this.delimiter);
  }

  private check(v: number, start: number, end: number): void {
    checkValue(this.buf, v, start, end, this.delimiter, this.options.kind);
  }

  get rowsRead(): number {
    return this.row + this.unplaced + (this.held > 0 ? 1 : 0);
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
