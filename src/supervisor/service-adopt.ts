// After a live re-exec: one service resumes the state the previous image handed over (its process, timers, checks).
import { logger } from "../log.ts";
import { restoreRecord, waitsForLeftovers } from "./service-handover.ts";
import type { ServiceChecks } from "./service-checks.ts";
import type { ServiceLogs } from "./service-logs.ts";
import type { ServiceRunner } from "./service-runner.ts";
import type { ServiceSnapshot } from "./service-snapshot.ts";
import type { TimerEvent } from "./service-events.ts";

const log = logger("supervisor");

/**
 * Which wait a stop (or a kill for a failed check) was in: its grace, or the final wait after the
 * SIGKILL at the grace's end (re-armed as a grace, it got a second SIGKILL and KILL_WAIT_MS more).
 */
const stopWait = (h: ServiceSnapshot): TimerEvent => (h.sigkilled ? "kill-elapsed" : "grace-elapsed");

/**
 * Starting, running and stopping services keep their process (same pid; a starting one waits for
 * readiness again, its whole timeout or what was left of an extended wait, a running one gets its health checks and watchdog back, a stopping one keeps its
 * stop request and the rest of its grace period, then SIGKILL; one being killed for a failed check
 * keeps the rest of that grace, then SIGKILL, and no check: it was waited for again and signalled a
 * second time; one whose main process had ended waits again for the rest of its run, its cgroup or
 * its process groups, with the rest of its grace; one past its grace keeps the rest of the final wait
 * after its SIGKILL); one in back-off keeps the rest of its delay; stopped, exited or failed ones stay
 * down. A pre_start or post_stop still running is waited for (the rest of its timeout). Returns
 * whether it holds a process.
 */
export function adoptService(slot: ServiceRunner, h: ServiceSnapshot, now: number, checks: ServiceChecks, logs: ServiceLogs | null): boolean {
  logs?.adopt(h.name, h.logFds, h.logNextSeq, h.logTail);
  const keeps = restoreRecord(slot.rec, h, now);
  slot.adoptHooks(h.hooks);
  if (keeps) {
    // The run's process groups first (with cgroups off what a stop, the clean-up and the throttle
    // signal): rebuilt from the main process alone, a MAINPID= worker that called setsid() lost the
    // group of its exited parent, and its siblings escaped all three.
    slot.leftovers.adopt(h.leftovers);
    slot.watchMainPid(h.pid!);
    log.info("service adopted", { service: h.name, pid: h.pid, state: h.state, restarts: h.restarts, ...(h.killedFor !== null ? { being_killed: h.killedFor } : {}), ...(h.sigkilled ? { waiting_for: "its end after SIGKILL" } : {}) });
    if (h.state === "stopping" || h.killedFor !== null) slot.setTimer(h.timerLeftMs ?? 0, stopWait(h));
    // Its whole readiness timeout again, or what was left of the wait when longer (an EXTEND_TIMEOUT_USEC).
    else if (h.state === "starting") checks.awaitReady(slot.rec.config, slot.rec.startedAt, h.readyLeftMs ?? 0);
    else checks.becameReady(slot.rec.config);
    return true;
  }
  if (waitsForLeftovers(slot.rec.state, slot.rec.pid)) {
    // Its main process ended before the exec; the rest of its run is waited for again, with the rest of its grace.
    slot.leftovers.adopt(h.leftovers);
    log.info("service adopted", { service: h.name, pid: null, state: h.state, waiting_for: `the rest of its run${h.sigkilled ? " after SIGKILL" : ""}`, groups: h.leftovers.map((l) => l.group).join(",") || "-" });
    slot.setTimer(h.timerLeftMs ?? 0, stopWait(h));
    slot.leftovers.whenEmpty(() => slot.dispatch({ type: "cgroup-empty" }));
    return true;
  }
  if (h.state === "backoff") slot.setTimer(h.timerLeftMs ?? 0, "backoff-elapsed");
  else if (h.state !== "pending") log.info("service stays down after re-exec", { service: h.name, state: h.state });
  return false;
}
