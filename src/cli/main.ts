// kl-simd, the command line (package "bin"; built to dist/cli.js). Parses the arguments, loads
// the kernel, runs the command; prints errors as one line, with the exit codes of errors.ts.
import { setFlagsFromString } from "node:v8";
import { init } from "../index.js";
import { parse } from "./args.js";
import { CliError, writeFailure } from "./errors.js";
import { run } from "./run.js";
import { scoringFor } from "./scoring.js";

declare const KL_SIMD_VERSION: string; // set by scripts/build-js.mjs

export async function main(argv: string[]): Promise<number> {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0); // the reader went away (… | head): not an error
    // a full disk or a closed device under "> file": one line and exit 3, whatever was running
    process.stderr.write(`kl-simd: ${writeFailure("<stdout>", error).message}\n`);
    process.exit(3);
  });
  try {
    const parsed = parse(argv);
    if (parsed.kind !== "run") {
      process.stdout.write(parsed.kind === "help" ? parsed.text : `${typeof KL_SIMD_VERSION === "string" ? KL_SIMD_VERSION : "dev"}\n`);
      return 0;
    }
    // a command line is one short run: compile the kernel with the optimising compiler at once
    // (V8 otherwise starts on its baseline tier and tiers up while the first blocks run;
    // measured 0.77 → 0.9 of a warm in-memory call on 1e6 .npy rows)
    setFlagsFromString("--no-liftoff");
    await init();
    const { args } = parsed;
    await run(args, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, scoring: scoringFor(args.threads) });
    return 0;
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`kl-simd: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof Error && (error as { code?: unknown }).code === "KL_FILE") {
      process.stderr.write(`kl-simd: ${error.message}\n`); // an input file that --threads' workers could not read to its end
      return 1;
    }
    if (error instanceof Error && (error.name === "KLRangeError" || error.name === "KLTypeError")) {
      process.stderr.write(`kl-simd: ${error.message}\n`); // an option the library rejected
      return 2;
    }
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`kl-simd: internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 70;
  },
);
