// After boot, PID 1 gives up the capabilities it no longer needs: from the effective, permitted and
// bounding sets of every one of its threads, irreversibly.
import type { Config } from "../config/schema.ts";
import { describeError } from "../errors.ts";
import { logger } from "../log.ts";
import { restrictCapabilities, type CapName } from "../sys/capabilities.ts";
import type { BootContext } from "./early-setup.ts";

const log = logger("boot");

/**
 * What the running init itself still does after the boot phases, and the capability each needs
 * (README "Privileges"). Mounting the early filesystems and the configured ones, device nodes,
 * kernel modules and ctrl-alt-del happen before this phase and are not redone by a re-exec's new
 * image. Not needed, hence dropped: CAP_DAC_OVERRIDE (unless removing the services' cgroup
 * directory at shutdown takes it: initNeeds' `cgroupRemoval`) and CAP_FOWNER (every file the init
 * writes or chmods, under state_dir, run_dir, /proc/sys/vm, cgroup cpu.max, /dev/kmsg and
 * /dev/watchdog, belongs to root), CAP_FSETID, CAP_SYS_RESOURCE (no limit is raised), CAP_SYS_NICE unless a
 * real-time priority is configured (below),
 * CAP_SYS_PTRACE (only /proc/<pid>/stat and cgroup are read, which anyone may read), and the rest.
 */
export const initNeedsWhy: Readonly<Partial<Record<CapName, string>>> = {
  CAP_KILL: "signal processes of other users: a service's stop signal and SIGKILL, throttling SIGSTOP/SIGCONT, the shutdown's TERM/KILL of what is left",
  CAP_SETUID: "a service's process takes its uid before exec (setuid)",
  CAP_SETGID: "a service's process takes its gid and supplementary groups before exec (setgid, setgroups)",
  CAP_SETPCAP: "a service's process cuts its bounding set to the service's capabilities (PR_CAPBSET_DROP); the init's next image does the same to itself after a re-exec",
  CAP_DAC_READ_SEARCH: "a service's process enters its cwd before it takes its uid (a home only that user may search)",
  CAP_SYS_ADMIN: "unmount, or remount read-only, the configured mounts at shutdown; sethostname again after a re-exec",
  CAP_SYS_BOOT: "reboot(2) at the end of the shutdown",
};

/**
 * The init's own needs under `config`: the fixed set, plus CAP_CHOWN with control_gid (the control
 * socket and its directory go to that group, again after each re-exec), CAP_SYS_NICE while a
 * real-time priority is configured (SCHED_FIFO for the beat thread's window,
 * heartbeat.beat_fifo_priority, default 1, and for the sleeper thread, heartbeat.sleeper_fifo_priority),
 * and CAP_DAC_OVERRIDE with `cgroupRemoval`: the services' cgroup directory sits in a cgroup of mode
 * 0555 outside the machine's PID namespace (a host's root cgroup under unshare --pid), where it is
 * removed at shutdown only with it (it was left behind at every exit).
 */
export function initNeeds(config: Pick<Config, "control_gid" | "heartbeat">, cgroupRemoval = false): CapName[] {
  const needs = Object.keys(initNeedsWhy) as CapName[];
  const hb = config.heartbeat;
  const realTime = hb.beat_fifo_priority > 0 || (hb.wake === "sleeper" && hb.sleeper_fifo_priority > 0);
  return [...(config.control_gid !== undefined ? ["CAP_CHOWN" as const] : []), ...(cgroupRemoval ? ["CAP_DAC_OVERRIDE" as const] : []), ...needs, ...(realTime ? ["CAP_SYS_NICE" as const] : [])];
}

/**
 * PID 1: keeps what it needs plus what any service is configured to receive (a service's process
 * can only be given capabilities the init still holds: it forks from the init). Nothing is
 * dropped when a service has keep_all_capabilities (it inherits the init's). Never throws.
 */
export function dropPrivileges(ctx: BootContext, config: Config, cgroupRemoval = false): void {
  if (!ctx.pid1) return;
  if (config.services.some((s) => s.keep_all_capabilities)) {
    log.info("capabilities kept: a service has keep_all_capabilities");
    return;
  }
  const own = initNeeds(config, cgroupRemoval);
  const forServices = [...new Set(config.services.flatMap((s) => s.capabilities))].filter((c) => !own.includes(c));
  try {
    const r = restrictCapabilities([...own, ...forServices]);
    log.info("capabilities dropped from the bounding set and the permitted and effective sets", { init: own.join(","), services: forServices.join(",") || "-", threads: r.threads });
    if (r.unanswered < 0) log.warn("other threads kept their capabilities: they cannot be reached on this platform", { threads: r.threads });
    else if (r.failed > 0 || r.unanswered > 0) log.warn("some threads kept their capabilities", { failed: r.failed, unanswered: r.unanswered });
  } catch (e) {
    log.warn("could not drop capabilities", { error: describeError(e) });
  }
}
