// The one atomic replace: temp files beside their targets, written and fsynced, renamed over them, the directories fsynced.
import { closeSync, constants, fsyncSync, openSync, renameSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * How an atomic replace opens its temp file: a new file only, never through a symlink. Opened with
 * "w", a link planted at the temp name (in a shared directory such as /tmp: the pid in the name is no
 * secret) was followed and the file it named overwritten, and a stale temp file kept its own mode.
 */
const TEMP_FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** fsyncs a directory, so that a rename or unlink inside it survives a power cut; throws what the system call threw. */
export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** What differs between the writers that replace files atomically (a command's outputs, the journal's files). */
export interface ReplacePolicy {
  /** The temp file's name beside `out`. */
  tempOf(out: string): string;
  /** Before the temp file is created (O_EXCL): what an earlier writer left at `tmp` or beside `out`. */
  clear(out: string, tmp: string): void;
  /** After a failure: removes a temp file of this replace. */
  discard(tmp: string): void;
  /** What a failure throws: `out` is the file being written or renamed when it happened. */
  error(err: unknown, out: string): unknown;
  /** The fsync of a directory after the renames failed: throws if the replace must fail with it, returns if best effort. */
  dirSyncFailed(err: unknown, dir: string): void;
}

/** One file to replace: `write` is what fills its temp file (a sync `fill(fd)`, or chunks written on the thread pool). */
export interface ReplacedFile<W> {
  out: string;
  mode: number;
  write: W;
}

/** The file operations of a replace: each returns its result, or a promise of it. */
interface TempFileIo<H, W> {
  open(tmp: string, mode: number): H | Promise<H>;
  /** Writes the content and fsyncs it. */
  fill(h: H, write: W): void | Promise<void>;
  close(h: H): void | Promise<void>;
  rename(tmp: string, out: string): void | Promise<void>;
  /** fsyncs a directory (replaceFileAsync: on the thread pool, so a slow disk does not hold the event loop). */
  syncDir(dir: string): void | Promise<void>;
}

/**
 * The steps, once for sync and async alike: every temp file is created, filled and fsynced, and only
 * then are they renamed into place, then their directories fsynced. A failure discards every temp file.
 * Each file operation is yielded: `replaceFiles` hands back its result, `replaceFileAsync` awaits it first.
 */
function* replaceSteps<H, W>(files: readonly ReplacedFile<W>[], policy: ReplacePolicy, io: TempFileIo<H, W>): Generator<unknown, void, unknown> {
  const temps: string[] = [];
  let current = files[0]?.out ?? "";
  try {
    for (const f of files) {
      current = f.out;
      const tmp = policy.tempOf(f.out);
      policy.clear(f.out, tmp);
      temps.push(tmp);
      const h = (yield io.open(tmp, f.mode)) as H;
      try {
        yield io.fill(h, f.write);
      } finally {
        yield io.close(h);
      }
    }
    for (const [i, f] of files.entries()) {
      current = f.out;
      yield io.rename(temps[i]!, f.out);
    }
  } catch (err) {
    for (const tmp of temps) policy.discard(tmp);
    throw policy.error(err, current);
  }
  for (const dir of new Set(files.map((f) => dirname(f.out)))) {
    try {
      yield io.syncDir(dir);
    } catch (err) {
      policy.dirSyncFailed(err, dir);
    }
  }
}

const syncIo: TempFileIo<number, (fd: number) => void> = {
  open: (tmp, mode) => openSync(tmp, TEMP_FILE_FLAGS, mode),
  fill(fd, fill) {
    fill(fd);
    fsyncSync(fd);
  },
  close: closeSync,
  rename: renameSync,
  syncDir: fsyncDirectory,
};

/** Replaces `files` (all or none), each filled by its `fill(fd)`. */
export function replaceFiles(files: readonly ReplacedFile<(fd: number) => void>[], policy: ReplacePolicy): void {
  const steps = replaceSteps(files, policy, syncIo);
  let r = steps.next();
  while (!r.done) r = steps.next(r.value);
}

/**
 * Replaces `file.out` with exactly its chunks without blocking the event loop on the data: the open,
 * writes, fsync, close and rename run on the thread pool. The chunks must not change until it settles.
 */
export async function replaceFileAsync(file: ReplacedFile<readonly Uint8Array[]>, policy: ReplacePolicy): Promise<void> {
  // node:fs/promises (and node:events under it) at the first checkpoint, not at the boot: loading
  // them took ~1.5 ms before the first beat (CPU profile of the boot).
  const { open, rename } = await import("node:fs/promises");
  const io: TempFileIo<FileHandle, readonly Uint8Array[]> = {
    open: (tmp, mode) => open(tmp, TEMP_FILE_FLAGS, mode),
    async fill(fh, chunks) {
      for (const c of chunks) {
        let off = 0;
        while (off < c.length) off += (await fh.write(c, off, c.length - off)).bytesWritten;
      }
      await fh.sync();
    },
    close: (fh) => fh.close(),
    rename,
    async syncDir(dir) {
      const fh = await open(dir, "r");
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    },
  };
  const steps = replaceSteps([file], policy, io);
  let r = steps.next();
  while (!r.done) {
    let value: unknown;
    try {
      value = await r.value;
    } catch (err) {
      r = steps.throw(err);
      continue;
    }
    r = steps.next(value);
  }
}
