// A service's life as an explicit state x event table; effects are returned, never performed here.
import { backoffMs, isAtRest, type ServiceRecord, type ServiceState } from "./service-record.ts";
import type { Effect, ServiceEvent } from "./service-events.ts";
import { KILLED_FOR_MAX } from "./service-snapshot.ts";
import { cutText } from "../util/cut-text.ts";

type Handler = (s: ServiceRecord, ev: never, now: number) => Effect[];
type Table = { [S in ServiceState]: { [E in ServiceEvent["type"]]?: (s: ServiceRecord, ev: Extract<ServiceEvent, { type: E }>, now: number) => Effect[] } };

/** The main process ended by itself: what is left in its cgroup goes with it, then the restart policy. */
function onExitWhileRunning(s: ServiceRecord, ev: Extract<ServiceEvent, { type: "exited" }>, now: number): Effect[] {
  const sweep: Effect[] = ev.leftovers ? [{ type: "log", level: "info", msg: "main process exited; killing what is left of its run (its cgroup, or its process group with cgroups off)", fields: { service: s.config.name } }, { type: "kill-leftovers" }] : [];
  return [...sweep, ...afterExit(s, ev, now)];
}

function afterExit(s: ServiceRecord, ev: Extract<ServiceEvent, { type: "exited" }>, now: number): Effect[] {
  const c = s.config;
  const ranMs = now - s.startedAt;
  s.pid = null;
  s.lastStatus = ev.status;
  const how = ev.signal !== null ? { signal: ev.signal } : { code: ev.status };
  if (s.stopRequested) {
    s.state = "stopped";
    return [{ type: "log", level: "info", msg: "service stopped", fields: { service: c.name, ...how } }, { type: "settled" }];
  }
  // Killed for failing a check, a run that exits 0 on its stop signal failed all the same (as
  // systemd's on-failure restarts after a start or watchdog timeout): it stayed down under on-failure.
  const failed = ev.status !== 0 || s.killedFor !== null;
  if (c.type === "oneshot" && !failed) {
    s.state = "done";
    s.failures = 0;
    return [{ type: "log", level: "info", msg: "oneshot service finished", fields: { service: c.name, ran_ms: Math.round(ranMs) } }, { type: "settled" }];
  }
  if (c.main) {
    // Never restarted: its exit ends the machine (ordered shutdown, power-off, its status).
    s.state = "exited";
    return [{ type: "log", level: failed ? "warn" : "info", msg: "main service exited; shutting the machine down", fields: { service: c.name, ...how } }, { type: "main-exited", status: ev.status, signal: ev.signal }, { type: "settled" }];
  }
  if (c.restart === "never" || (c.restart === "on-failure" && !failed)) {
    s.state = "exited";
    return [{ type: "log", level: failed ? "warn" : "info", msg: `service exited; restart=${c.restart}, staying down`, fields: { service: c.name, ...how } }, { type: "settled" }];
  }
  if (s.readyAt !== null && now - s.readyAt >= c.stable_after_ms) s.failures = 0;
  s.readyAt = null;
  s.failures++;
  s.restartTimes = s.restartTimes.filter((t) => now - t < c.storm_window_ms);
  if (s.restartTimes.length >= c.storm_max) {
    s.state = "failed";
    return [
      { type: "log", level: "error", msg: `restart storm: ${s.restartTimes.length} restarts within ${c.storm_window_ms} ms (limit ${c.storm_max}); giving up`, fields: { service: c.name, ...how } },
      { type: "settled" },
    ];
  }
  const delay = backoffMs(c, s.failures);
  s.state = "backoff";
  return [
    { type: "log", level: "warn", msg: "service exited; restarting after back-off", fields: { service: c.name, ...how, backoff_ms: delay, failures: s.failures } },
    { type: "timer", ms: delay, event: "backoff-elapsed" },
  ];
}

const spawnNow: Effect[] = [{ type: "spawn" }];

/**
 * A stop request for a service whose process runs: stop signal, then SIGKILL at the end of the grace.
 * One being killed for a failed check has had its stop signal, and its grace runs: it was signalled
 * a second time (a second SIGTERM or SIGINT means "quit now" to many programs) and given a new grace.
 */
