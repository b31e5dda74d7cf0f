// The two commands: score (every row against a reference, or row by row against a second
// file) and topk, one loop: read a block of rows, score it with one library call, write it.
import { setImmediate as eventLoopTurn } from "node:timers/promises";
import { KLRangeError, KLTypeError, type BatchOptions, type InputKind, type ScoreOptions } from "../index.js";
import type { Args } from "./args.js";
import { Sum } from "../exact/sum.js";
import { CliError, usage } from "./errors.js";
import { Progress, formatCount, formatRate, type ProgressStream } from "./progress.js";
import { BinaryReader, openReader, validFor, valueProblem, type Block, type ReadOptions, skipOrFail, type RowReader, type Skips, type Values } from "./readers.js";
import { PARALLEL_MIN_ELEMENTS, type FileRows } from "../parallel/api.js";
import { inProcess, type Scoring } from "./scoring.js";
import { memorySource, openSource, type ByteSource } from "./sources.js";
import { TextReader } from "./text-reader.js";
import { openSink, outputFormatOf, scoreWriter, topKWriter } from "./writers.js";

export interface Io {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: ProgressStream;
  scoring?: Scoring;
}

/** Time spent per stage (ms), for --stats. */
type Timing = Record<"read" | "score" | "write", number>;

export async function run(args: Args, io: Io): Promise<void> {
  const started = performance.now();
  const timing: Timing = { read: 0, score: 0, write: 0 };
  const skips: Skips | null = args.onError === "skip" ? { count: 0, first: null } : null;
  const scoring = io.scoring ?? inProcess;
  // what the rows are scored against: the candidates (topk), the one row of --ref or
  // --ref-values, or the rows of --against, read beside them
  const candidates = args.command === "topk" ? await loadCandidates(args, io, scoring) : null;
  const ref = args.ref !== null || args.refValues !== null ? await reference(args, io, scoring) : null;
  const dim = candidates?.dim ?? ref?.values.length ?? args.dim;
  const reader = await openRows(args, io, args.input, args.inputP, skips, { format: args.format, dim });
  const other = args.against !== null ? await openRows(args, io, args.against, args.inputQ, skips, { dim }) : null;
  // --field is read only from NDJSON objects: said of a run that has none, rather than ignored
  if (args.field !== null && !readNdjson.has(args)) throw usage(`--field ${args.field} names a field of NDJSON objects, and no input is NDJSON`);
  // files whose headers say how many rows they have (.npy): refused before anything is written
  if (other !== null && reader.rowCount !== null && other.rowCount !== null && reader.rowCount !== other.rowCount) throw await unequalRows(reader, other, args.blockRows);
  const format = args.outputFormat ?? outputFormatOf(args.output);
  const sinks = [openSink(args.output, io.stdout, inputsOf(args))];
  const progress = Progress.for(io.stderr, args.quiet, reader.size);
  // with --threads, binary files large enough for threads to pay: the workers read their rows
  const slices = candidates === null && scoring.scoreFile !== undefined && (reader.rowCount ?? 0) * (reader.dim ?? 0) >= PARALLEL_MIN_ELEMENTS &&
    [reader, other].every((r) => r === null || (r instanceof BinaryReader && r.sliceable));
  // the next block: of such a file, its rows' place, which the workers read
  const nextBlock = (r: RowReader) => (slices && r instanceof BinaryReader ? r.nextSlice(args.blockRows) : r.next(args.blockRows));
  // --reduction: the library's compensated sum of the rows (the mean of 1e7 rows to the last
  // digits, +Infinity if a row is), and the same scaled by 2^-64 for a mean whose sum leaves the
  // double range
  const sum = new Sum(), scaled = new Sum();
  let infinite = false;
  let rows = 0, good = 0, complete = false;
  try {
    // topk's .npy output is two files: FILE.npy (the indices) and FILE.scores.npy
    if (candidates !== null && format === "npy" && args.output !== null && args.output !== "-") {
      sinks.push(openSink(args.output.replace(/(\.npy)?$/i, ".scores.npy"), io.stdout, inputsOf(args)));
    }
    const writer = candidates !== null ? topKWriter(sinks[0], sinks[1] ?? null, format, args.k) : scoreWriter(sinks[0], format, args.measure, args.reduction === "none" ? reader.rowCount : null);
    for (;;) {
      await hearSignals();
      let t = performance.now();
      const a = await nextBlock(reader);
      const b = other === null ? null : await nextBlock(other);
      timing.read += performance.now() - t;
      // (blocks of rows of one length hold as many rows: a block with fewer is its file's last)
      if (a !== null && b !== null && other!.dim !== reader.dim) throw new CliError(`rows of ${reader.name} have ${reader.dim} values, rows of ${other!.name} have ${other!.dim}`);
      if (other !== null && (a === null ? b !== null : b === null || b.rows !== a.rows)) {
        const unequal = await unequalRows(reader, other, args.blockRows);
        // a file whose every row was bad (skipped before its row length was known) pairs with as many
        if (unequal !== null) throw unequal;
      }
      if (a === null || (b === null && other !== null)) break;
      if (b?.bad) {
        // a row bad in either file is left out
        const bad = a.bad ?? new Uint8Array(a.rows);
        for (let r = 0; r < a.rows; r++) bad[r] |= b.bad[r];
        a.bad = bad;
      }
      t = performance.now();
      // of a slice, the values are read only if the row-by-row pass needs them
      const { values, indices, bad } =
        candidates !== null
          ? await topKBlock(args, scoring, a, candidates.values, reader, skips)
          : await scoreBlock(args, scoring, a, ref?.values ?? (b && (() => b.values)), reader, other, ref?.name ?? null, skips, b?.slice);
      timing.score += performance.now() - t;
      t = performance.now();
      good += a.rows;
      if (bad !== null) for (let r = 0; r < a.rows; r++) good -= bad[r];
      if (args.reduction === "none") await writer.rows(values, a.rows, a.first, bad, indices);
      else {
        for (let r = 0; r < a.rows; r++) {
          if (bad !== null && bad[r]) continue;
          sum.add(values[r]);
          scaled.add(values[r] * 2 ** -64);
          infinite ||= values[r] === Infinity;
        }
      }
      timing.write += performance.now() - t;
      rows += a.rows;
      progress.update(rows, reader.bytesRead() + (other?.bytesRead() ?? 0));
    }
    // with --on-error skip, a run whose every row was bad has no result: exit 1, not an empty one
    if (good === 0 && skips !== null && skips.count > 0) {
      throw new CliError(`every row was bad: ${formatCount(skips.count)} skipped (the first: ${skips.first})`);
    }
    if (args.reduction === "mean" && good === 0) throw new CliError(`${reader.name} has no rows: their mean is undefined`);
    // as the library reduces: a sum of finite rows past the double range is an error, their mean is still theirs
    const overflowed = Math.abs(sum.total) === Infinity && !infinite;
    if (overflowed && args.reduction === "sum") throw new CliError(`the sum of the ${formatCount(good)} rows exceeds the double range (about 1.8e308)`);
    const value = args.reduction === "sum" ? sum.total : overflowed ? (scaled.total / good) * 2 ** 64 : sum.total / good;
    await writer.finish(args.reduction === "none" ? undefined : { name: args.reduction, value, rows: good });
    // a last turn, whatever the time since the previous one: a signal that came in the last
    // 10 ms is heard here (its handler removes the results and dies) rather than lost once the
    // results take their file's name and the handlers go
    await eventLoopTurn();
    complete = true;
  } finally {
    progress.done();
    reader.close();
    other?.close();
    for (const sink of sinks) sink.close(complete);
  }
  if (skips !== null && skips.count > 0) {
    io.stderr.write(`kl-simd: skipped ${formatCount(skips.count)} bad row${skips.count === 1 ? "" : "s"} (the first: ${skips.first})\n`);
  }
  if (args.stats) io.stderr.write(stats(rows, reader.dim ?? 0, reader.bytesRead() + (other?.bytesRead() ?? 0), timing, performance.now() - started, scoring.name));
}

