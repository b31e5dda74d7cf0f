// One value, or one NDJSON object, of a text row judged: what is wrong with it and where on its
// line (a RowProblem, which the reader turns into file:line:column).
import type { InputKind } from "../index.js";
import { latin1 } from "./numbers.js";
import { validFor, valueProblem } from "./readers.js";

/** A problem with one row: where on the line and what. */
export class RowProblem {
  constructor(readonly at: number, readonly message: string, readonly notNumber = false) {}
}

const SPACE = 32, TAB = 9, COMMA = 44, CLOSE = 0x5d;

/** The problem of a field at `start` that is not a number (its token, up to 40 bytes, named). */
export function notANumber(b: Buffer, start: number, e: number, delimiter: number): RowProblem {
  let end = start;
  while (end < e && b[end] !== delimiter && b[end] !== COMMA && b[end] !== CLOSE && b[end] !== TAB && b[end] !== SPACE) end++;
  // (the first 40 bytes of a long one: a binary file given as CSV has long "fields")
  const token = b.toString("utf8", start, Math.min(end, start + 40)) + (end - start > 40 ? "…" : "");
  return new RowProblem(start, token === "" ? "empty field: expected a number" : `${JSON.stringify(token)} is not a number`, token !== "");
}

/** Throws if v, the bytes [start, end) but blanks and separators at the end, is invalid for the input's kind. */
export function checkValue(b: Uint8Array, v: number, start: number, end: number, delimiter: number, kind: InputKind): void {
  if (validFor(v, kind)) return;
  let e = end;
  while (e > start && (b[e - 1] === SPACE || b[e - 1] === TAB || b[e - 1] === COMMA || b[e - 1] === delimiter)) e--;
  const token = latin1(b, start, e);
  // a number written out of range ("1e400") became ±Infinity; "inf" is infinite as written
  throw new RowProblem(start, valueProblem(v, token, kind, /[0-9]/.test(token)));
}

/**
 * The values of an NDJSON object row (`text`, at `s` on its line) from its `field`, into
 * out[at…] (at most `capacity`); returns how many there were.
 */
export function jsonObjectRow(text: string, s: number, field: string | null, kind: InputKind, out: Float64Array, at: number, capacity: number): number {
  let object: unknown;
  try {
    object = JSON.parse(text);
  } catch (error) {
    throw new RowProblem(s, `not valid JSON (${(error as Error).message})`);
  }
  if (field === null) throw new RowProblem(s, "a JSON object: name the field that holds the values with --field NAME");
  const values = Object.hasOwn(object as object, field) ? (object as Record<string, unknown>)[field] : undefined;
  if (!Array.isArray(values)) throw new RowProblem(s, `field "${field}" is ${values === undefined ? "missing" : "not an array"}`);
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (typeof x !== "number") throw new RowProblem(s, `${field}[${i}] is ${JSON.stringify(x)}, not a number`, true);
    if (!validFor(x, kind)) {
      // JSON has no Infinity: JSON.parse makes it of a number out of range only
      const overflow = !Number.isNaN(x);
      throw new RowProblem(s, valueProblem(x, overflow ? `${field}[${i}]` : `${field}[${i}] = ${x}`, kind, overflow));
    }
    if (i < capacity) out[at + i] = x;
  }
  return values.length;
}
