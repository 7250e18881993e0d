// A service record to and from its re-exec snapshot (service-snapshot.ts): counters, state, process, checks' data.
import { holdsProcess, type ServiceRecord } from "./service-record.ts";
import type { ServiceSnapshot } from "./service-snapshot.ts";

/** A record as handed over: times as ages and durations (the next image has another clock). */
export function toSnapshot(r: ServiceRecord, timerLeftMs: number | null, now: number, more: Partial<Pick<ServiceSnapshot, "logFds" | "logNextSeq" | "logTail" | "restartPending" | "hooks" | "readyLeftMs" | "leftovers" | "sigkilled">> = {}): ServiceSnapshot {
  return {
    name: r.config.name,
    state: r.state,
    pid: holdsProcess(r.state) ? r.pid : null,
    restarts: r.restarts,
    failures: r.failures,
    restartAgesMs: r.restartTimes.map((t) => Math.max(0, now - t)),
    runningForMs: r.pid !== null ? Math.max(0, now - r.startedAt) : 0,
    readyForMs: holdsProcess(r.state) && r.readyAt !== null ? Math.max(0, now - r.readyAt) : null,
    lastStatus: r.lastStatus,
    stopRequested: r.stopRequested,
    timerLeftMs,
    sigkilled: holdsProcess(r.state) && timerLeftMs !== null ? (more.sigkilled ?? false) : false,
    statusText: r.statusText,
    healthChecks: r.healthChecks,
    healthFailures: r.healthFailures,
    killedFor: holdsProcess(r.state) ? r.killedFor : null,
    logFds: more.logFds ?? [],
    logNextSeq: more.logNextSeq ?? 1,
    logTail: more.logTail ?? [],
    restartPending: more.restartPending ?? false,
    readyLeftMs: r.state === "starting" ? (more.readyLeftMs ?? null) : null,
    hooks: more.hooks ?? [],
    leftovers: holdsProcess(r.state) ? (more.leftovers ?? []) : [],
    signalledForMs: holdsProcess(r.state) && r.signalledAt !== null ? Math.max(0, now - r.signalledAt) : null,
  };
}

/** A stop whose main process ended, waiting for the rest of the run (its cgroup, or its process groups). */
export const waitsForLeftovers = (state: ServiceRecord["state"], pid: number | null): boolean => state === "stopping" && pid === null;

/** Restores the record's counters and state from a handover; returns whether it keeps its main process. */
export function restoreRecord(r: ServiceRecord, h: ServiceSnapshot, now: number): boolean {
  r.restarts = h.restarts;
  r.failures = h.failures;
  r.restartTimes = h.restartAgesMs.map((a) => now - a);
  r.lastStatus = h.lastStatus;
  r.stopRequested = h.stopRequested;
  r.statusText = h.statusText;
  r.healthChecks = h.healthChecks;
  r.healthFailures = h.healthFailures;
  // A stop waiting for the rest of its run too: its SIGKILL line says how long the stop signal was ignored.
  r.signalledAt = h.signalledForMs !== null ? now - h.signalledForMs : null;
  const keeps = holdsProcess(h.state) && h.pid !== null;
  // A stop waiting for what the run left stays one (service-adopt.ts); it became "pending" before.
  r.state = keeps || waitsForLeftovers(h.state, h.pid) ? h.state : holdsProcess(h.state) ? "pending" : h.state;
  if (keeps) {
    r.pid = h.pid;
    r.startedAt = now - h.runningForMs;
    r.killedFor = h.killedFor;
    // Before handoff 8 a running service had been ready since its start, as far as anyone knew.
    r.readyAt = h.readyForMs !== null ? now - h.readyForMs : h.state === "running" ? r.startedAt : null;
  }
  return keeps;
}

/**
 * A snapshot as it stands `gapMs` after it was taken (the exec and the new image's phases before its
 * services): ages longer, what was left of each timer shorter. Read as if taken at the adoption, a
 * stop's grace, a back-off, a hook's timeout or a readiness wait lasted the gap longer, and a run's
 * age (stable_after_ms, the storm window) was short of it.
 */
export function agedBy(h: ServiceSnapshot, gapMs: number): ServiceSnapshot {
  if (gapMs <= 0) return h;
  const less = (ms: number | null): number | null => (ms === null ? null : Math.max(0, ms - gapMs));
  return {
    ...h,
    restartAgesMs: h.restartAgesMs.map((a) => a + gapMs),
    runningForMs: h.pid !== null ? h.runningForMs + gapMs : h.runningForMs,
    readyForMs: h.readyForMs === null ? null : h.readyForMs + gapMs,
    timerLeftMs: less(h.timerLeftMs),
    readyLeftMs: less(h.readyLeftMs),
    signalledForMs: h.signalledForMs === null ? null : h.signalledForMs + gapMs,
    hooks: h.hooks.map((k) => ({ ...k, timeoutLeftMs: Math.max(0, k.timeoutLeftMs - gapMs) })),
  };
}
