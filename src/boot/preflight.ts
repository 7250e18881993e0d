// Before a live re-exec: the new image must be a vector-boot that reads this image's handoff, and accept the config and the model it will boot with (the running model).
import { resolve } from "node:path";
import { PackageError } from "../errors.ts";
import type { Reaper } from "../init/reaper.ts";
import { closeFdQuietly, readAvailable } from "../sys/fd.ts";
import { logPipe } from "../sys/log-pipe.ts";
import { kill, spawn } from "../sys/process.ts";
import { HANDOFF_ENV } from "./handoff.ts";
import { HANDOFF_VERSION, handoffVersionsIn } from "./handoff-version.ts";

/** What the new image will boot with: this boot's options, its kernel command line, its base model's SHA-256. */
export interface PreflightBoot {
  configFile: string | undefined;
  model: string | undefined;
  cmdline: string;
  /** `vector.KEY=VALUE` tokens (the `--set`s). */
  extraCmdline: readonly string[];
  /** PID 1 ignores a bad command-line key or --set: the check warns about them instead of refusing the image. */
  pid1: boolean;
  /** Null: this image runs no model (a boot whose model failed), so there is nothing to keep. */
  baseSha256: string | null;
  /** Where this boot keeps its state (the journal), and where it would with no state_dir configured (null: a new mkdtemp directory). */
  stateDir: string;
  stateDirByDefault: string | null;
}

/**
 * Checks a new image before PID 1 bets its life on it, each step a child bounded by `timeoutMs` (30 s:
 * an emulated, loaded machine can take seconds to start Bun); the running image carries on when
 * one fails.
 * - `path --version` must exit 0 saying it is a vector-boot that reads this handoff version
 *   (`/bin/true --version` exits 0 too, and PID 1 exec'd it).
 * - `path boot --check` with what the boot will read (config file, command line, `--set`s, `--model`)
 *   must accept the config (a typo made the new image stop, exit 78, or as PID 1 come up with the
 *   defaults, leaving every running service unsupervised) and the model, mapped and validated whole:
 *   an image without its embedded model, or with a damaged one, passed, was exec'd, and powered the
 *   machine off.
 * - That model must be the running one (same SHA-256): with another base the journal's lineage is
 *   archived, every acknowledged mutation left the live weights, and the producers' sessions went on
 *   with journal sequence numbers handed out a second time. A new model needs a reboot.
 * - The state it names (`boot --check`'s `state:` line) must be this boot's state_dir: a config that
 *   moved it left the journal behind, with the same losses. Moving the state needs a reboot.
 */
/** Each of the preflight's two questions (--version, boot --check) is given this long. */
export const PREFLIGHT_STEP_MS = 30_000;

export async function preflight(path: string, reaper: Reaper, boot: PreflightBoot, timeoutMs = PREFLIGHT_STEP_MS): Promise<void> {
  const v = await answer(path, ["--version"], reaper, timeoutMs);
  if (v.status !== 0) throw new PackageError(path, v.status === null ? `did not answer --version within ${timeoutMs} ms` : `--version ${exitText(v.status)}`);
  const versions = handoffVersionsIn(v.output);
  if (versions === null || !versions.includes(HANDOFF_VERSION)) {
    const first = JSON.stringify(v.output.split("\n")[0]!.slice(0, 120));
    throw new PackageError(path, versions === null ? `is not a vector-boot image: its --version said ${first}` : `reads handoff version ${versions.join(",")}, this image writes ${HANDOFF_VERSION}`);
  }
  const args = ["boot", "--check", "--cmdline", boot.cmdline];
  if (boot.pid1) args.push("--as-pid1");
  if (boot.configFile !== undefined) args.push("--config", boot.configFile);
  if (boot.model !== undefined) args.push("--model", boot.model);
  for (const t of boot.extraCmdline) args.push("--set", t.replace(/^vector\./, ""));
  const c = await answer(path, args, reaper, timeoutMs);
  if (c.status !== 0) {
    const why = c.output.trim().split("\n").at(-1)?.replace(/^\[[ \d.]+\] ERROR cli: /, "") ?? "";
    const what = boot.configFile !== undefined ? `fix ${boot.configFile} or the image first` : "fix the image first";
    throw new PackageError(path, c.status === null ? `did not check its config and model within ${timeoutMs} ms` : `refuses the config or the model it would boot with (${why || exitText(c.status)}); the running image carries on: ${what}`);
  }
  const sha = /^model ok: .* sha256=([0-9a-f]{64})$/m.exec(c.output)?.[1];
  if (sha === undefined) throw new PackageError(path, "boot --check did not name the model it would load");
  if (boot.baseSha256 !== null && sha !== boot.baseSha256) {
    throw new PackageError(path, `would boot another base model (sha256 ${sha.slice(0, 16)}…, this one runs ${boot.baseSha256.slice(0, 16)}…): its journal lineage would be archived and every acknowledged mutation would leave the live weights; change the model with a reboot, not a live re-exec`);
  }
  // An image from before the `state:` line says nothing: it reads state_dir as this one does.
  const state = /^state: (.*)$/m.exec(c.output)?.[1];
  if (state === undefined) return;
  const next = state === "(default)" ? boot.stateDirByDefault : state;
  if (next === null || resolve(next) !== resolve(boot.stateDir)) {
    throw new PackageError(path, `would keep its state in ${next ?? "a new temporary directory"}, this boot keeps it in ${boot.stateDir}: every acknowledged mutation in the journal would leave the live weights; move the state with a reboot, not a live re-exec`);
  }
}

/** "exited with status N", or the signal that killed it (a status above 128 from the reaper). */
function exitText(status: number): string {
  return status > 128 && status < 128 + 65 ? `was killed by signal ${status - 128}` : `exited with status ${status}`;
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
