"""Max error, in ulps, of the logits kernel's e^x (expF64x2, through logitsSoftmax with
max = 0, invT = 1, l = 0) against mpmath on a dense sweep of [-745, 709].

Run after npm run build:wasm:  python3 scripts/logits-exp-ulps.py [points]   (default 2^20)
The points are an even grid plus as many uniformly random ones (seeded); for each, the
error is |y - e^x| / ulp(e^x rounded), with ulp the spacing of doubles at that value
(2^-1074 for subnormal results). Prints the max and where, overall and for the subnormal
range (x < -708.4), and the share of results that are not correctly rounded.
"""
import math
import os
import subprocess
import sys
import tempfile

import mpmath as mp
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE = """
import { readFileSync, writeFileSync } from "node:fs";
const [wasm, inPath, outPath] = process.argv.slice(1);
const { instance } = await WebAssembly.instantiate(readFileSync(wasm), {});
const w = instance.exports;
const x = new Float64Array(readFileSync(inPath).buffer.slice(0));
const base = w.scratchPtr(), need = base + 16 * x.length;
if (need > w.memory.buffer.byteLength) w.memory.grow(Math.ceil((need - w.memory.buffer.byteLength) / 65536));
new Float64Array(w.memory.buffer, base, x.length).set(x);
w.logitsSoftmax(base, base + 8 * x.length, x.length, 0, 1, 0);
writeFileSync(outPath, new Float64Array(w.memory.buffer, base + 8 * x.length, x.length));
"""


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 20
    rng = np.random.default_rng(20261126)
    x = np.concatenate([np.linspace(-745.0, 709.0, n // 2), rng.uniform(-745.0, 709.0, n - n // 2)])
    with tempfile.TemporaryDirectory() as tmp:
        xin, yout = os.path.join(tmp, "x.f64"), os.path.join(tmp, "y.f64")
        x.astype("<f8").tofile(xin)
        subprocess.run(["node", "--input-type=module", "-e", NODE, os.path.join(ROOT, "build", "kl.wasm"), xin, yout],
                       check=True)
        y = np.fromfile(yout, dtype="<f8")
    mp.mp.dps = 40
    worst = {"all": (0.0, None), "subnormal": (0.0, None)}
    wrong = 0
    for xi, yi in zip(x.tolist(), y.tolist()):
        e = mp.exp(xi)
        hi = float(e)
        ulp = math.ulp(hi)
        err = float(abs(mp.mpf(yi) - e) / ulp)
        wrong += yi != hi
        for key in ("all", "subnormal") if xi < -708.4 else ("all",):
            if err > worst[key][0]:
                worst[key] = (err, xi)
    print(f"e^x over {n} points of [-745, 709]: max error {worst['all'][0]:.3f} ulps (x = {worst['all'][1]!r}); "
          f"subnormal results {worst['subnormal'][0]:.3f} ulps (x = {worst['subnormal'][1]!r}); "
          f"not correctly rounded: {wrong / n:.2%}")


main()
