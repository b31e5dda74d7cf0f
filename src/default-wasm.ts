// The kernel that init() loads when given no source, in the default entry: the module's bytes
// carried inline (deflated, base64), so Node, Deno, Bun, browsers and bundlers need no file
// access or fetch; with them the few bytes that turn it into the relaxed-SIMD build, applied
// where the engine has relaxed SIMD (`relaxed`; scripts/embed-wasm.mjs writes the layout). The workerd entry is built with src/default-wasm.workerd.ts in this file's
// place (scripts/build-js.mjs), so it does not carry these bytes. Inflating takes the
// platform's DecompressionStream (Node ≥ 18, Deno, Bun, Chrome 80, Safari 16.4, Firefox 113);
// where it is missing, init() selects the JS backend.
import wasmDeflatedBase64 from "../build/kl-wasm.js";
import { relaxedBuild } from "./wasm/load.js";

export default async function defaultWasm(relaxed: boolean): Promise<Uint8Array<ArrayBuffer>> {
  const binary = atob(wasmDeflatedBase64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  // the SIMD build's length (u32, little-endian), the build, the relaxed build's sites
  const all = new Uint8Array(await new Response(inflated).arrayBuffer());
  const length = new DataView(all.buffer).getUint32(0, true);
  const wasm = all.subarray(4, 4 + length);
  return relaxed ? relaxedBuild(wasm, all.subarray(4 + length)) : wasm;
}