/**
 * A turn of the event loop, at most every 10 ms: the loops' awaits settle at once (files are read
 * and written synchronously), and only in a turn does a signal's handler (writers.ts) run. (A
 * turn every block cost 15% with --block-rows 1.)
 */
let turned = 0;
async function hearSignals(): Promise<void> {
  if (performance.now() - turned < 10) return;
  await eventLoopTurn();
  turned = performance.now();
}

/**
 * "p.csv has 4 rows and q.csv (--against) has 6; …": both files counted to their end (the
 * longer one read on), or "more than N" where a bad row stops the count. Null if as many.
 */
async function unequalRows(reader: RowReader, other: RowReader, blockRows: number): Promise<CliError | null> {
  const count = async (r: RowReader): Promise<string | number> => {
    if (r.rowCount !== null) return r.rowCount;
    try {
      while ((await r.next(blockRows)) !== null) await hearSignals();
    } catch (error) {
      if (error instanceof CliError) return `more than ${formatCount(r.rowsRead)}`;
      throw error;
    }
    return r.rowsRead;
  };
  const [n, m] = [await count(reader), await count(other)];
  if (n === m) return null;
  const rows = (k: string | number) => (typeof k === "string" ? `${k} rows` : `${formatCount(k)} row${k === 1 ? "" : "s"}`);
  return new CliError(`${reader.name} has ${rows(n)} and ${other.name} (--against) has ${rows(m)}; they must have as many (row i is scored against row i)`);
}