function stopRunning(s: ServiceRecord, _ev: unknown, now: number): Effect[] {
  s.stopRequested = true;
  s.state = "stopping";
  if (s.killedFor !== null) return [{ type: "end-checks" }];
  s.signalledAt = now;
  return [{ type: "end-checks" }, { type: "signal", signal: "stop" }, { type: "timer", ms: s.config.grace_ms, event: "grace-elapsed" }];
}

// The only timer while up is killFor's grace: cancelled, or it could SIGKILL the next run.
const exitedWhileUp = (s: ServiceRecord, ev: Extract<ServiceEvent, { type: "exited" }>, now: number): Effect[] => [{ type: "end-checks" }, { type: "cancel-timer" }, ...onExitWhileRunning(s, ev, now)];

/**
 * A failed readiness, health or watchdog check: the stop signal, SIGKILL after grace_ms (it got
 * SIGKILL at once), then the restart policy, for which the run failed whatever its exit status.
 */
function killFor(s: ServiceRecord, why: string, now: number): Effect[] {
  s.signalledAt = now;
  // Handed over at a live re-exec, within the handoff's bound: an exec probe's argv made it any
  // length, and one over 4096 characters made the next image drop every service's state.
  s.killedFor = cutText(why, KILLED_FOR_MAX);
  return [
    { type: "log", level: "error", msg: `${s.killedFor}; killing it (restart per policy)`, fields: { service: s.config.name, pid: s.pid, signal: s.config.stop_signal, grace_ms: s.config.grace_ms } },
    { type: "end-checks" },
    { type: "signal", signal: "stop" },
    { type: "timer", ms: s.config.grace_ms, event: "grace-elapsed" },
  ];
}
/** Ignored once the run is being killed: its grace ran on (a second stop signal, a new grace). */
const watchdogTrigger = (s: ServiceRecord, _ev: unknown, now: number): Effect[] => (s.killedFor !== null ? [] : killFor(s, "service asked for a watchdog failure (WATCHDOG=trigger)", now));

/**
 * How long the stop signal has been ignored, as waited: its grace, or longer when EXTEND_TIMEOUT_USEC
 * pushed the SIGKILL back or a live re-exec came between (the line named grace_ms whatever the wait).
 */
const ignoredFor = (s: ServiceRecord, ev: { dueAt?: number }, now: number): string => `service ignored ${s.config.stop_signal} ${s.signalledAt !== null ? `for ${Math.round((ev.dueAt ?? now) - s.signalledAt)} ms` : "through its grace period"}; sending SIGKILL`;
/**
 * How long a run has to go after its SIGKILL (systemd's final timeout after the final SIGKILL). A
 * process in uninterruptible sleep (D state), or a cgroup or process group kept populated (a zombie
 * whose parent escaped), kept the service stopping for ever: the stop never returned, a start was
 * refused for ever, and the shutdown waited out its bound.
 */
export const KILL_WAIT_MS = 5_000;
const sigkill: Effect[] = [{ type: "signal", signal: "kill" }, { type: "timer", ms: KILL_WAIT_MS, event: "kill-elapsed" }];
const killAfterGrace = (s: ServiceRecord, ev: { dueAt?: number }, now: number): Effect[] => [{ type: "log", level: "warn", msg: ignoredFor(s, ev, now), fields: { service: s.config.name, pid: s.pid } }, ...sigkill];

/**
 * Still there KILL_WAIT_MS after SIGKILL: the run is given up (its processes are logged and no longer
 * waited for) and the service is failed, as systemd's unit is ("processes still around after final
 * SIGKILL"). A main service not being stopped ends the machine, as if SIGKILL had ended it.
 */
function giveUpRun(s: ServiceRecord): Effect[] {
  const pid = s.pid;
  s.pid = null;
  s.state = "failed";
  s.readyAt = null;
  const main: Effect[] = s.config.main && !s.stopRequested ? [{ type: "main-exited", status: 128 + 9, signal: 9 }] : [];
  return [{ type: "end-checks" }, { type: "give-up-run", pid, waitedMs: KILL_WAIT_MS }, ...main, { type: "settled" }];
}

/**
 * A start request for a service at rest (stopped, exited, failed) or in back-off: a fresh run, back-off and storm
 * count reset. The count was kept unless the service had failed: one stopped by hand in its crash
 * loop and started again was given up after the restarts it had left, one at worst.
 */
function startFromRest(s: ServiceRecord): Effect[] {
  waitFromRest(s);
  return spawnNow;
}

