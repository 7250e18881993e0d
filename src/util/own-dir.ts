// A directory only this process's user owns: created when missing, refused when a symlink or another uid's, its mode enforced.
import { chmodSync, lstatSync, mkdirSync } from "node:fs";

/**
 * Creates `dir` with `mode` when missing, then checks it is a real directory owned by this process's
 * effective uid (before its mode is touched: a symlink or someone else's directory could expose what
 * goes in it) and sets `mode`. A refusal is thrown as `fail(reason)`.
 */
export function ownDirectory(dir: string, mode: number, fail: (reason: string) => Error): void {
  mkdirSync(dir, { recursive: true, mode });
  const st = lstatSync(dir);
  const me = process.geteuid?.() ?? 0;
  if (!st.isDirectory()) throw fail(`${dir} is not a directory (a symlink?)`);
  if (st.uid !== me) throw fail(`directory ${dir} belongs to uid ${st.uid}, not to this process (uid ${me})`);
  chmodSync(dir, mode);
}