/** What a run read and where its time went, for --stats. */
function stats(rows: number, dim: number, bytes: number, t: Timing, total: number, scorer: string): string {
  const s = total / 1000;
  const pct = (ms: number) => `${(ms / 1000).toFixed(3)} s (${((100 * ms) / total).toFixed(0)}%)`;
  const rss = process.resourceUsage().maxRSS / 1024; // kB → MB
  return (
    `kl-simd: ${formatCount(rows)} rows × ${dim} in ${s.toFixed(3)} s: ${formatRate(rows / s)} rows/s, ` +
    `${formatRate(bytes / 1e6 / s)} MB/s of input (${formatRate(bytes / 1e6)} MB)\n` +
    `kl-simd: read + parse ${pct(t.read)}, score ${pct(t.score)} [${scorer}], write ${pct(t.write)}; max RSS ${rss.toFixed(0)} MB\n`
  );
}

/** The runs (their Args) that have opened an NDJSON input, which --field is for. */
const readNdjson = new WeakSet<Args>();

/** A reader of the rows of `source` (a path, or bytes) with the command line's reading options, `more` overriding them. */
async function openRows(args: Args, io: Io, source: string | ByteSource, kind: InputKind, skips: Skips | null, more: Partial<ReadOptions> = {}) {
  const note = (text: string) => void io.stderr.write(`kl-simd: ${text}\n`);
  const options = { format: null, dim: args.dim, kind, header: args.header, field: args.field, skips, blockRows: args.blockRows, note, ...more };
  const reader = await openReader(typeof source === "string" ? openSource(source, io.stdin) : source, options);
  if (reader instanceof TextReader && reader.format === "ndjson") readNdjson.add(args);
  return reader;
}

/** The files a run reads, which its output must not overwrite. */
const inputsOf = (args: Args): string[] => [args.input, args.ref, args.against, args.candidates].filter((f): f is string => f !== null);

/** The one row of --ref or --ref-values, as a typed array of its own. */
async function reference(args: Args, io: Io, scoring: Scoring): Promise<{ values: Values; name: string }> {
  const listed = args.refValues !== null;
  const source = listed ? memorySource("--ref-values", new TextEncoder().encode(args.refValues!)) : args.ref!;
  const reader = await openRows(args, io, source, args.inputQ, null, listed ? { format: "csv", header: false, blockRows: 2 } : { blockRows: 2 });
  const block = await reader.next(2);
  reader.close();
  if (block === null) throw new CliError(`${reader.name}: no values`);
  if (block.rows !== 1) throw new CliError(`${reader.name}: the reference must be one row; it has more`);
  const values = block.values.slice();
  try {
    // what the library would say of it (a zero sum, no finite logit), said of the reference
    scoring.score(args.measure, values, values, { ...qAlone(args), dim: values.length });
  } catch (error) {
    if (!isLibraryError(error)) throw error;
    throw new CliError(`${reader.name}: ${explain(error.message)}`);
  }
  return { values, name: reader.name };
}

/** True for the library's errors about values and shapes; a bad option is the command line's (exit 2). */
const isLibraryError = (e: unknown): e is Error =>
  (e instanceof KLRangeError || e instanceof KLTypeError) && e.code !== "KL_BAD_OPTION";

/**
 * Scores a block with one call. If the library rejects it, each row is scored alone to find
 * the bad ones: the first is reported with its place (file:line, or row and byte offset), or
 * with --on-error skip every bad row is marked and left out.
 */
async function scoreBlock(
  args: Args, scoring: Scoring, block: Block, qRows: Values | (() => Values) | null,
  reader: RowReader, other: RowReader | null, refName: string | null, skips: Skips | null, qSlice?: FileRows,
): Promise<{ values: Float64Array; indices?: Int32Array; bad: Uint8Array | null }> {
  const rows = block.rows, dim = reader.dim!;
  const options: BatchOptions = { ...args.options, dim };
  const qValues = () => (typeof qRows === "function" ? qRows() : qRows);
  try {
    // the whole block at once (with --threads on worker threads, which may read a file's rows
    // themselves); a bad row sends it to the in-process row-by-row pass below, which finds it
    if (block.slice !== undefined && scoring.scoreFile) {
      return { values: await scoring.scoreFile(args.measure, block.slice, qSlice ?? qValues(), options), bad: block.bad };
    }
    const p = block.values, q = qValues();
    const values = scoring.scoreMany ? await scoring.scoreMany(args.measure, p, q, options) : scoring.score(args.measure, p, q, options);
    return { values, bad: block.bad };
  } catch (error) {
    if (!isLibraryError(error)) throw error;
  }
  const p = block.values, q = qValues();
  const values = new Float64Array(rows);
  const bad = block.bad ?? new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    if (bad[r]) continue;
    const pr = p.subarray(r * dim, (r + 1) * dim);
    const qr = q === null ? null : q.length === dim ? q : q.subarray(r * dim, (r + 1) * dim);
    try {
      values[r] = scoring.score(args.measure, pr, qr, options)[0];
    } catch (error) {
      if (!isLibraryError(error)) throw error;
      const onQ = /^q\b/.test(error.message);
      if (onQ && refName !== null) throw new CliError(`${refName}: ${explain(error.message)}`);
      const message = placeOf(onQ ? other! : reader, r, onQ ? qr! : pr, onQ ? args.inputQ : args.inputP, error.message);
      skipOrFail(skips, message);
      bad[r] = 1;
      values[r] = NaN;
    }
  }
  return { values, bad };
}

