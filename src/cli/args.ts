// Command-line arguments: node:util parseArgs, then checked and turned into library options.
import { maxThreads } from "../parallel/api.js";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { measureNames, type InputKind, type MeasureName, type ScoreOptions, type Smoothing } from "../index.js";
import { usage } from "./errors.js";
import { parseDecimal } from "./numbers.js";
import { FORMATS } from "./readers.js";
import { OUTPUT_FORMATS } from "./writers.js";

type Command = "score" | "topk";

/** A run's arguments, checked: what `parse` returns for one. */
export type Args = Extract<ReturnType<typeof parse>, { kind: "run" }>["args"];

/** Measure names on the command line: the API's names, their kebab-case forms and two short ones. */
export const MEASURES: Record<string, MeasureName> = Object.create(null); // no Object.prototype names
for (const name of measureNames) MEASURES[name] = MEASURES[name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase()).replace("-k-l", "-kl")] = name;
MEASURES.js = "jsDivergence";
MEASURES.tv = "totalVariation";

const KINDS: readonly InputKind[] = ["probabilities", "log-probabilities", "logits"];

// the options by what they take (a value, or none); -m, -f, -o, -q and -h are short for some
const VALUED = [
  "ref", "ref-values", "against", "candidates", "k", "measure", "format", "dim", "field", "output", "output-format",
  "base", "input", "input-p", "input-q", "temperature", "alpha", "smoothing", "reduction", "on-error", "block-rows", "threads",
];
const FLAGS = ["header", "no-header", "normalize", "no-normalize", "quiet", "stats", "help", "version"];
const SHORT: Record<string, string> = { measure: "m", format: "f", output: "o", quiet: "q", help: "h" };
const OPTIONS: ParseArgsConfig["options"] = Object.fromEntries(
  [...VALUED, ...FLAGS].map((name) => {
    const type = FLAGS.includes(name) ? "boolean" : "string";
    return [name, SHORT[name] === undefined ? { type } : { type, short: SHORT[name] }];
  }),
);

