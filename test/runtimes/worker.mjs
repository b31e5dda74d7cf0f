// workerd: answers one request with the probe's result as JSON. run.mjs bundles this file the
// way wrangler does (esbuild with the workerd condition; a .wasm import becomes a compiled wasm
// module of the Worker), so `kl-simd` here is the package's dist/workerd.js and its kl.wasm.
// ?mode=no-wasm deletes globalThis.WebAssembly before kl-simd is evaluated (the dynamic import
// keeps it lazy in the bundle).
export async function handle(request, source) {
  if (new URL(request.url).searchParams.get("mode") === "no-wasm") delete globalThis.WebAssembly;
  const { probe } = await import("./probe.mjs");
  const result = await probe(source);
  return Response.json({ ...result, wasm: typeof globalThis.WebAssembly });
}

export default { fetch: (request) => handle(request) };
