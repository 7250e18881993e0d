// Durable file-system steps: fsync of files and directories, new directories, the journal's atomic replace (util/atomic-replace.ts with path.tmp and JournalError).
import { mkdirSync, writeSync, unlinkSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { JournalError } from "../errors.ts";
import { fsyncDirectory, replaceFileAsync, replaceFiles, type ReplacePolicy } from "../util/atomic-replace.ts";

/** fsyncs a directory so that a rename or unlink inside it survives a power cut. */
export function fsyncDir(dir: string): void {
  try {
    fsyncDirectory(dir);
  } catch (cause) {
    throw dirSyncError(dir, cause);
  }
}

const dirSyncError = (dir: string, cause: unknown) => new JournalError(`fsync of directory ${dir} failed`, { cause });

/**
 * `mkdir -p dir` that survives a power cut: each directory it creates is fsynced into its parent
 * (fsync of a file or directory does not make its own entry durable: the journal's segments, the
 * checkpoints and an archived lineage would be lost with the directory that holds them).
 */
export function makeDirDurable(dir: string, mode = 0o700): void {
  let first: string | undefined;
  try {
    first = mkdirSync(dir, { recursive: true, mode });
  } catch (cause) {
    throw new JournalError(`cannot create directory ${dir}`, { cause });
  }
  if (first === undefined) return;
  // The directories made, from the first (under one that existed) down to `dir`: each parent in turn.
  const made: string[] = [];
  for (let d = resolve(dir); made.at(-1) !== resolve(first) && d !== dirname(d); d = dirname(d)) made.push(d);
  for (const d of made.reverse()) fsyncDir(dirname(d));
}

/** Writes all of `chunk` to `fd` at file offset `position` (or the current offset), looping over short writes. */
export function writeAll(fd: number, chunk: Uint8Array, position?: number): void {
  let off = 0;
  while (off < chunk.length) {
    off += writeSync(fd, chunk, off, chunk.length - off, position === undefined ? null : position + off);
  }
}

/**
 * The journal's files: the temp file is `path + ".tmp"`, removed first (a crash's leftover, or a
 * planted link: unlink removes a symlink itself, not its target); a failure is a JournalError, and so
 * is a directory fsync that fails (the replace is not durable without it).
 */
const journalPolicy: ReplacePolicy = {
  tempOf: (path) => `${path}.tmp`,
  clear(_path, tmp) {
    try {
      unlinkSync(tmp);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  },
  discard(tmp) {
    try {
      unlinkSync(tmp);
    } catch {
      /* nothing to remove */
    }
  },
  error: (cause, path) => new JournalError(`atomic write of ${path} failed`, { cause }),
  dirSyncFailed(cause, dir) {
    throw dirSyncError(dir, cause);
  },
};

/**
 * Creates `path` with exactly `chunks` as its content, atomically: a reader (or a boot after a
 * crash) sees either no file or the complete one.
 */
export function writeFileAtomic(path: string, chunks: Iterable<Uint8Array>, mode = 0o600): void {
  const fill = (fd: number) => {
    for (const c of chunks) writeAll(fd, c);
  };
  replaceFiles([{ out: path, mode, write: fill }], journalPolicy);
}

/**
 * `writeFileAtomic` without blocking the event loop on the data (writes and fsync run on the
 * thread pool). `chunks` must not change until the promise settles. Resolves after the directory fsync.
 */
export function writeFileAtomicAsync(path: string, chunks: readonly Uint8Array[], mode = 0o600): Promise<void> {
  return replaceFileAsync({ out: path, mode, write: chunks }, journalPolicy);
}
