// A directory only this process's user owns: created when missing, refused when a symlink, another uid's, or a shared one; its mode enforced.
import { chmodSync, lstatSync, mkdirSync, readdirSync } from "node:fs";

/** What an existing directory may hold to be adopted: sockets (stale ones of an earlier run) and re-exec handoff files. */
const adoptable = (e: { name: string; isSocket(): boolean; isFile(): boolean }) => e.isSocket() || (e.isFile() && /^handoff-\d+-\d+\.json$/.test(e.name));

/**
 * Creates `dir` with `mode` when missing, then checks it is a real directory owned by this process's
 * effective uid (before its mode is touched: a symlink or someone else's directory could expose what
 * goes in it) and sets `mode`. A directory that already exists is adopted only if it holds nothing
 * but sockets and handoff files: `run_dir=/run` made PID 1 chmod /run to 0700, and `/tmp` lost its
 * 1777. A refusal is thrown as `fail(reason)`.
 */
export function ownDirectory(dir: string, mode: number, fail: (reason: string) => Error): void {
  const made = mkdirSync(dir, { recursive: true, mode });
  const st = lstatSync(dir);
  const me = process.geteuid?.() ?? 0;
  if (!st.isDirectory()) throw fail(`${dir} is not a directory (a symlink?)`);
  if (st.uid !== me) throw fail(`directory ${dir} belongs to uid ${st.uid}, not to this process (uid ${me})`);
  if (made === undefined) {
    const foreign = readdirSync(dir, { withFileTypes: true }).find((e) => !adoptable(e));
    if (foreign) throw fail(`directory ${dir} already holds ${foreign.name}, which vector-boot did not put there; it needs a directory of its own (made mode ${mode.toString(8)}), e.g. ${dir.replace(/\/+$/, "")}/vector-boot`);
  }
  chmodSync(dir, mode);
}