/** The same fresh run, started once its dependencies are running (the supervisor sends `start`). */
function waitFromRest(s: ServiceRecord): Effect[] {
  s.restartTimes = [];
  s.stopRequested = false;
  s.failures = 0;
  s.state = "pending";
  return [];
}

function stoppedNow(s: ServiceRecord, status: number | null): Effect[] {
  s.state = "stopped";
  return [{ type: "cancel-timer" }, { type: "log", level: "info", msg: "service stopped", fields: { service: s.config.name, status } }, { type: "settled" }];
}

/** A stop request for a service that holds no process. */
function stopAtRest(s: ServiceRecord): Effect[] {
  s.stopRequested = true;
  s.state = "stopped";
  return [{ type: "settled" }];
}

/**
 * The main service waiting for a dependency that went down for good: it can never start, so the
 * machine ends as for a main service that could not start (127). It waited for ever, and the machine
 * with it (an appliance never powered off; a VM run waited for its timeout). Other services keep
 * waiting: the dependency may be started by hand.
 */
function dependencyDown(s: ServiceRecord, ev: Extract<ServiceEvent, { type: "dependency-down" }>): Effect[] {
  if (!s.config.main || s.stopRequested) return [];
  s.state = "exited";
  s.lastStatus = 127;
  return [
    { type: "log", level: "error", msg: "main service cannot start: a dependency is down for good; shutting the machine down", fields: { service: s.config.name, dependency: ev.dependency, state: ev.state, status: 127 } },
    { type: "main-exited", status: 127, signal: null },
    { type: "settled" },
  ];
}

