// Decimal numbers parsed straight from the bytes of a text file, without making a string.
// Fast path (Clinger): at most 15 significant digits (16 below 9e15) and a decimal exponent within ±22 make the
// value m·10^e or m/10^e with m and 10^|e| exact doubles, so one IEEE operation rounds it
// correctly. Anything longer (numpy's "%.18e", 17-digit reprs) is handed to Number() on the
// token: the same correctly rounded double, just slower. The grammar is checked here first, so
// Number() never sees what it would wrongly accept ("", "0x10", " 1 ").

const POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/** The value of the last successful `parseNumber` (a module slot: no object per number). */
export const scanned = { value: 0 };

const ZERO = 48, DOT = 46, MINUS = 45, PLUS = 43;

/**
 * Parses one number starting at b[i] (no leading blanks): [+-] digits [. digits] [e [+-] digits],
 * or inf / infinity / nan in any case. Returns the index after it (its value in
 * `scanned.value`), or -1 if no number starts there. The caller checks what follows.
 */
export function parseNumber(b: Uint8Array, i: number, end: number): number {
  const start = i;
  let negative = false;
  if (i < end && (b[i] === MINUS || b[i] === PLUS)) negative = b[i++] === MINUS;
  if (i < end && (b[i] | 0x20) >= 0x61) return parseWord(b, i, end, negative);
  // m collects digits while it stays below 9e14, so m·10 + 9 < 2^53 is exact; a dropped digit
  // that is not 0 means more precision than the fast path keeps
  let m = 0, exponent = 0, digits = 0, slow = false, dot = false;
  for (; i < end; i++) {
    const d = b[i] - ZERO;
    if (d < 0 || d > 9) {
      if (b[i] !== DOT || dot) break;
      dot = true;
      continue;
    }
    digits++;
    if (m < 9e14) {
      m = m * 10 + d;
      if (dot) exponent--;
    } else {
      if (!dot) exponent++;
      if (d !== 0) slow = true;
    }
  }
  if (digits === 0) return -1;
  if (i < end && (b[i] | 0x20) === 0x65) {
    let j = i + 1, sign = 1, e = 0;
    if (j < end && (b[j] === MINUS || b[j] === PLUS)) sign = b[j++] === MINUS ? -1 : 1;
    const first = j;
    for (; j < end; j++) {
      const d = b[j] - ZERO;
      if (d < 0 || d > 9) break;
      if (e < 100000) e = e * 10 + d;
    }
    if (j === first) return -1; // "1e" or "1e+"
    exponent += sign * e;
    i = j;
  }
  if (slow || exponent > 22 || exponent < -22) {
    if (m === 0 && !slow) scanned.value = negative ? -0 : 0;
    else scanned.value = Number(latin1(b, start, i));
    return i;
  }
  const v = exponent >= 0 ? m * POW10[exponent] : m / POW10[-exponent];
  scanned.value = negative ? -v : v;
  return i;
}

/** inf, infinity, nan (any case); anything else is not a number. */
function parseWord(b: Uint8Array, i: number, end: number, negative: boolean): number {
  let j = i;
  while (j < end && (b[j] | 0x20) >= 0x61 && (b[j] | 0x20) <= 0x7a) j++;
  const word = latin1(b, i, j).toLowerCase();
  if (word === "inf" || word === "infinity") scanned.value = negative ? -Infinity : Infinity;
  else if (word === "nan") scanned.value = NaN;
  else return -1;
  return j;
}

export function latin1(b: Uint8Array, start: number, end: number): string {
  if (Buffer.isBuffer(b)) return b.toString("latin1", start, end);
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString("latin1");
}

/**
 * A whole option value as a number by the grammar of the data ("2", "1e-4", "inf"), or null:
 * so that "--base 0x10" is refused as "0x10" in a file is, where Number() would take it.
 */
export function parseDecimal(text: string): number | null {
  const bytes = Buffer.from(text, "latin1");
  return parseNumber(bytes, 0, bytes.length) === bytes.length && bytes.length > 0 ? scanned.value : null;
}
