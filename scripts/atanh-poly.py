"""Coefficients of h(u) with atanh(x) - x = x^3 * h(u), u = x^2 (Chebyshev fit, mpmath).

The kernels evaluate h by Estrin's scheme. f64 covers |x| <= 1/3, f32 covers |x| <= 1/2.
Run: python3 scripts/atanh-poly.py  (prints the coefficient tables pasted into assembly/ and src/)
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 60


def h(u):
    u = mp.mpf(u)
    if u == 0:
        return mp.mpf(1) / 3
    x = mp.sqrt(u)
    return (mp.atanh(x) - x) / (u * x)


for name, upper, degree, cast in [("F64", mp.mpf(1) / 9, 8, np.float64), ("F32", mp.mpf(1) / 4, 5, np.float32)]:
    coeffs, err = mp.chebyfit(h, [0, upper], degree + 1, error=True)
    coeffs = coeffs[::-1]  # lowest degree first
    # error after rounding the coefficients to the target format
    worst = max(
        abs(sum(mp.mpf(float(cast(c))) * mp.mpf(u) ** i for i, c in enumerate(coeffs)) - h(u)) / h(u)
        for u in mp.linspace(0, upper, 400)
    )
    print(f"// {name}: |x| <= {mp.nstr(mp.sqrt(upper), 4)}, degree {degree}, max relative error of h {mp.nstr(worst, 3)}")
    for i, c in enumerate(coeffs):
        print(f"const H{name}_{i} = {repr(float(cast(c)))};")
