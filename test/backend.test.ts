// Which backend init() selects where it runs: CI runs this suite twice, once in a V8
// without SIMD (KL_NO_SIMD=1, see vitest.config.ts), where it must be the JS fallback.
import { expect, it } from "vitest";
import { backend, init, kl } from "../src/index.js";

it(`init() selects ${process.env.KL_EXPECT_BACKEND}`, async () => {
  const expected = process.env.KL_EXPECT_BACKEND;
  expect(expected === "js" || expected === "wasm-simd").toBe(true);
  expect(await init()).toBe(expected);
  expect(backend()).toBe(expected);
  // the seed example, 0.0871766935723888… nats (mpmath; see test/fixtures/kl-cases.json)
  expect(Math.abs(kl([0.5, 0.5], [0.7, 0.3]) / 0.08717669357238884 - 1)).toBeLessThan(1e-15);
});
