// Before a live re-exec: the new image must be a vector-boot that reads this image's handoff, and must accept the config it will read.
import { PackageError } from "../errors.ts";
import type { Reaper } from "../init/reaper.ts";
import { closeFdQuietly, readAvailable } from "../sys/fd.ts";
import { logPipe } from "../sys/log-pipe.ts";
import { kill, spawn } from "../sys/process.ts";
import { HANDOFF_ENV } from "./handoff.ts";
import { HANDOFF_VERSION, handoffVersionsIn } from "./handoff-version.ts";

/**
 * Checks a new image before PID 1 bets its life on it, each step a child bounded by `timeoutMs` (30 s:
 * an emulated, loaded machine can take seconds to start Bun); the running image carries on when
 * one fails.
 * - `path --version` must exit 0 saying it is a vector-boot that reads this handoff version
 *   (`/bin/true --version` exits 0 too, and PID 1 exec'd it).
 * - `path boot --check --config FILE` (when the boot reads a config file) must accept it: a typo
 *   made the new image stop (exit 78) or, as PID 1, come up with the defaults, leaving every
 *   running service unsupervised.
 */
export async function preflight(path: string, reaper: Reaper, configFile: string | undefined, timeoutMs = 30_000): Promise<void> {
  const v = await answer(path, ["--version"], reaper, timeoutMs);
  if (v.status !== 0) throw new PackageError(path, v.status === null ? `did not answer --version within ${timeoutMs} ms` : `--version exited with status ${v.status}`);
  const versions = handoffVersionsIn(v.output);
  if (versions === null || !versions.includes(HANDOFF_VERSION)) {
    const first = JSON.stringify(v.output.split("\n")[0]!.slice(0, 120));
    throw new PackageError(path, versions === null ? `is not a vector-boot image: its --version said ${first}` : `reads handoff version ${versions.join(",")}, this image writes ${HANDOFF_VERSION}`);
  }
  if (configFile === undefined) return;
  const c = await answer(path, ["boot", "--check", "--config", configFile], reaper, timeoutMs);
  if (c.status !== 0) {
    const why = c.output.trim().split("\n").at(-1)?.replace(/^\[[ \d.]+\] ERROR cli: /, "") ?? "";
    throw new PackageError(path, c.status === null ? `did not check the config within ${timeoutMs} ms` : `refuses the config it would boot with (${why || `exit ${c.status}`}); the running image carries on: fix ${configFile} first`);
  }
}

/** Runs `path ARGS` as our child (stdout and stderr to one pipe, 64 KiB kept); its status (null: killed at the timeout) and output. */
async function answer(path: string, args: string[], reaper: Reaper, timeoutMs: number): Promise<{ status: number | null; output: string }> {
  const [readEnd, writeEnd] = logPipe();
  let pid: number;
  try {
    pid = spawn({ argv: [path, ...args], env: { ...process.env, [HANDOFF_ENV]: undefined }, stdio: [-1, writeEnd, writeEnd] });
  } catch (e) {
    closeFdQuietly(readEnd);
    throw e;
  } finally {
    closeFdQuietly(writeEnd);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const drain = () => {
    const buf = new Uint8Array(4096);
    for (let n; size < 65536 && (n = readAvailable(readEnd, buf)) !== null && n > 0; size += n) chunks.push(buf.slice(0, n));
  };
  const status = await new Promise<number | null>((resolve) => {
    const poll = setInterval(drain, 20); // a long answer must not fill the pipe and stall it
    const timer = setTimeout(() => {
      kill(pid, 9);
      clearInterval(poll);
      resolve(null);
    }, timeoutMs);
    reaper.watch(pid, (r) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve(r.status);
    });
    reaper.reapNow();
  });
  try {
    drain();
  } finally {
    closeFdQuietly(readEnd);
  }
  return { status, output: new TextDecoder().decode(Buffer.concat(chunks)) };
}
