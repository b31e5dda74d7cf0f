// A TypeScript user of the packed package: compiled with `tsc --noEmit` under moduleResolution
// nodenext and bundler by test/package/check.mjs, which catches a broken `exports` map or
// missing types. Nothing here runs.
import {
  backend,
  init,
  kl,
  KLRangeError,
  KLTypeError,
  useBackend,
  type Backend,
  type KLErrorCode,
  type KLOptions,
  type Vector,
  type WasmSource,
} from "kl-simd";
import kernelModule from "kl-simd/kl.wasm";
import { close, scoreParallel, type ParallelOptions } from "kl-simd/parallel";

const selected: Promise<Backend> = init();
const fromModule: Promise<Backend> = init(kernelModule);
const fromBytes: Promise<Backend> = init(new Uint8Array(8));
const fromUrl: Promise<Backend> = init(new URL("https://example.com/kl.wasm"));
const source: WasmSource = kernelModule;
const module: WebAssembly.Module = kernelModule;

const options: KLOptions = { normalize: false, base: 2 };
const vectors: Vector[] = [[0.5, 0.5], new Float64Array(2), new Float32Array(2)];
const nats: number = kl([0.5, 0.5], [0.7, 0.3]);
const bits: number = kl(new Float32Array([1, 2]), new Float32Array([2, 1]), options);
const now: Backend = backend();
useBackend("js");

try {
  kl([1], [1, 2]);
} catch (error) {
  if (error instanceof KLRangeError || error instanceof KLTypeError) {
    const code: KLErrorCode = error.code;
    void code;
  }
}

// @ts-expect-error a string is not a vector
kl("0.5", [1]);
// @ts-expect-error no such backend
useBackend("gpu");
// @ts-expect-error no such option
kl([1], [1], { bas: 2 });
// @ts-expect-error kl returns a number, not a promise
const notAPromise: Promise<number> = kl([1], [1]);

const parallelOptions: ParallelOptions = { dim: 2, threads: 2 };
const perRow: Promise<Float64Array> = scoreParallel("kl", [0.5, 0.5], [0.7, 0.3], { dim: 2, threads: 2 });
const mean: Promise<number> = scoreParallel("psi", new Float32Array(4), [0.5, 0.5], { dim: 2, reduction: "mean" });
const closed: Promise<void> = close();
// @ts-expect-error scoreParallel needs options.dim
scoreParallel("kl", [1], [1], {});

void [selected, parallelOptions, perRow, mean, closed, fromModule, fromBytes, fromUrl, source, module, vectors, nats, bits, now, notAPromise];
