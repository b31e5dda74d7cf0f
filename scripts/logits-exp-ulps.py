"""Max error, in ulps, of the logits kernel's e^x against mpmath on a dense sweep of
[-745, 709]: expF64x2 (through logitsSoftmax with max = 0, invT = 1, l = 0), and the table
exp of logitsStats (expTableF64x2, one element per call with shift 0, so x <= 64, its margin;
x in the subnormal window goes to expF64x2 there, as it should).

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
const y = new Float64Array(w.memory.buffer, base + 8 * x.length, x.length).slice();
const f = new Float64Array(w.memory.buffer), stats = w.logitsStatsPtr() >> 3, t = new Float64Array(x.length);
for (let i = 0; i < x.length; i++) {
  f[base >> 3] = x[i];
  f[(base >> 3) + 1] = 0;
  w.logitsStats(base, base + 8, 1, 1, 0, 0);
  t[i] = f[stats] === 0 ? f[stats + 2] : NaN; // NaN: the chunk went to expF64x2 (own max as shift)
}
writeFileSync(outPath, Buffer.concat([Buffer.from(y.buffer), Buffer.from(t.buffer)]));
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
        y = np.fromfile(yout, dtype="<f8").reshape(2, n)
    mp.mp.dps = 40
    for name, ys in (("expF64x2", y[0]), ("table exp (logitsStats)", y[1])):
        worst = {"all": (0.0, None), "subnormal": (0.0, None)}
        wrong = counted = 0
        for xi, yi in zip(x.tolist(), ys.tolist()):
            if math.isnan(yi):
                continue
            counted += 1
            e = mp.exp(xi)
            hi = float(e)
            ulp = math.ulp(hi)
            err = float(abs(mp.mpf(yi) - e) / ulp)
            wrong += yi != hi
            for key in ("all", "subnormal") if xi < -708.4 else ("all",):
                if err > worst[key][0]:
                    worst[key] = (err, xi)
        print(f"{name}: e^x over {counted} points of [-745, 709]: max error {worst['all'][0]:.3f} ulps "
              f"(x = {worst['all'][1]!r}); subnormal results {worst['subnormal'][0]:.3f} ulps "
              f"(x = {worst['subnormal'][1]!r}); not correctly rounded: {wrong / counted:.2%}")


main()
