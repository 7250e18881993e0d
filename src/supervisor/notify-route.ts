// An sd_notify message to the service that sent it (by the kernel's sender pid or cgroup, never what it says), applied to that service.
import { logger } from "../log.ts";
import type { NotifySender } from "./notify-socket.ts";
import type { ServiceCgroups } from "./service-cgroup.ts";
import type { ServiceChecks } from "./service-checks.ts";
import { holdsProcess } from "./service-record.ts";
import { applyNotify, belongsTo, sentBy } from "./service-notify.ts";
import type { ServiceRunner } from "./service-runner.ts";

const log = logger("supervisor");

/** Which service a sub-cgroup (by id) was last found under: its messages walk that service's tree only. */
const subtreeOwner = new Map<bigint, string>();

/** The live service whose cgroup has `id` below it (the one that held it last is looked at first, then every one). */
function inSubtree(live: ServiceRunner[], cg: ServiceCgroups, id: bigint): ServiceRunner | undefined {
  const known = live.find((s) => s.rec.config.name === subtreeOwner.get(id));
  if (known && cg.subtreeIds(known.rec.config.name).has(id)) return known;
  const found = live.find((s) => cg.subtreeIds(s.rec.config.name).has(id));
  if (found) {
    if (subtreeOwner.size > 1024) subtreeOwner.clear();
    subtreeOwner.set(id, found.rec.config.name);
  }
  return found;
}

/** Finds the service among `runners` whose process sent the message, and applies it (dropped when none did). */
export function routeNotify(runners: Iterable<ServiceRunner>, cg: ServiceCgroups | null, checks: ServiceChecks, sender: NotifySender, fields: Map<string, string>): void {
  // A service without its own cgroup (cgroups off, or its cgroup could not be made: no id) is known by its process groups.
  const viewOf = (s: ServiceRunner) => {
    const name = s.rec.config.name;
    const id = cg?.id(name) ?? null;
    return id === null ? null : { pids: () => cg!.pids(name), id: () => id };
  };
  const live = [...runners].filter((s) => holdsProcess(s.rec.state));
  // A sender in a cgroup a service made below its own (a sandbox, workers moved there): its READY=1
  // was dropped (the readiness timeout killed the service). Looked for only when no service's own
  // cgroup is the sender's (a walk of each service's sub-cgroups per message otherwise).
  const slot = live.find((s) => sentBy(s.rec, sender, viewOf(s), s.leftovers.processGroups())) ?? (cg && sender.cgroupId !== null ? inSubtree(live, cg, sender.cgroupId) : undefined);
  if (!slot) {
    log.debug("sd_notify message from a process of no service; dropped", { pid: sender.pid });
    return;
  }
  const c = slot.rec.config;
  applyNotify(slot.rec, fields, {
    ready: () => slot.dispatch({ type: "ready" }),
    mainPid: (p) => {
      slot.rec.pid = p;
      slot.watchMainPid(p);
    },
    watchdogPing: () => checks.ping(c),
    watchdogTrigger: () => slot.dispatch({ type: "watchdog-trigger" }),
    // While it starts: the readiness timeout; while it stops (or is killed for a failed check): the
    // grace before SIGKILL, if that is still to come. The service was killed at the time it asked past.
    extendTimeout: (ms) => {
      const r = slot.rec;
      const grace = r.state === "stopping" || r.killedFor !== null;
      // Not once SIGKILL went: the final wait after it is not a grace to extend (it sent SIGKILL again).
      const left = grace ? slot.timerLeft(performance.now(), "grace-elapsed") : null;
      if (grace && left !== null && left < ms) slot.setTimer(ms, "grace-elapsed");
      else if (grace || !(r.state === "starting" && checks.extendReady(c, ms))) return;
      log.info("service asks for more time (EXTEND_TIMEOUT_USEC)", { service: c.name, state: r.state, ms });
    },
    belongs: (p) => belongsTo(slot.rec, p, viewOf(slot)?.pids() ?? null, slot.leftovers.processGroups()),
  });
}
