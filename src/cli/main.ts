// kl-simd, the command line (package "bin"; built to dist/cli.js). Parses the arguments, loads
// the kernel, runs the command; prints errors as one line and exits 1 (bad data) or 2 (bad usage).
import { init } from "../index.js";
import { parse } from "./args.js";
import { CliError } from "./errors.js";
import { run } from "./run.js";
import { scoringFor } from "./scoring.js";

declare const KL_SIMD_VERSION: string; // set by scripts/build-js.mjs

export async function main(argv: string[]): Promise<number> {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0); // the reader went away (… | head): not an error
    throw error;
  });
  try {
    const parsed = parse(argv);
    if (parsed.kind === "help") {
      process.stdout.write(parsed.text);
      return 0;
    }
    if (parsed.kind === "version") {
      process.stdout.write(`${typeof KL_SIMD_VERSION === "string" ? KL_SIMD_VERSION : "dev"}\n`);
      return 0;
    }
    await init();
    const { args } = parsed;
    await run(args, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, scoring: scoringFor(args.threads) });
    return 0;
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`kl-simd: ${error.message}\n`);
      return error.exitCode;
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
