# The demo page's expected numbers, computed independently with mpmath (60 digits) and
# printed as the nearest doubles; test/browser/demo.browser.mjs hard-codes this output.
# Run: python3 test/browser/demo-expected.py
from mpmath import mp, mpf, log

mp.dps = 60


def normalise(v):
    total = sum(mpf(x) for x in v)
    return [mpf(x) / total for x in v]


def kl(p, q):
    p, q = normalise(p), normalise(q)
    if any(a != 0 and b == 0 for a, b in zip(p, q)):
        return mp.inf
    return sum(a * log(a / b) for a, b in zip(p, q) if a != 0)


def divergences(p, q):
    ph, qh = normalise(p), normalise(q)
    m = [(a + b) / 2 for a, b in zip(ph, qh)]
    return {
        "klPQ": kl(p, q),
        "klQP": kl(q, p),
        "js": (kl(ph, m) + kl(qh, m)) / 2,
        "psi": kl(p, q) + kl(q, p),
    }


STATES = {
    "example": ([2, 5, 9, 14, 17, 16, 12, 8, 5, 2], [6, 8, 10, 12, 13, 13, 12, 10, 9, 7]),
    "pasted": ([1, 2, 3, 4], [4, 3, 2, 1]),
    "dragged": ([1, 3.5, 3, 4], [4, 3, 2, 1]),
    "touched": ([1, 3.5, 3, 4], [4, 3, 2, 3]),
    "csv": ([0.1, 0.2, 0.3, 0.4, 0], [0.25, 0.25, 0.2, 0.2, 0.1]),
}

for name, (p, q) in STATES.items():
    values = ", ".join(f"{k}: {'Infinity' if v == mp.inf else repr(float(v))}" for k, v in divergences(p, q).items())
    print(f"  {name}: {{ {values} }},")
