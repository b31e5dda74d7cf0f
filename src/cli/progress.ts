// A one-line progress display on stderr (rows, rows/s, share of the input read), redrawn at
// most 10 times a second; silent unless stderr is a terminal, and with --quiet.

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export class Progress {
  private last = 0;
  private shown = false;
  private readonly started = performance.now();

  constructor(
    private readonly stream: ProgressStream,
    private readonly enabled: boolean,
    private readonly totalBytes: number | null,
    private readonly now: () => number = () => performance.now(),
  ) {}

  static for(stream: ProgressStream, quiet: boolean, totalBytes: number | null): Progress {
    return new Progress(stream, !quiet && stream.isTTY === true, totalBytes);
  }

  update(rows: number, bytes: number): void {
    if (!this.enabled) return;
    const t = this.now();
    if (t - this.last < 100) return;
    this.last = t;
    this.stream.write(`\r${this.line(rows, bytes, t)}\x1b[K`);
    this.shown = true;
  }

  /** Clears the line (the summary, if any, is printed by the caller). */
  done(): void {
    if (this.shown) this.stream.write("\r\x1b[K");
  }

  line(rows: number, bytes: number, t = this.now()): string {
    const seconds = Math.max((t - this.started) / 1000, 1e-9);
    const rate = `${formatCount(rows)} rows  ${formatRate(rows / seconds)} rows/s  ${formatRate(bytes / 1e6 / seconds)} MB/s`;
    if (this.totalBytes === null || this.totalBytes === 0) return rate;
    const share = Math.min(bytes / this.totalBytes, 1);
    const width = 24;
    const filled = Math.round(share * width);
    return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ${rate}`;
  }
}

/** A rate or size: 1234567 → "1,234,567"; under 100 three significant digits (2.5, 0.0417), never a rounded 0. */
export function formatRate(n: number): string {
  return n >= 100 || n === 0 || !Number.isFinite(n) ? formatCount(n) : String(Number(n.toPrecision(3)));
}

/** 1234567 → "1,234,567" (rates rounded to whole rows). */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
