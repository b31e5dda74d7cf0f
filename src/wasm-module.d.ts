// What `import x from "./kl.wasm"` gives in workerd and wrangler: a compiled module.
declare module "*.wasm" {
  const compiled: WebAssembly.Module;
  export default compiled;
}
