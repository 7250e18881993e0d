// A service from before a live re-exec that the new image's config no longer has: stopped, its pipes closed, its cgroup removed once empty.
import { logger } from "../log.ts";
import { removeCgroup } from "../sys/cgroup.ts";
import { closeFdQuietly } from "../sys/fd.ts";
import { kill } from "../sys/process.ts";
import { Sig } from "../sys/signals.ts";
import type { ServiceCgroups } from "./service-cgroup.ts";
import type { ServiceSnapshot } from "./service-snapshot.ts";
import { groupNumberReused, startTimeOf } from "../util/process-exists.ts";

const log = logger("supervisor");

/** How long a retired service has between SIGTERM and SIGKILL (its own grace went with its config). */
export const RETIRE_GRACE_MS = 10_000;

/** Signals the process group `pid` leads and `pid` itself; quiet when either is gone. */
function signalGroup(pid: number, sig: number): void {
  for (const target of [-pid, pid]) {
    try {
      kill(target, sig);
    } catch {
      /* gone */
    }
  }
}

/**
 * Left running, it kept its pipes into the init, which nobody read any more: at 64 KiB of output it
 * blocked in write() until the machine went down, and its cgroup was never removed. Now: its pipes
 * are closed, SIGTERM goes to its main process's group (the pid cannot be another's yet: its exit is
 * held for the reaper until the services are adopted), its hooks' and its run's other groups,
 * SIGKILL to those whose leader is still the same process and to its cgroup after RETIRE_GRACE_MS;
 * the cgroup goes once empty.
 */
export function retireService(h: ServiceSnapshot, cgroups: ServiceCgroups | null, graceMs = RETIRE_GRACE_MS): void {
  log.warn("service from before the re-exec is no longer configured; stopping it", { service: h.name, pid: h.pid, grace_ms: graceMs });
  for (const l of h.logFds) closeFdQuietly(l.fd);
  // Each group with its leader's start time now (the run's leftover groups with the one handed over):
  // the later SIGKILL skips a number that names another process by then (pids wrap).
  const groups = [...(h.pid !== null ? [h.pid] : []), ...h.hooks.map((k) => k.pid)].map((g) => ({ group: g, leaderStart: startTimeOf(g) }));
  for (const l of h.leftovers) if (!groups.some((g) => g.group === l.group) && !groupNumberReused(l.group, l.leaderStart)) groups.push(l);
  const signal = (sig: number) => {
    for (const g of groups) if (!groupNumberReused(g.group, g.leaderStart)) signalGroup(g.group, sig);
  };
  signal(Sig.SIGTERM);
  signal(Sig.SIGCONT);
  const t = setTimeout(() => {
    signal(Sig.SIGKILL);
    if (cgroups?.has(h.name)) cgroups.kill(h.name);
    // Emptied by the kill a moment later: removed then (or by the sweep of a later boot).
    if (cgroups) setTimeout(() => removeCgroup(cgroups.pathOf(h.name)), 1_000).unref?.();
  }, graceMs);
  t.unref?.();
}