/** "file: row 3, element 5 (byte offset 1064): -1 is negative; …" or "file:7: the row sums to 0 …". */
function placeOf(reader: RowReader, r: number, row: Values, kind: InputKind, message: string): string {
  if (reader instanceof BinaryReader) {
    const column = row.findIndex((v) => !validFor(v, kind));
    if (column >= 0) return `${reader.where(r, column)}: ${valueProblem(row[column], String(row[column]), kind)}`;
  }
  return `${reader.where(r)}: ${explain(message)}`;
}

/** The library's message about a one-row call ("p sums to 0 …"), said of "the row". */
const explain = (message: string): string => message.replace(/^([pq]|queries|candidates)(?=[\s[])/, "the row");

/**
 * The k nearest candidates of each row of a block (its scores and their indices), with one call.
 * If the library rejects it, each row is ranked alone against every candidate (an overflow may
 * come from any of them; the candidates were checked when loaded): a bad row is reported with its
 * place, or with --on-error skip marked and left out. A block whose every row passes alone gets
 * the library's own error, said of the file.
 */
async function topKBlock(args: Args, scoring: Scoring, block: Block, candidates: Values, reader: RowReader, skips: Skips | null) {
  const dim = reader.dim!, k = args.k, rows = block.rows, options = { ...args.options, dim, k };
  try {
    const top = scoring.topK(args.measure, block.values, candidates, options);
    return { values: top.scores, indices: top.indices, bad: block.bad };
  } catch (error) {
    if (!isLibraryError(error)) throw error;
    const values = new Float64Array(rows * k), indices = new Int32Array(rows * k);
    const bad = block.bad ?? new Uint8Array(rows);
    let found = false;
    for (let r = 0; r < rows; r++) {
      if (bad[r]) continue;
      const row = block.values.subarray(r * dim, (r + 1) * dim);
      try {
        const top = scoring.topK(args.measure, row, candidates, options);
        values.set(top.scores, r * k);
        indices.set(top.indices, r * k);
      } catch (rowError) {
        if (!isLibraryError(rowError)) throw rowError;
        skipOrFail(skips, placeOf(reader, r, row, args.inputP, rowError.message));
        bad[r] = 1;
        found = true;
      }
    }
    if (!found) throw new CliError(`${reader.name}: ${error.message} (rows ${block.first}–${block.first + rows - 1} together; each passes alone)`);
    return { values, indices, bad };
  }
}

/**
 * The options for checking q's rows by themselves (the reference, the candidates): q's input
 * kind on both sides, and the temperature only where that kind is logits (the library refuses
 * a temperature without a logits side: --input-p logits --temperature T with a probability q).
 */
function qAlone(args: Args): ScoreOptions {
  const { temperature, ...options } = args.options;
  return { ...options, input: { p: args.inputQ, q: args.inputQ }, ...(args.inputQ === "logits" ? { temperature } : {}) };
}

/** Every candidate row in one typed array, each block checked as it comes (so errors have places); at least --k of them. */
async function loadCandidates(args: Args, io: Io, scoring: Scoring): Promise<{ values: Values; dim: number }> {
  const reader = await openRows(args, io, args.candidates!, args.inputQ, null);
  const blocks: Values[] = [];
  let length = 0;
  const check: Args = { ...args, inputP: args.inputQ, options: qAlone(args) };
  try {
    for (let block = await reader.next(args.blockRows); block !== null; block = await reader.next(args.blockRows)) {
      await scoreBlock(check, scoring, block, block.values.subarray(0, reader.dim!), reader, null, null, null);
      blocks.push(block.values.slice());
      length += block.values.length;
    }
  } finally {
    reader.close();
  }
  if (blocks.length === 0) throw new CliError(`${args.candidates}: no candidate rows`);
  const n = length / reader.dim!;
  if (args.k > n) throw usage(`--k ${args.k} is more than the ${n} candidate rows`);
  const values = blocks[0] instanceof Float32Array ? new Float32Array(length) : new Float64Array(length);
  let at = 0;
  for (const block of blocks) {
    values.set(block, at);
    at += block.length;
  }
  return { values, dim: reader.dim! };
}
