// Re-optimises build/kl.wasm for speed. asc compiles at shrinkLevel 1 so that the standard
// library picks its compact Math.log/exp (no lookup tables: ~6 KB less gzipped in the
// default entry); but at that level Binaryen also reloads constants and recomputes
// subexpressions inside the SIMD loops, which costs the f32 kernel ~15% and the f64 one ~4%.
// A second Binaryen pass at shrinkLevel 0 undoes that without bringing the tables back.
import { readFileSync, writeFileSync } from "node:fs";
import binaryen from "binaryen";

const file = new URL("../build/kl.wasm", import.meta.url);
const before = readFileSync(file);
const module = binaryen.readBinary(before);
const F = binaryen.Features;
// the features asc enables for this build (asconfig.json: SIMD on top of its defaults)
module.setFeatures(F.MVP | F.SIMD128 | F.MutableGlobals | F.SignExt | F.NontrappingFPToInt | F.BulkMemory | F.BulkMemoryOpt);
binaryen.setOptimizeLevel(3);
binaryen.setShrinkLevel(0);
module.optimize();
if (!module.validate()) throw new Error("reoptimize-wasm: the re-optimised module does not validate");
const after = module.emitBinary();
module.dispose();
writeFileSync(file, after);
console.log(`build/kl.wasm: ${before.length} → ${after.length} bytes (re-optimised for speed)`);
