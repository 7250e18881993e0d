// A short command of a service (pre_start, post_stop, an exec probe): spawned like the service, its output the service's, reaped by the init's reaper, killed at its timeout.
import type { ServiceConfig } from "../config/schema.ts";
import { describeError } from "../errors.ts";
import type { Reaper } from "../init/reaper.ts";
import { closeFdQuietly } from "../sys/fd.ts";
import { kill, spawn, type RawStrings } from "../sys/process.ts";
import { Sig } from "../sys/signals.ts";

export interface CommandResult {
  /** Exit status (128 + signal when killed); null when it could not start. */
  status: number | null;
  timedOut: boolean;
  error?: string;
}

/**
 * Runs `argv` as the service runs (its user, groups, capabilities, environment, cwd, cgroup), in a
 * session of its own; at `timeoutMs` its whole process group gets SIGKILL. `stdio`: write ends of
 * the service's log pipes (stdout, stderr), closed here once the command has them. `onSpawn` gets
 * its pid (a live re-exec hands a pre_start or post_stop still running to the next image).
 * `sweep`: its process group gets SIGKILL when it exits too (awaitCommand). Never rejects.
 */
export function runServiceCommand(reaper: Reaper, c: ServiceConfig, argv: string[], env: Record<string, string | undefined> | RawStrings, timeoutMs: number, cgroup?: string, stdio?: [number, number], onSpawn?: (pid: number) => void, sweep = false): Promise<CommandResult> {
  let pid: number;
  try {
    pid = spawn({ stdio: stdio ? [undefined, stdio[0], stdio[1]] : undefined, argv, env, cwd: c.cwd, uid: c.uid, gid: c.gid, groups: c.groups ?? (c.uid !== undefined ? [] : undefined), newSession: true, noNewPrivs: c.no_new_privs, capabilities: c.keep_all_capabilities ? undefined : c.capabilities, cgroup });
  } catch (e) {
    return Promise.resolve({ status: null, timedOut: false, error: describeError(e) });
  } finally {
    for (const fd of stdio ?? []) closeFdQuietly(fd);
  }
  onSpawn?.(pid);
  return awaitCommand(reaper, pid, timeoutMs, sweep);
}

/**
 * The end of command `pid` (our child), its process group SIGKILLed once `timeoutMs` passed: the
 * command just spawned, or one a live re-exec handed over with what was left of its timeout. With
 * `sweep` (an exec probe, a pre_start) the group gets SIGKILL when the command exits as well: what
 * it left running (a process it backgrounded) ran on in the service's cgroup, one more per check,
 * until the run ended. Right after the reap: the group's members keep its number from being reused.
 */
export function awaitCommand(reaper: Reaper, pid: number, timeoutMs: number, sweep = false): Promise<CommandResult> {
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killQuietly(-pid);
      killQuietly(pid);
    }, timeoutMs);
    reaper.watch(pid, (r) => {
      clearTimeout(timer);
      if (sweep) killQuietly(-pid);
      resolve({ status: r.status, timedOut });
    });
  });
}

function killQuietly(target: number): void {
  try {
    kill(target, Sig.SIGKILL);
  } catch {
    /* gone */
  }
}
