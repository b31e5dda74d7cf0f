// Which backend init() selects where it runs: CI runs this suite in Node 20 ("wasm-simd"),
// in Node 22 ("wasm-relaxed-simd") and in a V8 without SIMD (KL_NO_SIMD=1, see
// vitest.config.ts), where it must be the JS fallback.
import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { backend, init, kl } from "../src/index.js";
import { relaxedBuild, relaxedSimdSupported } from "../src/wasm/load.js";
import { EXPECTED, type Backend } from "./backends.js";

it(`init() selects ${process.env.KL_EXPECT_BACKEND}`, async () => {
  const expected = process.env.KL_EXPECT_BACKEND;
  expect(["js", "wasm-simd", "wasm-relaxed-simd"]).toContain(expected);
  expect(await init()).toBe(expected);
  expect(backend()).toBe(expected);
  // the seed example, 0.0871766935723888… nats (mpmath; see test/fixtures/kl-cases.json)
  expect(Math.abs(kl([0.5, 0.5], [0.7, 0.3]) / 0.08717669357238884 - 1)).toBeLessThan(1e-15);
});

// The two wasm builds (scripts/reoptimize-wasm.mjs): build/kl.wasm, the SIMD build, becomes the
// relaxed-SIMD build at the sites build/kl-relaxed-sites.bin lists (src/wasm/load.ts relaxedBuild).
describe("the SIMD and the relaxed-SIMD build", () => {
  const simdBytes = readFileSync(new URL("../build/kl.wasm", import.meta.url));
  const sites = readFileSync(new URL("../build/kl-relaxed-sites.bin", import.meta.url));
  const relaxedBytes = relaxedBuild(new Uint8Array(simdBytes), sites);

  it("differ only at the sites, each the 3-byte change the patch is for: f64x2.mul → 3 nops, f64x2.add → f64x2.relaxed_madd, RELAXED_SIMD 0 → 1", () => {
    const changes = new Map<string, number>();
    for (let i = 0; i < simdBytes.length; i++) {
      if (simdBytes[i] === relaxedBytes[i]) continue;
      const at = simdBytes[i] === 0xfd ? i : i - 1; // only a mul's first byte changes; add's and i32.const's stay
      const change = `${[...simdBytes.subarray(at, at + 3)]} → ${[...relaxedBytes.subarray(at, at + 3)]}`;
      changes.set(change, (changes.get(change) ?? 0) + 1);
      i = at + 2;
    }
    const madds = changes.get("253,240,1 → 253,135,2");
    expect(madds).toBeGreaterThan(100);
    expect(Object.fromEntries(changes)).toEqual({ "253,242,1 → 1,1,1": madds, "253,240,1 → 253,135,2": madds, "65,0,11 → 65,1,11": 1 });
  });

  it("each by its bytes: init() names the build it was given, and both give the seed example (mpmath)", async () => {
    const builds: [Uint8Array, Backend][] = [[simdBytes, "wasm-simd"]];
    if (EXPECTED === "wasm-relaxed-simd") builds.push([relaxedBytes, "wasm-relaxed-simd"]);
    else expect(relaxedSimdSupported()).toBe(false);
    for (const [bytes, name] of builds) {
      if (EXPECTED === "js") continue;
      vi.resetModules();
      const m = (await import("../src/index.js")) as typeof import("../src/index.js");
      expect(await m.init(bytes)).toBe(name);
      expect(m.backend()).toBe(name);
      expect(Math.abs(m.kl([0.5, 0.5], [0.7, 0.3]) / 0.08717669357238884 - 1)).toBeLessThan(1e-15);
      expect(() => m.useBackend(name === "wasm-simd" ? "wasm-relaxed-simd" : "wasm-simd")).toThrow(/not available: init\(\) loaded/);
    }
  });
});
