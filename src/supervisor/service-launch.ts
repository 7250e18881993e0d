// A service's processes as the supervisor makes and signals them: environment, spawn into its cgroup, pre_start/post_stop, signals.
import type { ServiceConfig } from "../config/schema.ts";
import type { Reaper } from "../init/reaper.ts";
import { logger } from "../log.ts";
import { getpgid, inheritedEnvironment, kill, spawn, type RawStrings } from "../sys/process.ts";
import { parseSignal, Sig } from "../sys/signals.ts";
import type { ServiceCgroups } from "./service-cgroup.ts";
import { awaitCommand, runServiceCommand, type CommandResult } from "./service-command.ts";
import type { OnHookSpawn } from "./running-hooks.ts";

const log = logger("supervisor");

/** A pre_start or post_stop the previous image left running: its pid and what was left of its timeout. */
export interface Adopted {
  pid: number;
  leftMs: number;
}

/**
 * sd_notify, watchdog and socket-activation variables, and the init's own (the pre-init's marks, the
 * JS engine's GC signal, a development boot's command line), removed (undefined) from what a service
 * inherits: every service saw VECTOR_BOOT_PREINIT, VECTOR_BOOT_EXEC_BOOTTIME_NS and JSC_SIGNAL_FOR_GC.
 */
const managerVariables: Record<string, undefined> = {
  NOTIFY_SOCKET: undefined, WATCHDOG_USEC: undefined, WATCHDOG_PID: undefined, LISTEN_FDS: undefined, LISTEN_PID: undefined, LISTEN_FDNAMES: undefined,
  VECTOR_BOOT_PREINIT: undefined, VECTOR_BOOT_EXEC_BOOTTIME_NS: undefined, VECTOR_BOOT_CMDLINE: undefined, JSC_SIGNAL_FOR_GC: undefined,
};

export class ServiceLauncher {
  constructor(
    private readonly reaper: Reaper,
    private readonly baseEnv: Record<string, string | undefined>,
    readonly cgroups: ServiceCgroups | null,
    /** NOTIFY_SOCKET for services that use sd_notify (null: no socket). */
    private readonly notifyPath: () => string | null,
    /** Variables added by whoever starts the service (the fleet phase: FLEET_LEADER_REV). */
    private readonly extraEnv: (name: string) => Record<string, string> | undefined = () => undefined,
    /** Write ends of new pipes into the service's logs (stdout, stderr), for its commands; undefined: output inherited. */
    private readonly logPipes: (name: string) => [number, number] | undefined = () => undefined,
  ) {}

  /** The service's environment: its own variables over the init's (inherit_env), which keep their bytes, less the outer manager's. */
  env(c: ServiceConfig): Record<string, string | undefined> | RawStrings {
    // The service-manager protocol variables of whoever started the init are not the service's: a
    // service sent READY=1 to the outer manager's socket, or took its LISTEN_FDS as its own (systemd
    // unsets them for its children too). Ours are set below; the service's own config may set any.
    const own: Record<string, string | undefined> = { ...managerVariables, ...c.env, ...this.extraEnv(c.name) };
    const path = this.notifyPath();
    if (path && ((c.ready && "notify" in c.ready) || c.watchdog_ms !== undefined)) own.NOTIFY_SOCKET = path;
    if (c.watchdog_ms !== undefined) own.WATCHDOG_USEC = String(c.watchdog_ms * 1000);
    if (!c.inherit_env) return own;
    // The init's own environment keeps its bytes (null: all UTF-8, the text is exact).
    const raw = this.baseEnv === process.env ? inheritedEnvironment(own) : null;
    return raw ?? { ...this.baseEnv, ...own };
  }

  /** The main process: its own session, in its cgroup from the first instruction. Throws when it cannot start. */
  spawnMain(c: ServiceConfig, stdio?: [number, number]): number {
    const cgroup = this.cgroups?.prepare(c) ?? undefined;
    return spawn({ stdio: stdio ? [undefined, stdio[0], stdio[1]] : undefined, argv: c.argv, env: this.env(c), cwd: c.cwd, uid: c.uid, gid: c.gid, groups: c.groups ?? (c.uid !== undefined ? [] : undefined), newSession: true, noNewPrivs: c.no_new_privs, capabilities: c.keep_all_capabilities ? undefined : c.capabilities, cgroup });
  }

  /**
   * A command of the service (pre_start, post_stop, exec probe), run as the service runs, bounded by
   * `timeoutMs`; its output goes to the service's logs, as systemd's ExecStartPre= output goes to its
   * unit's journal (it went to the init's console unprefixed: a failing pre_start's reason was in
   * neither `logs` nor the log file). `sweep`: what it leaves running is killed when it exits (an exec probe, a pre_start).
   */
  command(c: ServiceConfig, argv: string[], timeoutMs: number, onSpawn?: (pid: number) => void, sweep = false): Promise<CommandResult> {
    let pipes: [number, number] | undefined;
    try {
      pipes = this.logPipes(c.name);
    } catch {
      pipes = undefined; // out of descriptors: its output is inherited, as before
    }
    return runServiceCommand(this.reaper, c, argv, this.env(c), timeoutMs, this.cgroups?.enter(c) ?? undefined, pipes, onSpawn, sweep);
  }

