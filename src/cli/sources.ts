// Where bytes come from: a file (read synchronously into the caller's buffer, no copy) or
// standard input (a stream: its chunks are copied into the caller's buffer as they come).
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { usage } from "./errors.js";

export interface ByteSource {
  /** the name used in messages: the path, or "<stdin>" */
  readonly name: string;
  /** the size in bytes where it is known (a regular file), else null */
  readonly size: number | null;
  /** Fills `into` as far as the input goes; returns the bytes written (0 only at the end). */
  read(into: Uint8Array): Promise<number>;
  close(): void;
}

export function openSource(path: string, stdin: NodeJS.ReadableStream = process.stdin): ByteSource {
  if (path === "-") return stdinSource(stdin);
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    throw usage(`cannot open ${path}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
  const stat = fstatSync(fd);
  if (stat.isDirectory()) throw usage(`${path} is a directory, not a file`);
  return {
    name: path,
    size: stat.isFile() ? stat.size : null,
    read: (into) => Promise.resolve(readFully(fd, into)),
    close: () => closeSync(fd),
  };
}

/** Reads from `fd` (at `position`, or where the file is) until `into` is full or the file ends; returns the bytes read. */
export function readFully(fd: number, into: Uint8Array, position: number | null = null): number {
  let n = 0;
  while (n < into.length) {
    const got = readSync(fd, into, n, into.length - n, position === null ? null : position + n);
    if (got === 0) break;
    n += got;
  }
  return n;
}

function stdinSource(stream: NodeJS.ReadableStream): ByteSource {
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  let size: number | null = null;
  try {
    const stat = fstatSync(0);
    if (stream === process.stdin && stat.isFile()) size = stat.size;
  } catch {
    // no descriptor 0 (a test's stream): size unknown
  }
  // the chunk being read, as bytes in memory: what `into` had no room for is read first next time
  let chunk = memorySource("<stdin>", new Uint8Array(0));
  let done = false;
  return {
    name: "<stdin>",
    size,
    async read(into) {
      let n = await chunk.read(into);
      while (n < into.length && !done) {
        const next = await chunks.next();
        if (next.done) done = true;
        else {
          chunk = memorySource("<stdin>", typeof next.value === "string" ? Buffer.from(next.value) : next.value);
          n += await chunk.read(into.subarray(n));
        }
      }
      return n;
    },
    close() {},
  };
}

/** Bytes in memory as a source (the --ref-values list). */
export function memorySource(name: string, bytes: Uint8Array): ByteSource {
  return withPrefix({ name, size: bytes.length, read: () => Promise.resolve(0), close() {} }, bytes);
}

/** `source` with `prefix` (bytes already read from it) put back in front. */
export function withPrefix(source: ByteSource, prefix: Uint8Array): ByteSource {
  let rest: Uint8Array | null = prefix.length > 0 ? prefix : null;
  return {
    name: source.name,
    size: source.size,
    async read(into) {
      if (rest === null) return source.read(into);
      const take = Math.min(rest.length, into.length);
      into.set(rest.subarray(0, take));
      rest = take === rest.length ? null : rest.subarray(take);
      if (take === into.length) return take;
      return take + (await source.read(into.subarray(take)));
    },
    close: () => source.close(),
  };
}