/** What the command line asked for: a run, a help text, or the version. */
export function parse(argv: string[]) {
  let values: Record<string, string | boolean | undefined>, positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (error) {
    throw usage(`${(error as Error).message.split("\n")[0]}\nRun kl-simd --help for the options.`);
  }
  if (values.version) return { kind: "version" } as const;
  const [first, ...rest] = positionals;
  if (first === "help") return { kind: "help", text: helpFor(rest[0]) } as const;
  if (first === undefined) {
    if (values.help) return { kind: "help", text: HELP } as const;
    throw usage(`no command: say kl-simd score … or kl-simd topk …\n\n${HELP}`);
  }
  if (first !== "score" && first !== "topk") throw usage(`unknown command "${first}" (the commands are score and topk; see kl-simd --help)`);
  const command: Command = first;
  if (values.help) return { kind: "help", text: helpFor(command) } as const;
  if (rest.length > 1) throw usage(`one input file, got ${rest.length}: ${rest.join(" ")}`);
  const input = rest[0] ?? null;
  if (input === null) throw usage(`${command}: name the input file, or - for standard input (kl-simd ${command} --help)`);

  const str = (name: string): string | null => (values[name] as string | undefined) ?? null;
  const number = (name: string, ok: (n: number) => boolean, wanted: string): number | null => {
    const s = str(name);
    if (s === null) return null;
    const n = parseDecimal(s);
    if (n === null || !ok(n)) throw usage(`--${name} must be ${wanted}, got ${JSON.stringify(s)}`);
    return n;
  };
  const int = (name: string, min: number) => number(name, (n) => Number.isInteger(n) && n >= min, `an integer ≥ ${min}`);
  const num = (name: string) => number(name, (n) => !Number.isNaN(n), "a decimal number such as 2 or 1e-4");
  const oneOf = <T extends string>(name: string, allowed: readonly T[]): T | null => {
    const s = str(name);
    if (s !== null && !allowed.includes(s as T)) throw usage(`--${name} must be one of ${allowed.join(", ")}, got ${JSON.stringify(s)}`);
    return s as T | null;
  };
  const flag = (name: string): boolean | null => {
    if (values[name] && values[`no-${name}`]) throw usage(`--${name} and --no-${name} contradict each other`);
    return values[name] ? true : values[`no-${name}`] ? false : null;
  };

  const measureName = str("measure") ?? "kl";
  const measure = MEASURES[measureName];
  if (measure === undefined) {
    throw usage(`--measure ${JSON.stringify(measureName)} is not a measure; one of: ${Object.keys(MEASURES).filter((m) => !/[A-Z]/.test(m)).join(", ")}`);
  }
  const ref = str("ref"), refValues = str("ref-values"), against = str("against"), candidates = str("candidates");
  const given = [ref, refValues, against].filter((x) => x !== null).length;
  if (command === "score") {
    if (measure === "entropy" ? given > 0 : given !== 1) {
      throw usage(measure === "entropy"
        ? "entropy has one argument: no --ref, --ref-values or --against"
        : "say what to score against: one of --ref FILE, --ref-values 0.2,0.3,… or --against FILE (see kl-simd score --help)");
    }
    if (candidates !== null || str("k") !== null) throw usage("--candidates and --k belong to topk");
  } else {
    if (candidates === null) throw usage("topk needs --candidates FILE (see kl-simd topk --help)");
    if (given > 0) throw usage("--ref, --ref-values and --against belong to score");
    if (measure === "entropy") throw usage("topk needs a two-sided measure, not entropy");
  }

  // standard input can be read once: two sides naming "-" would leave one of them empty
  const fromStdin = [["the input", input], ["--ref", ref], ["--against", against], ["--candidates", candidates]].filter(([, f]) => f === "-");
  if (fromStdin.length > 1) throw usage(`${fromStdin.map(([what]) => what).join(" and ")} both read standard input (-); it can be read once: give one of them as a file`);

  const input_ = oneOf("input", KINDS) ?? "probabilities";
  const inputP = oneOf("input-p", KINDS) ?? input_;
  const inputQ = oneOf("input-q", KINDS) ?? input_;
  const options: ScoreOptions = {};
  const normalize = flag("normalize");
  if (normalize !== null) options.normalize = normalize;
  for (const name of ["base", "temperature", "alpha"] as const) {
    const value = num(name);
    if (value !== null) options[name] = value;
  }
  if (inputP !== "probabilities" || inputQ !== "probabilities") options.input = { p: inputP, q: inputQ };
  const smoothing = str("smoothing");
  if (smoothing !== null) options.smoothing = parseSmoothing(smoothing);
  const reduction = oneOf("reduction", ["none", "sum", "mean"] as const) ?? "none";
  if (reduction !== "none" && command === "topk") throw usage("--reduction belongs to score");

  return {
    kind: "run" as const,
    args: {
      command,
      input,
      ref,
      refValues,
      against,
      candidates,
      k: int("k", 1) ?? 5,
      measure,
      format: oneOf("format", FORMATS),
      dim: int("dim", 1),
      header: flag("header"),
      field: str("field"),
      output: str("output"),
      outputFormat: oneOf("output-format", OUTPUT_FORMATS),
      options,
      inputP,
      inputQ,
      reduction,
      onError: oneOf("on-error", ["fail", "skip"] as const) ?? "fail",
      // larger blocks with threads: kl-simd/parallel pays from ~1e6 values a call
      blockRows: int("block-rows", 1) ?? ((int("threads", 1) ?? maxThreads()) > 1 ? 65536 : 4096),
      threads: int("threads", 1) ?? maxThreads(),
      quiet: values.quiet === true,
      stats: values.stats === true,
    },
  };
}

function parseSmoothing(text: string): Smoothing {
  const m = /^(clip|replace-zeros|additive):(.+)$/.exec(text);
  const epsilon = m === null ? NaN : (parseDecimal(m[2]) ?? NaN);
  // the library's range (src/engine/options.ts), checked before any file is read
  if (m === null || !(epsilon >= 2 ** -500 && epsilon < 1)) {
    throw usage(`--smoothing must be MODE:EPSILON with MODE clip, replace-zeros or additive and 2^-500 ≤ EPSILON < 1, e.g. replace-zeros:1e-4; got ${JSON.stringify(text)}`);
  }
  return { mode: m[1] as Smoothing["mode"], epsilon };
}

