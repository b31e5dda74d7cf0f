// Result writers: CSV, NDJSON or .npy, one write per block of rows, to a file or stdout.
import { once } from "node:events";
import { closeSync, fchmodSync, fstatSync, openSync, realpathSync, renameSync, rmSync, statSync, writeSync, type Stats } from "node:fs";
import { constants } from "node:os";
import { basename, dirname, join } from "node:path";
import { CliError, usage, writeFailure } from "./errors.js";
import { npyHeader } from "./npy.js";
import { formatByExtension } from "./readers.js";

export const OUTPUT_FORMATS = ["csv", "ndjson", "npy"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Where output bytes go: a file or stdout. */
export interface Sink {
  readonly name: string;
  write(data: Uint8Array | string): Promise<void>;
  /** Overwrites bytes at `position`: files only (an .npy header's row count, known at the end). */
  patch?(data: Uint8Array, position: number): void;
  /** Ends the output; `complete` false (the run failed) leaves the file that was there as it was. */
  close(complete: boolean): void;
}

/**
 * A sink for --output `path` (stdout for null or "-"). A regular file is written under a
 * temporary name beside it and renamed over `path` only when the run completes, so a run
 * that fails leaves no half-written file and an older result intact. `inputs` are the files
 * the run reads: writing over one of them is refused (it would replace the data with scores).
 */
export function openSink(path: string | null, stdout: NodeJS.WritableStream = process.stdout, inputs: readonly string[] = []): Sink {
  if (path === null || path === "-") {
    // a stdout opened on an input (`score rows.csv … >> rows.csv`; `-` is the file behind fd 0,
    // `score - … 1<> rows.csv < rows.csv`): refused as -o naming it is
    const into = stdout === process.stdout ? fstatOrNull(1) : null;
    refuseInputs(into, inputs, "standard output");
    // a stdout that is a file: written here, whole (Node's own stream for one takes a single
    // writeSync and drops what it did not take: on a full disk a truncated file, exit 0)
    if (into?.isFile()) {
      return {
        name: "<stdout>",
        write: (data) => Promise.resolve(writeAll(1, data, "<stdout>")),
        close() {},
      };
    }
    return {
      name: "<stdout>",
      // a failed write to stdout arrives as its 'error' event, which main.ts reports (exit 3)
      async write(data) {
        if (!stdout.write(data)) await once(stdout, "drain");
      },
      close() {},
    };
  }
  const existing = statOrNull(path);
  refuseInputs(existing, inputs, `--output ${path}`);
  // the file a symbolic link names is the one replaced, not the link
  const target = existing === null ? path : realpathSync(path);
  // a device or a pipe (/dev/null, /dev/stdout, a FIFO) is written in place: it cannot be renamed over
  let temporary = existing === null || existing.isFile() ? join(dirname(target), `.${basename(target)}.${process.pid}.kl-simd-tmp`) : null;
  let fd = -1;
  // listed before it exists, so that no signal finds it unlisted (the handler runs only at a turn of the event loop)
  if (temporary !== null) removedOnSignal(temporary, true);
  try {
    if (temporary !== null) fd = openSync(temporary, "wx");
    if (temporary !== null && existing !== null) fchmodSync(fd, existing.mode & 0o7777); // the replaced file's permissions
  } catch (error) {
    if (fd >= 0) {
      closeSync(fd);
      rmSync(temporary!, { force: true });
    }
    if (temporary !== null) removedOnSignal(temporary, false);
    // a folder that takes no new file beside a file that may be writable: written in place, a
    // run that failed would leave half a file where the earlier results were
    if (existing !== null) {
      const why = (error as NodeJS.ErrnoException).code ?? String(error);
      throw usage(`cannot write ${path} safely: its folder takes no temporary file (${why}) to hold the results until they are complete; name a file in a writable folder`);
    }
    temporary = null; // no file and no folder for it: the open below says why
  }
  try {
    if (temporary === null) fd = openSync(target, "w");
  } catch (error) {
    throw usage(`cannot write ${path}: ${(error as Error).message}`);
  }
  const guarded = <T>(write: () => T): T => {
    try {
      return write();
    } catch (error) {
      throw writeFailure(path, error);
    }
  };
  return {
    name: path,
    write(data) {
      writeAll(fd, data, path);
      return Promise.resolve();
    },
    patch(data, position) {
      guarded(() => writeSync(fd, data, 0, data.length, position));
    },
    close(complete) {
      closeSync(fd);
      if (temporary === null) return;
      try {
        if (complete) {
          try {
            renameSync(temporary!, target);
          } catch (error) {
            // the results are complete: kept under their temporary name (no longer removed on a
            // signal), and said where
            throw new CliError(`${writeFailure(path, error).message}; the complete results are kept in ${temporary}`, 3);
          }
        } else rmSync(temporary!, { force: true });
      } finally {
        removedOnSignal(temporary, false);
      }
    },
  };
}

/** Writes all of `data` (writeSync may take less: a disk filling up, then ENOSPC), or throws the write failure (exit 3). */
function writeAll(fd: number, data: Uint8Array | string, name: string): void {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  try {
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
  } catch (error) {
    throw writeFailure(name, error);
  }
}

/** Refuses an output (`what`, stat `output`) that is the file one of `inputs` is read from (`-`: the file behind fd 0). */
function refuseInputs(output: Stats | null, inputs: readonly string[], what: string): void {
  if (output === null || !output.isFile()) return;
  for (const input of inputs) {
    const read = input === "-" ? fstatOrNull(0) : statOrNull(input);
    if (read !== null && output.dev === read.dev && output.ino === read.ino) {
      throw usage(`${what} is the input file ${input === "-" ? "(standard input)" : input}: writing the scores there would replace its data; name another file`);
    }
  }
}

function fstatOrNull(fd: number): Stats | null {
  try {
    return fstatSync(fd);
  } catch {
    return null;
  }
}

// The signals that end a run from outside (Ctrl-C, kill, a closed terminal). Their default
// action ends the process at once and leaves the temporary files behind: while one exists, a
// handler removes them, then dies of the signal as before (the shell's 130, 143, 129; Python's
// -2). Installed only while a file is written: the module used as a library keeps no handler.
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const temporaries = new Set<string>();

function removedOnSignal(path: string, add: boolean): void {
  const before = temporaries.size;
  if (add) temporaries.add(path);
  else temporaries.delete(path);
  if (before === 0 && temporaries.size > 0) for (const signal of SIGNALS) process.on(signal, removeAndDie);
  if (before > 0 && temporaries.size === 0) for (const signal of SIGNALS) process.off(signal, removeAndDie);
}

function removeAndDie(signal: NodeJS.Signals): void {
  for (const path of temporaries) {
    rmSync(path, { force: true });
    removedOnSignal(path, false); // the last one takes the handlers away
  }
  // with no handler, the default action ends the process, its worker threads too (Windows has
  // no such death: there, and should kill return, the status the shell would show)
  if (process.platform !== "win32") process.kill(process.pid, signal);
  process.exit(128 + constants.signals[signal]);
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** The output format named by --output-format, else by the output file's extension, else CSV. */
export function outputFormatOf(path: string | null): OutputFormat {
  const format = path === null ? undefined : formatByExtension(path);
  return format === "npy" || format === "ndjson" ? format : "csv";
}

/** A number as JSON: non-finite values (an infinite KL) as the strings "Infinity", "NaN". */
const json = (v: number): string => (Number.isFinite(v) ? String(v) : `"${v}"`);

/** Results, one block of rows at a time: a score a row, or (top-k) the k indices and scores of each. */
export interface Writer {
  rows(scores: Float64Array, count: number, first: number, bad: Uint8Array | null, indices?: Int32Array): Promise<void>;
  /** Ends the output; with `reduced`, the one value (--reduction sum|mean) over `rows` rows that replaces the rows. */
  finish(reduced?: { name: string; value: number; rows: number }): Promise<void>;
}

/** `write` run once, at the first call: a header, before the first rows or at the end if there were none. */
function onFirstCall(write: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | null = null;
  return () => (done ??= write());
}

/** A block as text: `line(r)` for each row r that is not bad. */
function text(count: number, bad: Uint8Array | null, line: (r: number) => string): string {
  let out = "";
  for (let r = 0; r < count; r++) if (bad === null || !bad[r]) out += line(r);
  return out;
}

/** Per-row scores: `row,<measure>` CSV, {"row","<measure>"} NDJSON, or a 1-D float64 .npy. */
export function scoreWriter(sink: Sink, format: OutputFormat, measure: string, expectedRows: number | null): Writer {
  let written = 0;
  // .npy: the row count is patched in at the end; to stdout it must be known before the first byte
  const start = onFirstCall(async () => {
    if (format !== "npy") return sink.write(format === "csv" ? `row,${measure}\n` : "");
    if (sink.patch) return sink.write(npyHeader("<f8", [0], 128)); // room for any row count
    if (expectedRows === null) {
      throw usage(".npy output to stdout needs the row count up front (.npy or raw input from a file); write it to a file with --output FILE.npy");
    }
    await sink.write(npyHeader("<f8", [expectedRows]));
  });
  return {
    async rows(values, count, first, bad) {
      await start();
      if (format === "npy") {
        if (bad !== null) for (let r = 0; r < count; r++) if (bad[r]) values[r] = NaN; // one value per input row
        written += count;
        return sink.write(new Uint8Array(values.buffer, values.byteOffset, count * 8));
      }
      const line = format === "csv"
        ? (r: number) => `${first + r},${values[r]}\n`
        : (r: number) => `{"row":${first + r},"${measure}":${json(values[r])}}\n`;
      await sink.write(text(count, bad, line));
    },
    async finish(reduced) {
      if (reduced !== undefined) {
        const { name, value, rows } = reduced;
        if (format !== "npy") return sink.write(format === "csv" ? `rows,${measure}_${name}\n${rows},${value}\n` : `{"rows":${rows},"measure":"${measure}","${name}":${json(value)}}\n`);
        await sink.write(npyHeader("<f8", [1]));
        return sink.write(new Uint8Array(Float64Array.of(value).buffer));
      }
      await start();
      if (format !== "npy") return;
      if (sink.patch) sink.patch(npyHeader("<f8", [written], 128), 0);
      else if (written !== expectedRows) throw new CliError(`wrote ${written} rows to a .npy header that says ${expectedRows}`);
    },
  };
}

/** Top-k results: long CSV (query,rank,index,score), NDJSON, or two .npy files. */
export function topKWriter(sink: Sink, scoresSink: Sink | null, format: OutputFormat, k: number): Writer {
  // .npy: two files, FILE.npy and FILE.scores.npy (so `sink` is a file too): the row count is patched in at the end
  if (format === "npy" && scoresSink === null) throw usage("topk .npy output needs a file: --output FILE.npy (the scores go to FILE.scores.npy)");
  const headers = (rows: number) => [npyHeader("<i4", [rows, k], 128), npyHeader("<f8", [rows, k], 128)] as const;
  let written = 0;
  const start = onFirstCall(async () => {
    if (format === "csv") await sink.write("query,rank,index,score\n");
    if (format !== "npy") return;
    const [hi, hs] = headers(0);
    await sink.write(hi);
    await scoresSink!.write(hs);
  });
  return {
    async rows(scores, count, first, bad, indices = new Int32Array(0)) {
      await start();
      if (format === "npy") {
        if (bad !== null) {
          for (let r = 0; r < count; r++) if (bad[r]) for (let t = 0; t < k; t++) (indices[r * k + t] = -1), (scores[r * k + t] = NaN);
        }
        await sink.write(new Uint8Array(indices.buffer, indices.byteOffset, count * k * 4));
        await scoresSink!.write(new Uint8Array(scores.buffer, scores.byteOffset, count * k * 8));
        written += count;
        return;
      }
      const line = (r: number): string => {
        const is = indices.subarray(r * k, (r + 1) * k), ss = scores.subarray(r * k, (r + 1) * k);
        if (format === "ndjson") {
          return `{"query":${first + r},"indices":[${is.join(",")}],"scores":[${Array.from(ss, json).join(",")}]}\n`;
        }
        return Array.from(is, (index, t) => `${first + r},${t + 1},${index},${ss[t]}\n`).join("");
      };
      await sink.write(text(count, bad, line));
    },
    async finish() {
      await start();
      if (format !== "npy") return;
      const [hi, hs] = headers(written);
      sink.patch!(hi, 0);
      scoresSink!.patch!(hs, 0);
    },
  };
}
