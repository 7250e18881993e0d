// A file a command writes (an RTS package, an initramfs, an unpacked part): all of it or none, and errors that name it.
import { accessSync, constants, lstatSync, readdirSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { SysError, UsageError, VectorBootError } from "../errors.ts";
import { replaceFiles, type ReplacePolicy } from "./atomic-replace.ts";
import { processExists } from "./process-exists.ts";

/**
 * Writes `out` through `fill(fd)` into a temporary file beside it, fsyncs it, renames it over `out`
 * and fsyncs the directory. `out` naming a directory is a UsageError (it was a rename EISDIR, exit 70);
 * a failing system call (a missing directory, a full disk) a SysError naming `out` (exit 71).
 */
export function writeFileAtomically(out: string, fill: (fd: number) => void, mode = 0o644): void {
  writeFilesAtomically([{ out, fill, mode }]);
}

export interface OutputFile {
  out: string;
  fill: (fd: number) => void;
  mode?: number;
}

/**
 * Several outputs of one command (unpack's binary and GGUF), all or none: every path is checked, then
 * every temporary file is written and fsynced, and only then are they renamed into place. One that
 * fails removes every temporary file (unpack wrote the binary, then failed on the GGUF's output and
 * left the binary behind).
 */
export function writeFilesAtomically(files: OutputFile[]): void {
  for (const f of files) checkOutputPath(f.out);
  replaceFiles(files.map((f) => ({ out: f.out, mode: f.mode ?? 0o644, write: f.fill })), outputPolicy);
}

/** A command's outputs: `out.tmp-<pid>`, errors that name the output, the directory fsync best effort. */
const outputPolicy: ReplacePolicy = {
  tempOf: (out) => `${out}.tmp-${process.pid}`,
  clear: (out) => removeStaleTemps(out),
  discard: (tmp) => rmSync(tmp, { force: true }),
  error(err, out) {
    if (err instanceof VectorBootError) return err;
    const e = err as { code?: unknown; errno?: unknown; syscall?: unknown };
    if (typeof e.code !== "string") return err;
    return new SysError(typeof e.syscall === "string" ? e.syscall : "write", e.code, Math.abs(Number(e.errno) || 5), out, { cause: err });
  },
  // The rename is durable once the directory is: best effort (some file systems refuse fsync on a directory).
  dirSyncFailed() {
    /* not durable beyond what the file system gives */
  },
};

/**
 * An output that is one of the command's inputs (the same file by device and inode: a symbolic or hard
 * link, another spelling of the path) is refused before any work: the rename replaced the input
 * (`initramfs -o vector-boot` replaced the executable itself with its image, `unpack x.rts --gguf x.rts`
 * the package with its model).
 */
export function refuseOutputOverInput(out: string, inputs: Array<{ path: string; what: string }>): void {
  const o = identity(out);
  if (o === null) return;
  for (const i of inputs) {
    if (identity(i.path) === o) throw new UsageError(`${out} is ${i.what} (${i.path}): writing it would replace an input; name another output`);
  }
}

function identity(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/**
 * Before a long job (an initramfs takes seconds to build): `out` must be a regular file or nothing
 * yet, and its directory must exist. The rename would replace whatever is there: `-o /dev/null` (as
 * root) put a regular file in place of the device; a FIFO or a symbolic link was replaced the same way.
 */
export function checkOutputPath(out: string): void {
  let st;
  try {
    st = lstatSync(out);
  } catch {
    st = null;
  }
  if (st?.isDirectory()) throw new UsageError(`${out} is a directory: name the file to write`);
  if (st?.isSymbolicLink()) throw new UsageError(`${out} is a symbolic link: name the file itself (it would be replaced, not written through)`);
  if (st && !st.isFile()) throw new UsageError(`${out} is not a regular file (a device, FIFO or socket): refusing to replace it`);
  if (!isDirectory(dirname(out))) throw new UsageError(`cannot write ${out}: directory ${dirname(out)} does not exist`);
  // Found before the work, not after it (an xz initramfs takes a minute to build).
  try {
    accessSync(dirname(out), constants.W_OK);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new SysError("access", err.code ?? "EACCES", Math.abs(Number(err.errno) || 13), `${dirname(out)} (the directory of ${out}: not writable)`);
  }
}

/** A writer killed mid-write (SIGKILL, a power cut) left `out.tmp-<pid>`: removed once that pid is gone. */
function removeStaleTemps(out: string): void {
  const prefix = `${basename(out)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dirname(out));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = name.startsWith(prefix) ? name.slice(prefix.length) : "";
    if (!/^\d+$/.test(pid) || processExists(Number(pid))) continue;
    rmSync(join(dirname(out), name), { force: true });
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
