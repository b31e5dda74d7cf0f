"""Coefficients for assembly/logits.ts (Chebyshev fits, mpmath).

  P(r) = (e^r - 1 - r) / r^2   on |r| <= ln2/32 (+ margin): e^r = 1 + r + r^2 * P(r), degree 5
  H(d) = (e^-d - 1 + d) / d^2  on |d| <= 1/2:             g(d) = d^2 * H(d), degree 11

Both are evaluated by Estrin's scheme. Also the exponentials' table: the bits of 2^(j/16),
j < 16, less j * 2^48 (correctly rounded, mpmath). Run: python3 scripts/logits-poly.py
(prints the constants pasted into assembly/math.ts, with the max relative error of each
polynomial after its coefficients are rounded to doubles).
"""
import struct

import mpmath as mp

mp.mp.dps = 50


def q(r):
    r = mp.mpf(r)
    return mp.mpf(1) / 2 if r == 0 else (mp.expm1(r) - r) / (r * r)


def h(d):
    d = mp.mpf(d)
    return mp.mpf(1) / 2 if d == 0 else (mp.expm1(-d) + d) / (d * d)


for name, f, half_width, degree, first in [
    ("EXP_P", q, mp.log(2) / 32 * mp.mpf("1.0001"), 5, 2),
    ("G_H", h, mp.mpf(1) / 2, 11, 0),
]:
    coeffs = mp.chebyfit(f, [-half_width, half_width], degree + 1)[::-1]  # lowest degree first
    worst = max(
        abs(sum(mp.mpf(float(c)) * x**i for i, c in enumerate(coeffs)) - f(x)) / f(x)
        for x in mp.linspace(-half_width, half_width, 801)
    )
    print(f"// {name}: |x| <= {mp.nstr(half_width, 6)}, degree {degree}, max relative error {mp.nstr(worst, 3)}")
    for i, c in enumerate(coeffs):
        print(f"const {name}{i + first} = {repr(float(c))};")

print("// EXP_TABLE: 2^(j/16) less j * 2^48, as i64 bits")
for j in range(16):
    bits = struct.unpack("<q", struct.pack("<d", float(mp.power(2, mp.mpf(j) / 16))))[0] - (j << 48)
    print(hex(bits))