const table: Table = {
  pending: {
    start: () => spawnNow,
    "dependency-down": dependencyDown,
    // With a `ready` check the service is "starting" until it passes; depends_on waits for "running".
    // A oneshot is "starting" while it runs: its dependents wait for it to be "done".
    spawned: (s, ev, now) => {
      const oneshot = s.config.type === "oneshot";
      s.state = s.config.ready || oneshot ? "starting" : "running";
      s.pid = ev.pid;
      s.startedAt = now;
      s.statusText = null;
      s.healthFailures = 0;
      s.killedFor = null;
      s.signalledAt = null;
      // A oneshot has no readiness: a run as long as stable_after_ms resets its back-off, as before.
      s.readyAt = s.config.ready && !oneshot ? null : now;
      const started: Effect = { type: "log", level: "info", msg: "service started", fields: { service: s.config.name, pid: ev.pid, ...(oneshot ? { type: "oneshot" } : {}) } };
      return oneshot ? [started] : [started, { type: s.config.ready ? "await-ready" : "became-ready" }];
    },
    // A command that cannot be started (missing, not executable) counts as a run that failed at
    // once (status 127): restart policy, back-off and storm limit apply, as a binary may appear later
    // (a main service is never restarted: the machine ends with 127).
    // The reason is said once, here, whatever follows (it was logged twice, or not at all for a
    // failed pre_start that is retried).
    "spawn-failed": (s, ev, now) => {
      const said: Effect = { type: "log", level: "error", msg: "service could not start", fields: { service: s.config.name, error: ev.error } };
      if (s.config.restart === "never" && !s.config.main) {
        s.state = "failed";
        return [said, { type: "settled" }];
      }
      s.startedAt = now;
      s.readyAt = null;
      return [said, ...afterExit(s, { type: "exited", status: 127, signal: null }, now)];
    },
    stop: stopAtRest,
  },
  starting: {
    // A oneshot's READY=1 changes nothing: it is ready when it exits 0.
    ready: (s, _ev, now) => {
      if (s.config.type === "oneshot") return [];
      // Too late: killed for its readiness timeout, it is not made ready (its dependents started
      // beside a service getting SIGKILL at the end of its grace, and its health checks began).
      if (s.killedFor !== null) return [{ type: "log", level: "info", msg: "service ready after its readiness timeout; ignored, it is being killed", fields: { service: s.config.name, pid: s.pid } }];
      s.state = "running";
      s.readyAt = now;
      return [{ type: "log", level: "info", msg: "service ready", fields: { service: s.config.name, pid: s.pid, after_ms: Math.round(now - s.startedAt) } }, { type: "became-ready" }];
    },
    // The wait as it was (from the spawn): EXTEND_TIMEOUT_USEC or a live re-exec made it longer than timeout_ms.
    "ready-timeout": (s, ev, now) => killFor(s, `service not ready within ${ev.afterMs ?? Math.round(now - s.startedAt)} ms`, now),
    "watchdog-trigger": watchdogTrigger,
    "grace-elapsed": killAfterGrace,
    "kill-elapsed": giveUpRun,
    exited: exitedWhileUp,
    stop: stopRunning,
  },
  running: {
    exited: exitedWhileUp,
    stop: stopRunning,
    "grace-elapsed": killAfterGrace,
    "kill-elapsed": giveUpRun,
    health: (s, ev, now) => {
      s.healthChecks++;
      if (ev.ok) {
        s.healthFailures = 0;
        return [];
      }
      s.healthFailures++;
      const limit = s.config.health?.failures ?? 1;
      if (s.healthFailures < limit) return [{ type: "log", level: "warn", msg: "health check failed", fields: { service: s.config.name, probe: ev.probe, failures: s.healthFailures, limit } }];
      return killFor(s, `health check failed ${s.healthFailures} times in a row${ev.probe ? ` (${ev.probe})` : ""}`, now);
    },
    "watchdog-missed": (s, _ev, now) => killFor(s, `no WATCHDOG=1 within ${s.config.watchdog_ms} ms`, now),
    "watchdog-trigger": watchdogTrigger,
  },
  backoff: {
    // Started by hand: now, without waiting out the back-off (the reply said "started" and the timer
    // ran on), as a fresh run (it kept the crash loop's back-off and storm count, which the operator's
    // start after a fix then waited out, or soon gave the service up for).
    start: (s) => [{ type: "cancel-timer" }, ...startFromRest(s)],
    "backoff-elapsed": (s, _ev, now) => {
      // A stop was asked for meanwhile (the machine's shutdown began): no new run.
      if (s.stopRequested) return stopAtRest(s);
      s.restarts++;
      s.restartTimes.push(now);
      s.state = "pending";
      return spawnNow;
    },
    stop: (s) => [{ type: "cancel-timer" }, ...stopAtRest(s)],
    wait: (s) => [{ type: "cancel-timer" }, ...waitFromRest(s)],
  },
  stopping: {
    // Stopped once the main process is gone and its cgroup is empty (processes that left its
    // process group got the stop signal too; what still runs at the end of the grace gets cgroup.kill).
    exited: (s, ev) => {
      s.pid = null;
      s.lastStatus = ev.status;
      if (ev.leftovers) return [{ type: "log", level: "info", msg: "main process exited; waiting for the rest of its run (its cgroup, or its process group with cgroups off)", fields: { service: s.config.name, status: ev.status } }, { type: "watch-cgroup" }];
      return stoppedNow(s, ev.status);
    },
    "cgroup-empty": (s) => (s.pid === null ? stoppedNow(s, s.lastStatus) : []),
    "grace-elapsed": (s, ev, now) => [
      { type: "log", level: "warn", msg: `${ignoredFor(s, ev, now)}${s.pid === null ? " to what is left of its run" : ""}`, fields: { service: s.config.name, pid: s.pid } },
      ...sigkill,
    ],
    "kill-elapsed": giveUpRun,
  },
  // A stop of a service that holds no process changes nothing (the reply says it was not running): a
  // failed service stays failed, as systemd keeps a failed unit failed, until it is started (it
  // became "stopped", and `stop` said "stopped" for a service that had given up long before).
  stopped: { start: startFromRest, wait: waitFromRest },
  exited: { start: startFromRest, wait: waitFromRest },
  failed: { start: startFromRest, wait: waitFromRest },
  // A oneshot that finished: started again by hand (or `restart`) it runs again; a stop leaves it done.
  done: { start: startFromRest, wait: waitFromRest },
};

/** Applies one event. Pairs not in the table are ignored (returns no effects). */
export function step(s: ServiceRecord, ev: ServiceEvent, now: number): Effect[] {
  const h = table[s.state][ev.type] as Handler | undefined;
  return h ? h(s, ev as never, now) : [];
}

/** States in which the service holds no process and will not start one by itself. */
export function isSettled(s: ServiceRecord): boolean {
  return isAtRest(s.state) || (s.state === "pending" && s.pid === null && s.stopRequested);
}
