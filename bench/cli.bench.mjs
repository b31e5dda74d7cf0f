// npm run bench:cli — the command line's throughput and memory (docs/cli.md).
//  1. CSV parse + score, MB/s: 1e6 rows × 16 with 6 and with 17 significant digits, to .npy
//     output (so number formatting is not counted) and to CSV output.
//  2. .npy input against in-memory scoring of the same rows: the CLI's time (from --stats:
//     read + score + write, Node's start-up and init() excluded) against one library call over
//     the whole array in this process; best of 3 each.
//  3. Bounded memory: 1e7 rows × 16 through a pipe (the generator's output piped into
//     `kl-simd score -`), max RSS from /usr/bin/time -v (else the CLI's own --stats figure).
// ROWS=… and BIG_ROWS=… change the sizes. Files go to a temporary folder, removed at the end.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { init, score } from "../dist/index.js";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const CLI = here("../dist/cli.js"), DATA = here("./cli-data.mjs");
const ROWS = Number(process.env.ROWS ?? 1e6), BIG_ROWS = Number(process.env.BIG_ROWS ?? 1e7), DIM = 16;
const REF = Array(DIM).fill(1 / DIM).join(",");
const dir = mkdtempSync(join(tmpdir(), "kl-simd-cli-bench-"));
await init();

function make(name, ...args) {
  const path = join(dir, name);
  execFileSync("sh", ["-c", `node "${DATA}" ${args.join(" ")} > "${path}"`]);
  return path;
}

/** Runs the CLI with --stats; returns its figures (seconds in-process, MB/s, rows/s). */
function cliStats(args) {
  let best = null;
  for (let i = 0; i < 3; i++) {
    const r = spawnSync(process.execPath, [CLI, ...args, "--stats", "--quiet"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(r.stderr);
    const m = /in ([\d.]+) s: ([\d,]+) rows\/s, ([\d.]+) MB\/s/.exec(r.stderr);
    const figures = { seconds: Number(m[1]), rowsPerSecond: Number(m[2].replace(/,/g, "")), mbPerSecond: Number(m[3]), stats: r.stderr.trim() };
    if (best === null || figures.seconds < best.seconds) best = figures;
  }
  return best;
}

const rows = [];
const mb = (path) => (statSync(path).size / 1e6).toFixed(0);

// 1. CSV
for (const digits of [6, 17]) {
  const csv = make(`rows-${digits}.csv`, ROWS, DIM, "csv", digits);
  for (const output of ["npy", "csv"]) {
    const s = cliStats(["score", csv, "--ref-values", REF, "-o", "/dev/null", "--output-format", output]);
    rows.push(`| CSV, ${digits} significant digits (${mb(csv)} MB) | ${output} | ${s.mbPerSecond.toFixed(1)} MB/s | ${s.rowsPerSecond.toLocaleString("en-US")} rows/s | |`);
  }
}

// 2. .npy against in-memory
for (const type of ["npy", "npy32"]) {
  const path = make(`rows-${type}.npy`, ROWS, DIM, type);
  const bytes = readFileSync(path);
  const offset = 10 + bytes.readUInt16LE(8);
  const data = bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + bytes.length);
  const P = type === "npy32" ? new Float32Array(data) : new Float64Array(data);
  const ref = new Float64Array(DIM).fill(1 / DIM);
  let memory = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    score("kl", P, ref, { dim: DIM });
    memory = Math.min(memory, (performance.now() - t) / 1000);
  }
  // one thread, as the in-memory call (--threads pays only on larger inputs: see docs/cli.md)
  const s = cliStats(["score", path, "--ref-values", REF, "-o", "/dev/null", "--output-format", "npy", "--threads", "1"]);
  const label = type === "npy32" ? "float32" : "float64";
  rows.push(`| .npy ${label} (${mb(path)} MB) | npy | ${s.mbPerSecond.toFixed(1)} MB/s | ${s.rowsPerSecond.toLocaleString("en-US")} rows/s | in memory ${Math.round(ROWS / memory).toLocaleString("en-US")} rows/s: CLI ÷ in-memory **${(memory / s.seconds).toFixed(2)}** |`);
}

console.log(`Machine: ${execFileSync("nproc").toString().trim()} cores; Node ${process.version}; ${ROWS.toLocaleString("en-US")} rows × ${DIM}, best of 3.\n`);
console.log("| input | output | input MB/s | rows/s | .npy: against in-memory scoring |");
console.log("|---|---|---:|---:|---|");
for (const r of rows) console.log(r);

// 3. Bounded memory through a pipe
const time = existsSync("/usr/bin/time") ? "/usr/bin/time -v " : "";
for (const format of ["csv", "npy"]) {
  const command = `node "${DATA}" ${BIG_ROWS} ${DIM} ${format} 6 | ${time}node "${CLI}" score - --ref-values ${REF} -o /dev/null --output-format npy --quiet --stats`;
  const started = performance.now();
  const r = spawnSync("sh", ["-c", command], { encoding: "utf8" });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(r.stderr);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const own = /max RSS (\d+) MB/.exec(r.stderr);
  console.log(`\n${BIG_ROWS.toLocaleString("en-US")} rows × ${DIM} ${format} through a pipe: max RSS ${rss ? (Number(rss[1]) / 1024).toFixed(0) : own[1]} MB, ${seconds.toFixed(1)} s wall (generator included)`);
  console.log(r.stderr.split("\n").filter((l) => l.startsWith("kl-simd:")).join("\n"));
}
rmSync(dir, { recursive: true, force: true });
