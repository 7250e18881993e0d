// A directory PID 1 writes in as root must be one nobody else can plant a symlink or hard link in: a real directory, ours, writable by no one else.
import type { Stats } from "node:fs";

/**
 * Null when `st` (an lstat or fstat of `dir`) is a directory owned by this process's effective
 * uid that neither its group nor others may write; else why not (a symlink, another user's, shared).
 */
export function privateDirProblem(dir: string, st: Stats): string | null {
  const me = process.geteuid?.() ?? 0;
  if (!st.isDirectory()) return `${dir} is not a directory (a symlink?)`;
  if (st.uid !== me) return `directory ${dir} belongs to uid ${st.uid}, not to this process (uid ${me}): its owner could plant a symlink where the init writes`;
  if (st.mode & 0o022) return `directory ${dir} (mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")}) is writable by group or others: they could plant a symlink where the init writes`;
  return null;
}
