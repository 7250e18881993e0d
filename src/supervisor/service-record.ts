// A service's record (state, process, counters) and its back-off, as the state machine (service-machine.ts) reads and changes it.
import type { ServiceConfig } from "../config/schema.ts";
import type { serviceStates } from "./service-snapshot.ts";

export type ServiceState = (typeof serviceStates)[number];

/**
 * At rest: the service holds no process and starts none by itself (stopped, exited, failed, or a
 * oneshot done). A stop leaves it as it is; a start of one of its dependents starts it. A string, as
 * a client reads it from `services`.
 */
export const isAtRest = (state: string): boolean => state === "stopped" || state === "exited" || state === "failed" || state === "done";

/** States in which the service holds a process (kept across a re-exec). Neither this nor at rest: pending, backoff. */
export const holdsProcess = (state: string): boolean => state === "starting" || state === "running" || state === "stopping";

export interface ServiceRecord {
  readonly config: ServiceConfig;
  state: ServiceState;
  pid: number | null;
  startedAt: number;
  restarts: number;
  /** Consecutive failed runs (drives the exponential back-off). */
  failures: number;
  /** Times of recent restarts, for the storm limit. */
  restartTimes: number[];
  lastStatus: number | null;
  /** A stop was requested: whatever happens next, do not restart. */
  stopRequested: boolean;
  /** Last STATUS= text the service sent over sd_notify. */
  statusText: string | null;
  /** Health probes run, and failed in a row now. */
  healthChecks: number;
  healthFailures: number;
  /** The run was killed for failing a check (readiness, health, watchdog): its exit is a failure, whatever its status. */
  killedFor: string | null;
  /**
   * When the run became ready (at its start without a `ready` check), null before: only a run ready
   * for stable_after_ms resets the back-off. One killed at its readiness timeout had "run" that long
   * whenever the timeout was the longer (30 s against 10 s by default): every restart waited the
   * first back-off, and a service that never became ready restarted forever.
   */
  readyAt: number | null;
  /** When the run got its stop signal (a stop, or a kill for a failed check), null before: the SIGKILL line says how long it was ignored. */
  signalledAt: number | null;
}

export function newRecord(config: ServiceConfig): ServiceRecord {
  return { config, state: "pending", pid: null, startedAt: 0, restarts: 0, failures: 0, restartTimes: [], lastStatus: null, stopRequested: false, statusText: null, healthChecks: 0, healthFailures: 0, killedFor: null, readyAt: null, signalledAt: null };
}

/** Back-off before restart number `failures` (1-based): initial * factor^(failures-1), capped. */
export function backoffMs(cfg: ServiceConfig, failures: number): number {
  const ms = cfg.backoff_initial_ms * cfg.backoff_factor ** Math.max(0, failures - 1);
  return Math.min(cfg.backoff_max_ms, Math.round(ms));
}

/**
 * Moves `name` to the end of `started` (names in the order their processes were last started, read
 * backwards by the shutdown). Appended on every start, it grew by one name per restart for the
 * machine's lifetime (a restart loop: ~864k a day), and the shutdown copied and reversed all of it
 * at every state change.
 */
export function markStarted(started: string[], name: string): void {
  const i = started.indexOf(name);
  if (i !== -1) started.splice(i, 1);
  started.push(name);
}
