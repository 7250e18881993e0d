// The file a `reexec` request names must be one only root can have put there, checked before it is run at all.
import { realpathSync, statSync, type Stats } from "node:fs";
import { dirname } from "node:path";
import { SysError } from "../errors.ts";
import { ForbiddenError } from "./access.ts";

const S_IWGRP = 0o020;
const S_IWOTH = 0o002;
const S_ISVTX = 0o1000;

function stat(path: string, what: string): Stats {
  try {
    return statSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new SysError("stat", err.code ?? "EIO", -(err.errno ?? 0), `${what} ${path}`, { cause: e });
  }
}

/**
 * Checks the file a `reexec` request names and returns its canonical path, which is what must be
 * run (preflight and execve) from then on. Nothing is executed here. Refused (ForbiddenError,
 * naming the check) unless:
 * - the path resolves (symlinks followed, realpath) to a regular file;
 * - the file is owned by uid 0 and is not group- or world-writable (with POSIX ACLs the group bits
 *   are the ACL mask, so no ACL entry grants anyone else write either);
 * - every directory from / down to the file's is owned by uid 0 and is not group- or
 *   world-writable unless it is sticky (like /tmp: then only root, owning the file and the
 *   directory, can rename or remove the file).
 * So between this check and the exec only root can replace what the canonical path names.
 * Does not check the interpreter of a script (`#!`), nor what the image loads at run time.
 * A missing path is a SysError (`failed`), not a refusal.
 */
export function checkReexecPath(path: string): string {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new SysError("realpath", err.code ?? "EIO", -(err.errno ?? 0), `reexec ${path}`, { cause: e });
  }
  const named = real === path ? path : `${path} (${real})`;
  const st = stat(real, "reexec");
  if (!st.isFile()) throw new ForbiddenError(`reexec ${named}: not a regular file`);
  if (st.uid !== 0) throw new ForbiddenError(`reexec ${named}: owned by uid ${st.uid}, not 0 (root)`);
  if (st.mode & (S_IWGRP | S_IWOTH)) throw new ForbiddenError(`reexec ${named}: mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")} is writable by group or others`);
  for (let dir = dirname(real); ; dir = dirname(dir)) {
    const d = stat(dir, "reexec directory");
    if (d.uid !== 0) throw new ForbiddenError(`reexec ${named}: directory ${dir} is owned by uid ${d.uid}, not 0 (root); its owner could replace the file`);
    if (d.mode & (S_IWGRP | S_IWOTH) && !(d.mode & S_ISVTX)) throw new ForbiddenError(`reexec ${named}: directory ${dir} (mode ${(d.mode & 0o7777).toString(8).padStart(4, "0")}) is writable by group or others without the sticky bit; they could replace the file`);
    if (dir === "/") break;
  }
  return real;
}
