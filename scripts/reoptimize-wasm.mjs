// Re-optimises the kernel for speed, then splits it into the two builds init() selects from.
// asc compiles at shrinkLevel 1 so that the standard library picks its compact Math.log/exp (no
// lookup tables: ~6 KB less gzipped in the default entry); but at that level Binaryen also
// reloads constants and recomputes subexpressions inside the SIMD loops, which costs the f32
// kernel ~15% and the f64 one ~4%. A second Binaryen pass at shrinkLevel 0 undoes that without
// bringing the tables back.
//
// asc builds the relaxed-SIMD kernel (asconfig.json enables relaxed-simd: math.ts maddF64x2 is
// one f64x2.relaxed_madd). The SIMD build, build/kl.wasm, is that module with each
// relaxed_madd(a, b, c) written as add(mul(a, b), c): the same bytes but, at each such site,
// `a b mul c add` where the relaxed build has `a b c relaxed_madd`. So the relaxed build is the
// SIMD build with each site's mul replaced by three nops and its add by relaxed_madd (3 bytes
// each): build/kl-relaxed-sites.bin lists those offsets (src/wasm/load.ts relaxedBuild applies
// them), and ships in a few hundred bytes instead of a second module.
import { readFileSync, writeFileSync } from "node:fs";
import binaryen from "binaryen";

const F = binaryen.Features;
// the features asc enables (asconfig.json: SIMD and relaxed SIMD on top of its defaults)
const features = F.MVP | F.SIMD128 | F.RelaxedSIMD | F.MutableGlobals | F.SignExt | F.NontrappingFPToInt | F.BulkMemory | F.BulkMemoryOpt;
const build = (name) => new URL(`../build/${name}`, import.meta.url);
const asc = readFileSync(build("kl-relaxed.wasm"));

function fromText(text) {
  const module = binaryen.parseText(text);
  module.setFeatures(features);
  if (!module.validate()) throw new Error("reoptimize-wasm: a build does not validate");
  const bytes = module.emitBinary();
  module.dispose();
  return bytes;
}
const module = binaryen.readBinary(asc);
module.setFeatures(features);
binaryen.setOptimizeLevel(3);
binaryen.setShrinkLevel(0);
module.optimize();
const relaxedText = module.emitText();
module.dispose();
const relaxed = fromText(relaxedText);
const simd = fromText(withoutRelaxed(relaxedText));

// The text with every (f64x2.relaxed_madd a b c) as (f64x2.add (f64x2.mul a b) c), and the
// RELAXED_SIMD global (index.ts) 0.
function withoutRelaxed(text) {
  while (text.includes("(f64x2.relaxed_madd")) text = outermostWithout(text);
  const name = /\(export "RELAXED_SIMD" \(global (\S+)\)\)/.exec(text)?.[1];
  const flag = `(global ${name} i32 (i32.const 1))`;
  if (name === undefined || !text.includes(flag)) throw new Error("reoptimize-wasm: no RELAXED_SIMD global");
  return text.replace(flag, `(global ${name} i32 (i32.const 0))`);
}
function outermostWithout(text) {
  let out = "", at = 0;
  // the end of the S-expression that starts at i (Binaryen's text has no parentheses in strings here)
  const close = (i) => {
    for (let depth = 0; ; i++) {
      if (text[i] === "(") depth++;
      else if (text[i] === ")" && --depth === 0) return i + 1;
    }
  };
  const operand = (i) => close(text.indexOf("(", i));
  for (let i; (i = text.indexOf("(f64x2.relaxed_madd", at)) >= 0; ) {
    const b = operand(operand(i + 1));
    out += text.slice(at, i) + "(f64x2.add (f64x2.mul" + text.slice(i + 19, b) + ")";
    at = b;
  }
  return out + text.slice(at);
}

// Site offsets in `simd` where it differs from `relaxed`: kind 0 a mul that the relaxed build
// drops (nops), 1 an add that is relaxed_madd there, 2 the RELAXED_SIMD global's i32.const 0
// that is 1 there. Walks both modules section by section, the code section body by body; any
// other difference throws.
function relaxedSites() {
  const sites = [];
  const leb = (b, i) => { let v = 0, s = 0, x; do { x = b[i++]; v |= (x & 127) << s; s += 7; } while (x & 128); return [v, i]; };
  const sections = (b) => {
    const list = [];
    for (let i = 8; i < b.length; ) { const [size, start] = leb(b, i + 1); list.push([b[i], start, start + size]); i = start + size; }
    return list;
  };
  const same = (a, i, bytes) => bytes.every((x, k) => a[i + k] === x);
  const MUL = [0xfd, 0xf2, 0x01], ADD = [0xfd, 0xf0, 0x01], MADD = [0xfd, 0x87, 0x02];
  const [ss, rs] = [sections(simd), sections(relaxed)];
  if (ss.length !== rs.length) throw new Error("reoptimize-wasm: the builds' sections differ");
  ss.forEach(([id, s0, s1], k) => {
    const [rid, r0, r1] = rs[k];
    if (id !== rid) throw new Error("reoptimize-wasm: the builds' sections differ");
    if (id !== 10) {
      for (let i = s0; i < s1; i++) {
        if (simd[i] === relaxed[i - s0 + r0]) continue;
        if (simd[i] !== 0 || relaxed[i - s0 + r0] !== 1 || simd[i - 1] !== 0x41 || id !== 6) throw new Error(`reoptimize-wasm: the builds differ at ${i}`);
        sites.push([i - 1, 2]);
      }
      return;
    }
    let [count, i] = leb(simd, s0), [, j] = leb(relaxed, r0);
    for (; count > 0; count--) {
      let n, m;
      [n, i] = leb(simd, i);
      [m, j] = leb(relaxed, j);
      const end = i + n;
      for (const rEnd = j + m; i < end || j < rEnd; ) {
        if (i < end && simd[i] === relaxed[j]) { i++; j++; continue; }
        // a mismatch just after a shared 0xfd: the site starts one byte earlier
        const back = simd[i - 1] === 0xfd && relaxed[j - 1] === 0xfd ? 1 : 0;
        if (same(simd, i, MUL)) { sites.push([i, 0]); i += 3; }
        else if (back && same(simd, i - 1, MUL)) { sites.push([i - 1, 0]); i += 2; j--; }
        else if (back && same(simd, i - 1, ADD) && same(relaxed, j - 1, MADD)) { sites.push([i - 1, 1]); i += 2; j += 2; }
        else throw new Error(`reoptimize-wasm: the builds differ at ${i}`);
      }
    }
  });
  return sites;
}

const sites = relaxedSites();
const madds = relaxedText.split("(f64x2.relaxed_madd").length - 1;
if (sites.filter(([, kind]) => kind === 0).length !== madds || sites.filter(([, kind]) => kind === 1).length !== madds) {
  throw new Error("reoptimize-wasm: not every relaxed_madd is a site");
}
// each site as one unsigned LEB128 of 3·(offset − previous offset) + kind
const bytes = [];
let previous = 0;
for (const [at, kind] of sites.sort((a, b) => a[0] - b[0])) {
  for (let v = 3 * (at - previous) + kind; ; v >>>= 7) {
    if (v < 128) { bytes.push(v); break; }
    bytes.push((v & 127) | 128);
  }
  previous = at;
}
writeFileSync(build("kl.wasm"), simd);
writeFileSync(build("kl-relaxed-sites.bin"), Uint8Array.from(bytes));
console.log(`build/kl.wasm: ${asc.length} → ${simd.length} bytes (re-optimised for speed); the relaxed build: ${madds} sites, ${bytes.length} bytes`);
