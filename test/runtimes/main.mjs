// Node, Deno and Bun: `<runtime> main.mjs <mode>` prints the probe's result as JSON.
// Mode "no-wasm" deletes globalThis.WebAssembly before kl-simd is imported; "simd" and
// "no-simd" differ only in the runtime's flags, which run.mjs sets.
const mode = globalThis.Deno?.args[0] ?? globalThis.process.argv[2];
if (mode === "no-wasm") delete globalThis.WebAssembly;
const { probe } = await import("./probe.mjs");
const result = await probe();
console.log(JSON.stringify({ ...result, wasm: typeof globalThis.WebAssembly }));
