// A service's record (state, process, counters) and its back-off, as the state machine (service-machine.ts) reads and changes it.
import type { ServiceConfig } from "../config/schema.ts";
import type { serviceStates } from "./service-snapshot.ts";

export type ServiceState = (typeof serviceStates)[number];

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
}

export function newRecord(config: ServiceConfig): ServiceRecord {
  return { config, state: "pending", pid: null, startedAt: 0, restarts: 0, failures: 0, restartTimes: [], lastStatus: null, stopRequested: false, statusText: null, healthChecks: 0, healthFailures: 0, killedFor: null };
}

/** Back-off before restart number `failures` (1-based): initial * factor^(failures-1), capped. */
export function backoffMs(cfg: ServiceConfig, failures: number): number {
  const ms = cfg.backoff_initial_ms * cfg.backoff_factor ** Math.max(0, failures - 1);
  return Math.min(cfg.backoff_max_ms, Math.round(ms));
}
