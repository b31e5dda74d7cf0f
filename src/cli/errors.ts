/**
 * An error the command line reports as one line on stderr (no stack) and exits with:
 * 1 for bad data (a value, a row, a file's content), 2 for a bad command (options, paths),
 * 3 when the output cannot be written (a full disk, a closed device). 70 is left for what
 * no message here foresaw: a bug (main.ts prints its stack).
 */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: 1 | 2 | 3 = 1) {
    super(message);
    this.name = "CliError";
  }
}

export const usage = (message: string): CliError => new CliError(message, 2);

/** "cannot write out.csv: no space left on device (ENOSPC)", exit 3: one line, no stack. */
export function writeFailure(name: string, error: unknown): CliError {
  const e = error as NodeJS.ErrnoException;
  // Node's "ENOSPC: no space left on device, write" → "no space left on device (ENOSPC)"
  const what = typeof e?.code === "string" ? `${e.message.replace(/^[A-Z]+: /, "").replace(/, \w+(?: '.*')?$/, "")} (${e.code})` : String(e?.message ?? e);
  return new CliError(`cannot write ${name}: ${what}`, 3);
}
