// workerd, the README's explicit form: `import module from "kl-simd/kl.wasm"; init(module)`.
import kernelModule from "kl-simd/kl.wasm";
import { handle } from "./worker.mjs";

export default { fetch: (request) => handle(request, kernelModule) };
