// Exact summation and products: the compensated sum, the error of a product and of a
// quotient, power-of-two scaling. The JS path is the exactness reference.


/** Compensated (Neumaier) running sum: the JS path is the exactness reference. */
export class Sum {
  hi = 0;
  lo = 0;
  add(x: number): void {
    const s = this.hi + x;
    this.lo += additionError(this.hi, x, s);
    this.hi = s;
  }
  get total(): number {
    // an infinite term leaves NaN in the compensation (∞ − ∞): the sum is that infinity
    return Number.isFinite(this.hi) ? this.hi + this.lo : this.hi;
  }
}

/** The rounding error of a + b = sum, exactly (Neumaier's ordering: any magnitudes). */
export function additionError(a: number, b: number, sum: number): number {
  return Math.abs(a) >= Math.abs(b) ? a - sum + b : b - sum + a;
}

/** The rounding error of a·b = product, exactly (Dekker's product, no FMA needed). */
export function twoProductError(a: number, b: number, product: number): number {
  const SPLIT = 134217729; // 2^27 + 1
  let c = SPLIT * a;
  const aHi = c - (c - a), aLo = a - aHi;
  c = SPLIT * b;
  const bHi = c - (c - b), bLo = b - bHi;
  return aHi * bHi - product + aHi * bLo + aLo * bHi + aLo * bLo;
}

/** (x − y·quotient)/y, the part of x/y that the rounded quotient misses. */
export function divisionError(x: number, y: number, quotient: number): number {
  const product = quotient * y;
  return (x - product - twoProductError(quotient, y, product)) / y;
}

/** Two powers of two whose product brings x into [2^-500, 2^500] (1, 1 when it is). */
export function powerOfTwoScale(x: number): [number, number] {
  if (x >= 2 ** -500 && x <= 2 ** 500) return [1, 1];
  const k = -Math.round(Math.log2(x)); // up to ±1074: split, since 2^k alone can overflow
  return [2 ** (k >> 1), 2 ** (k - (k >> 1))];
}