function helpFor(command: string | undefined): string {
  return command === "score" ? SCORE_HELP : command === "topk" ? TOPK_HELP : HELP;
}

const INPUTS = `Input formats (by extension, or --format; "-" reads standard input and sniffs the format):
  .csv             comma-, tab- or blank-separated numbers, one row a line (the separator
                   of the first line holds for all); a first line of names only (each
                   starts with a letter or _) is taken as a header, said on stderr:
                   --header / --no-header say it instead; a UTF-8 BOM, blank lines and
                   lines starting with # are skipped
  .tsv             tab-separated
  .ndjson .jsonl   one JSON array a line, or objects with the row in a field (--field probs)
  .npy             NumPy float32 or float64, 2-D (rows × values) or 1-D (one row), C order
  --format f32|f64 raw little-endian floats, no header; needs --dim (values per row)`;

const DISTRIBUTION = `How values are read (the same options as the library's ScoreOptions):
  --input KIND          probabilities (default), log-probabilities or logits, both sides
  --input-p KIND        ... only the rows (p); --input-q KIND: only the reference/other side (q)
  --temperature T       logits: softmax(z / T) (default 1)
  --alpha A             the order of --measure renyi (> 0; 1 is KL; Infinity)
  --normalize           divide each row by its sum first (the default; generalized-kl: off)
  --no-normalize        take the values as they are
  --base B              logarithm base (default e: nats; 2: bits)
  --smoothing MODE:EPS  clip, replace-zeros or additive, e.g. --smoothing replace-zeros:1e-4`;

const RUNNING = `Output and running:
  -o, --output FILE     write the results there (default: standard output); written
                        under a temporary name and renamed when done; never an input file
  --output-format FMT   csv (default), ndjson or npy (default from the --output extension)
  --on-error MODE       fail (default): stop at the first bad row, exit code 1;
                        skip: leave bad rows out and report how many on stderr at the end
  --block-rows N        rows scored per library call (default 4096; memory ≈ N × values × 8 B)
  --threads N           scoring threads (default: the available cores; blocks under
                        ~1e6 values score in-process, where threads would not pay)
  -q, --quiet           no progress bar (it shows only when stderr is a terminal anyway)
  --stats               print rows, rows/s, MB/s and where the time went to stderr
  -h, --help            this help`;

const MEASURE_LIST = `Measures (--measure, default kl):
  kl               D(P‖Q) = Σ p·ln(p/q)            (scipy.stats.entropy(p, q))
  cross-entropy    −Σ p·ln q
  js               Jensen–Shannon divergence        js-distance: its square root
  jeffreys, psi    Σ (p − q)·ln(p/q)               (population stability index)
  generalized-kl   Σ p·ln(p/q) − p + q, unnormalised (scipy.special.kl_div(p, q).sum())
  hellinger, tv    Hellinger and total variation distances
  renyi            Rényi divergence of order --alpha: ln Σ pᵅ·q¹⁻ᵅ / (α − 1)
  entropy          −Σ p·ln p of each row (no reference)`;

/** The options both commands take, in both their help texts. */
const OPTIONS_HELP = [INPUTS, DISTRIBUTION, MEASURE_LIST, RUNNING].join("\n\n");

export const HELP = `kl-simd — KL divergence and related measures of every row of a file, on the command line

Usage:
  kl-simd score FILE (--ref REF | --ref-values V,V,… | --against FILE2) [options]
  kl-simd topk QUERIES --candidates FILE --k K [options]
  kl-simd help score | help topk | --version

  score  each row of FILE against one reference distribution (--ref, --ref-values), or
         row i of FILE against row i of FILE2 (--against); one result per row
  topk   for each query row, the K candidate rows with the smallest divergence

Examples:
  kl-simd score counts.csv --ref-values 0.25,0.25,0.5
  kl-simd score batch.npy --ref baseline.npy --measure js --base 2 -o scores.npy
  kl-simd score student.ndjson --against teacher.ndjson --field logits --input logits --temperature 2
  python make_rows.py | kl-simd score - --ref ref.csv --reduction mean
  kl-simd topk queries.csv --candidates docs.npy --k 3 --measure js

${MEASURE_LIST}

Run kl-simd score --help or kl-simd topk --help for every option.
Exit codes: 0 done, 1 bad data (file:line:column: what), 2 bad command line,
3 the output could not be written (disk full, …), 70 internal error (a bug: please report it).
`;