  /**
   * A pre_start or post_stop: a new run of it, or the one a live re-exec handed over (`adopted`: its
   * pid, the rest of its timeout); `onSpawn` gets its pid and timeout either way. `sweep` as for command().
   */
  private hook(c: ServiceConfig, h: { argv: string[]; timeout_ms: number }, onSpawn?: OnHookSpawn, adopted?: Adopted, sweep = false): Promise<CommandResult> {
    if (!adopted) return this.command(c, h.argv, h.timeout_ms, onSpawn && ((pid) => onSpawn(pid, h.timeout_ms)), sweep);
    onSpawn?.(adopted.pid, adopted.leftMs);
    return awaitCommand(this.reaper, adopted.pid, adopted.leftMs, sweep);
  }

  /**
   * pre_start: null when it passed, else why not. What it forked off goes with it (its process
   * group, as an exec probe's; what left the group, by its cgroup: run-pre-start.ts), as systemd kills
   * what ExecStartPre= left before the next command runs: a `daemon &` in a pre_start ran on beside
   * the service, outside its stop and its clean-up.
   */
  async preStart(c: ServiceConfig, onSpawn?: OnHookSpawn, adopted?: Adopted): Promise<string | null> {
    if (!c.pre_start) return null;
    const r = await this.hook(c, c.pre_start, onSpawn, adopted, true);
    if (r.status === 0 && !r.timedOut) return null;
    return r.timedOut ? `pre_start timed out after ${c.pre_start.timeout_ms} ms` : (r.error ?? `pre_start exited with status ${r.status}`);
  }

  /**
   * post_stop after a run ends (bounded by its timeout; its result is logged only): resolves when it
   * is over, null when there is none. What it forked off goes with it, as a pre_start's (its process
   * group; what left the group goes with the service's cgroup once it is over, service-runner.ts): a
   * `notify-admin &` ran on after the stop was answered "stopped", in the service's cgroup until its
   * next run, or as an orphan until the shutdown with cgroups off.
   */
  postStop(c: ServiceConfig, onSpawn?: OnHookSpawn, adopted?: Adopted): Promise<void> | null {
    if (!c.post_stop) return null;
    return this.hook(c, c.post_stop, onSpawn, adopted, true).then((r) => {
      if (r.status !== 0 || r.timedOut) log.warn("post_stop failed", { service: c.name, status: r.status, timed_out: r.timedOut, error: r.error });
    });
  }

  /**
   * The process group `pid` leads; the leader too only if it left that group. Never twice to one
   * process: a service whose handler had already run for the first signal ran it again (a stop
   * hook recorded twice).
   */
  signalGroup(pid: number | null, sig: number): void {
    if (pid === null) return;
    try {
      kill(-pid, sig);
    } catch {
      /* no such group (the leader left it, or it is gone): the leader alone below */
    }
    if (pgidOf(pid) !== pid) {
      try {
        kill(pid, sig);
      } catch {
        /* gone */
      }
    }
  }

  /** The service's stop signal to all of its run (signalAll), then SIGCONT, as systemd does: a suspended run (SIGSTOP, Ctrl-Z) never ran its handler and got SIGKILL at the end of the grace. */
  signalStop(c: ServiceConfig, pid: number | null, groups: readonly number[]): void {
    const sig = parseSignal(c.stop_signal) ?? Sig.SIGTERM;
    this.signalAll(c.name, pid, sig, groups);
    if (sig !== Sig.SIGCONT) this.signalAll(c.name, pid, Sig.SIGCONT, groups);
  }

  /**
   * The group, every process in the service's cgroup that is not in the group (those that left it),
   * and with cgroups off the run's other process groups (`groups`: a forking daemon's child named by
   * MAINPID= leads none; its siblings in its exited parent's group got no stop signal). Never twice
   * to one process: the main process alone only when no group signalled holds it (a forking daemon's
   * child got the stop signal twice).
   */
  signalAll(name: string, pid: number | null, sig: number, groups: readonly number[] = []): void {
    const all = new Set(groups);
    if (pid !== null) all.add(pid);
    const mainGroup = pid !== null ? pgidOf(pid) : 0;
    for (const g of all) signalProcessGroup(g, sig);
    if (pid !== null && !all.has(mainGroup)) {
      try {
        kill(pid, sig);
      } catch {
        /* gone */
      }
    }
    for (const p of this.cgroups?.pids(name) ?? []) {
      if (p === pid || all.has(pgidOf(p))) continue; // a group signal reached it
      try {
        kill(p, sig);
      } catch {
        /* gone */
      }
    }
  }
}

/** `sig` to process group `pgid`; false when it has no member (its number is not reused while it has one). Signal 0: whether it has one. */
export function signalProcessGroup(pgid: number, sig: number): boolean {
  try {
    return kill(-pgid, sig);
  } catch {
    return false; // EPERM: not ours to signal or wait for
  }
}

/** The process group of `pid`, or 0 when it is gone. */
function pgidOf(pid: number): number {
  try {
    return getpgid(pid);
  } catch {
    return 0;
  }
}
