// Durable file-system steps: fsync of files and directories, atomic replace (temp, fsync, rename, fsync dir).
import { closeSync, fsyncSync, openSync, renameSync, writeSync, unlinkSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { JournalError } from "../errors.ts";
import { TEMP_FILE_FLAGS } from "../util/atomic-write.ts";

/** fsyncs a directory so that a rename or unlink inside it survives a power cut. */
export function fsyncDir(dir: string): void {
  let fd = -1;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch (cause) {
    throw new JournalError(`fsync of directory ${dir} failed`, { cause });
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** Writes all of `chunk` to `fd` at file offset `position` (or the current offset), looping over short writes. */
export function writeAll(fd: number, chunk: Uint8Array, position?: number): void {
  let off = 0;
  while (off < chunk.length) {
    off += writeSync(fd, chunk, off, chunk.length - off, position === undefined ? null : position + off);
  }
}

/** Removes what has the temp file's name (a crash's leftover, or a planted link: unlink removes a symlink itself, not its target). */
function clearTemp(tmp: string): void {
  try {
    unlinkSync(tmp);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}

/**
 * Creates `path` with exactly `chunks` as its content, atomically: a reader (or a boot after a
 * crash) sees either no file or the complete one. The temp file is `path + ".tmp"`.
 */
export function writeFileAtomic(path: string, chunks: Iterable<Uint8Array>, mode = 0o600): void {
  const tmp = `${path}.tmp`;
  let fd = -1;
  try {
    clearTemp(tmp);
    fd = openSync(tmp, TEMP_FILE_FLAGS, mode);
    for (const c of chunks) writeAll(fd, c);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (cause) {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* nothing to remove */
    }
    throw new JournalError(`atomic write of ${path} failed`, { cause });
  }
  fsyncDir(dirname(path));
}

/**
 * `writeFileAtomic` without blocking the event loop on the data (writes and fsync run on the
 * thread pool). `chunks` must not change until the promise settles. Resolves after the directory fsync.
 */
export async function writeFileAtomicAsync(path: string, chunks: readonly Uint8Array[], mode = 0o600): Promise<void> {
  // node:fs/promises (and node:events under it) at the first checkpoint, not at the boot: loading
  // them took ~1.5 ms before the first beat (CPU profile of the boot).
  const { open: openAsync, rename: renameAsync, unlink: unlinkAsync } = await import("node:fs/promises");
  const tmp = `${path}.tmp`;
  let fh: FileHandle | null = null;
  try {
    clearTemp(tmp);
    fh = await openAsync(tmp, TEMP_FILE_FLAGS, mode);
    for (const c of chunks) {
      let off = 0;
      while (off < c.length) off += (await fh.write(c, off, c.length - off)).bytesWritten;
    }
    await fh.sync();
    await fh.close();
    fh = null;
    await renameAsync(tmp, path);
  } catch (cause) {
    await fh?.close().catch(() => {});
    await unlinkAsync(tmp).catch(() => {});
    throw new JournalError(`atomic write of ${path} failed`, { cause });
  }
  fsyncDir(dirname(path));
}