export const SCORE_HELP = `kl-simd score — one result per row of FILE

Usage:
  kl-simd score FILE --ref REF [options]            every row against the one row of REF
  kl-simd score FILE --ref-values 0.2,0.3,0.5       ... against these values
  kl-simd score FILE --against FILE2 [options]      row i of FILE against row i of FILE2
  kl-simd score FILE --measure entropy              the entropy of each row
FILE may be - (standard input). Rows are streamed in blocks: files of any size run in
bounded memory.

Examples:
  $ printf '0.2,0.8\\n0.5,0.5\\n0.9,0.1\\n' > rows.csv
  $ kl-simd score rows.csv --ref-values 0.5,0.5
  row,kl
  0,0.19274475702175745
  1,0
  2,0.3680642071684972
  $ kl-simd score rows.csv --ref-values 0.5,0.5 --reduction mean
  rows,kl_mean
  3,0.18693632139675154
  $ kl-simd score rows.csv --ref-values 0.5,0.5 --measure js-distance --base 2 --output-format ndjson
  $ kl-simd score big.npy --ref ref.npy -o scores.npy --stats
  $ kl-simd score psi-bins.csv --ref expected.csv --measure psi --smoothing replace-zeros:1e-4
  $ kl-simd score raw.f32 --format f32 --dim 16 --ref-values=-1,0,… --input logits
    (a value list that starts with "-" needs the = form)

What to score against:
  --ref FILE            a file holding one row (any input format)
  --ref-values LIST     the reference as comma-separated numbers
  --against FILE2       a second file with as many rows as FILE, scored row by row
  -m, --measure NAME    see below (default kl)
  --reduction R         none (default: one result per row), sum or mean over the rows

Reading:
  -f, --format FMT      csv, tsv, ndjson, npy, f32 or f64 (default: from the extension)
  --dim N               values per row (required for f32/f64; checked for the others)
  --header, --no-header whether the CSV's first line is a header (default: a line of
                        names is, and stderr says so)
  --field NAME          NDJSON objects: the field that holds the row

${OPTIONS_HELP}

Output: CSV "row,<measure>" (row = 0-based data row of FILE), NDJSON {"row":…,"<measure>":…}
(an infinite result is the string "Infinity"), or .npy: 1-D float64, one value per row.
Errors name the place: rows.csv:3:5: "abc" is not a number; binary input: the row, element
and byte offset. With --on-error skip, bad rows are left out (NaN in .npy output).
`;

export const TOPK_HELP = `kl-simd topk — the K nearest candidate rows of each query row

Usage:
  kl-simd topk QUERIES --candidates FILE [--k K] [options]
"Nearest" is the smallest divergence measure(query, candidate) (default kl: D(query‖candidate)).
QUERIES (or - for standard input) is streamed in blocks; the candidates are held in memory.

Examples:
  $ printf '0.2,0.8\\n0.5,0.5\\n' > queries.csv
  $ printf '0.5,0.5\\n0.9,0.1\\n0.25,0.75\\n' > candidates.csv
  $ kl-simd topk queries.csv --candidates candidates.csv --k 2
  query,rank,index,score
  0,1,2,0.007002106647214985
  0,2,0,0.19274475702175745
  1,1,0,0
  1,2,2,0.1438410362258904
  $ kl-simd topk queries.npy --candidates docs.npy --k 10 --measure js -o nearest.npy
    (writes nearest.npy: int32 indices, queries × K, and nearest.scores.npy: float64 scores)

Options:
  --candidates FILE     the rows to search (any input format)
  --k K                 how many per query (default 5; at most the number of candidates)
  -m, --measure NAME    any measure but entropy (default kl)
  -f, --format FMT      the queries' format (default: from the extension); --dim, --header,
                        --field as for score

${OPTIONS_HELP}

Output: CSV "query,rank,index,score" (K lines a query, nearest first; ties: lower index),
NDJSON {"query":…,"indices":[…],"scores":[…]}, or two .npy files (see above).
`;
