// A service from before a live re-exec that the new image's config no longer has: stopped, its pipes closed, its cgroup removed once empty.
import { logger } from "../log.ts";
import { removeCgroupTree } from "../sys/cgroup.ts";
import { closeFdQuietly } from "../sys/fd.ts";
import { Sig } from "../sys/signals.ts";
import type { ServiceCgroups } from "./service-cgroup.ts";
import type { ServiceSnapshot } from "./service-snapshot.ts";
import { RunLeftovers } from "./run-leftovers.ts";
import { signalProcessGroup } from "./service-launch.ts";

const log = logger("supervisor");

/** How long a retired service has between SIGTERM and SIGKILL (its own grace went with its config). */
export const RETIRE_GRACE_MS = 10_000;

/**
 * Left running, it kept its pipes into the init, which nobody read any more: at 64 KiB of output it
 * blocked in write() until the machine went down, and its cgroup was never removed. Now: its pipes
 * are closed, SIGTERM goes to its run's process groups (its main process's, its hooks', those it
 * handed over), SIGKILL to what is left of the run (its cgroup, or those groups while still its)
 * after RETIRE_GRACE_MS; the cgroup goes once empty.
 */
export function retireService(h: ServiceSnapshot, cgroups: ServiceCgroups | null, graceMs = RETIRE_GRACE_MS): void {
  log.warn("service from before the re-exec is no longer configured; stopping it", { service: h.name, pid: h.pid, grace_ms: graceMs });
  for (const l of h.logFds) closeFdQuietly(l.fd);
  // The run's process groups as a running service's are kept (RunLeftovers): what it handed over,
  // its main process's and its hooks', each signalled only while its number is still the run's.
  const run = new RunLeftovers(cgroups, h.name);
  run.adopt(h.leftovers);
  for (const p of [...(h.pid !== null ? [h.pid] : []), ...h.hooks.map((k) => k.pid)]) run.follow(p);
  for (const g of run.signalGroups()) {
    signalProcessGroup(g, Sig.SIGTERM);
    signalProcessGroup(g, Sig.SIGCONT);
  }
  const t = setTimeout(() => {
    run.kill();
    // Emptied by the kill a moment later: removed then (or by the sweep of a later boot).
    if (cgroups) setTimeout(() => removeCgroupTree(cgroups.pathOf(h.name)), 1_000).unref?.();
  }, graceMs);
  t.unref?.();
}
