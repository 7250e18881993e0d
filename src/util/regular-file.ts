// Opening a file a person named (a config, a model): never blocks on a FIFO, and refuses what is not a regular file.
import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from "node:fs";
import { UsageError } from "../errors.ts";

function kind(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  return "not a regular file";
}

/**
 * Opens `path` read-only; throws (an Error naming the path) unless it is a regular file. O_NONBLOCK:
 * opening a FIFO for reading otherwise waits for a writer, and an init that does so at boot hangs
 * (a regular file ignores the flag). Node and Bun open with close-on-exec.
 */
export function openRegularFile(path: string): number {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`${path} is ${kind(st)}, not a regular file`);
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** The whole of a regular file (see openRegularFile). */
export function readRegularFile(path: string): Buffer {
  const fd = openRegularFile(path);
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Why `path` cannot be read as a regular file (missing, a directory, a FIFO, ...), or null when it can. */
export function unreadableFile(path: string): string | null {
  try {
    closeSync(openRegularFile(path));
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * A FILE a command was given, opened (see openRegularFile), else a UsageError (exit 64) naming it. A
 * directory was read until EISDIR (exit 70, "internal error"); a FIFO hung the command in open().
 */
export function openInputFile(path: string, what: string): number {
  try {
    return openRegularFile(path);
  } catch (e) {
    throw new UsageError(`${what}: cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** openInputFile, for a command that opens the file itself later. */
export function requireInputFile(path: string, what: string): void {
  closeSync(openInputFile(path, what));
}
