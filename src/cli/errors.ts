/**
 * An error the command line reports as one line on stderr (no stack) and exits with:
 * 1 for bad data (a value, a row, a file's content), 2 for a bad command (options, paths).
 */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: 1 | 2 = 1) {
    super(message);
    this.name = "CliError";
  }
}

export const usage = (message: string): CliError => new CliError(message, 2);
