// A live re-exec of the supervisor: every service's snapshot for the next image, and the services the previous image handed over resumed.
import { describeError } from "../errors.ts";
import { logger } from "../log.ts";
import { adoptService } from "./service-adopt.ts";
import type { ServiceChecks } from "./service-checks.ts";
import { agedBy, toSnapshot } from "./service-handover.ts";
import { markStarted } from "./service-record.ts";
import type { ServiceLogs } from "./service-logs.ts";
import type { ServiceRunner } from "./service-runner.ts";
import type { ServiceSnapshot } from "./service-snapshot.ts";
import type { StopRequests } from "./stop-requests.ts";
import { retireService } from "./retired-service.ts";
import type { ServiceCgroups } from "./service-cgroup.ts";

const log = logger("supervisor");

/** What of the supervisor a handover reads and restores. */
export interface HandoverParts {
  slots: ReadonlyMap<string, ServiceRunner>;
  /** Start order. */
  order: readonly string[];
  requests: StopRequests;
  logs: ServiceLogs | null;
  checks: ServiceChecks;
  /** Names in the order their processes were last started: an adopted service's is added. */
  started: string[];
  /** The services' cgroups (a service no longer configured is stopped in its own: retireService). */
  cgroups: ServiceCgroups | null;
}

/**
 * State for a live re-exec: each service's state, pid, counters, stop request, STATUS text,
 * what is left of its grace period or back-off or readiness wait, its pre_start or post_stop still running,
 * whether a restart is stopping it, and its output's pipes and line numbering.
 */
export function snapshotServices(p: HandoverParts): ServiceSnapshot[] {
  const now = performance.now();
  // Every pipe read once, before any service's part: a drain per service read an earlier service's
  // newer lines (and its unfinished line) after that service's tail and partial line were taken.
  p.logs?.drain();
  return p.order.map((n) => {
    const slot = p.slots.get(n)!;
    const restartPending = p.requests.restartPending(n);
    const logFds = p.logs?.handover(n, true) ?? [];
    return toSnapshot(slot.rec, slot.timerLeft(now), now, { logFds, logNextSeq: p.logs?.nextSeq(n) ?? 1, logTail: p.logs?.tail(n) ?? [], restartPending, hooks: slot.hooks.handover(now), readyLeftMs: p.checks.readyLeft(n, now), leftovers: slot.leftovers.handover(), sigkilled: slot.timerLeft(now, "kill-elapsed") !== null });
  });
}

/**
 * After a re-exec: every service resumes the state it had (service-adopt.ts). A restart the previous
 * image was stopping a service for is done (`start`) once the stop is over, unless a later stop or
 * restart wins. The caller then starts what is new in the config. `gapMs`: how long ago the snapshot
 * was taken (every age and time left in it is moved on by that much, agedBy). `stopFirst`: services
 * whose state could not be read, handed over as stopping, which get their stop signal here.
 */
export function adoptServices(p: HandoverParts, list: ServiceSnapshot[], start: (name: string) => void, gapMs = 0, stopFirst: ReadonlySet<string> = new Set()): void {
  const now = performance.now();
  for (const handed of list) {
    const h = agedBy(handed, gapMs);
    const slot = p.slots.get(h.name);
    if (!slot) retireService(h, p.cgroups);
    else {
      if (adoptService(slot, h, now, p.checks, p.logs)) markStarted(p.started, h.name);
      // Its state could not be read (service-salvage.ts): adopted as stopping, its stop signal goes now.
      if (stopFirst.has(h.name)) slot.signalStopNow();
      if (h.restartPending) p.requests.resumeRestart(h.name, slot.settled(), () => startAfterRestart(h.name, start));
    }
  }
}

function startAfterRestart(name: string, start: (name: string) => void): void {
  try {
    start(name);
    log.info("restart from before the re-exec done", { service: name });
  } catch (e) {
    log.warn("restart from before the re-exec not done", { service: name, error: describeError(e) });
  }
}
