// What a service's state machine (service-machine.ts) takes and returns: the events that reach a service, and the effects its runner performs.
import type { ServiceState } from "./service-record.ts";

export type ServiceEvent =
  | { type: "start" }
  /** Started by hand while a dependency is not running: wait ("pending") until it is, then start. */
  | { type: "wait" }
  | { type: "spawned"; pid: number }
  | { type: "spawn-failed"; error: string }
  /** `leftovers`: processes of the service still in its cgroup (a daemon that double-forked). */
  | { type: "exited"; status: number; signal: number | null; leftovers?: boolean }
  /** The service's cgroup holds no process any more. */
  | { type: "cgroup-empty" }
  | { type: "backoff-elapsed" }
  /** Readiness: READY=1 over sd_notify, or the ready probe passed; or its timeout passed first. */
  | { type: "ready" }
  /** `afterMs`: the wait as it was planned, from the spawn to the deadline (timeout_ms, or longer: EXTEND_TIMEOUT_USEC, a live re-exec). */
  | { type: "ready-timeout"; afterMs?: number }
  /** One health probe's result (once ready); `probe` says which (the failure lines named none). */
  | { type: "health"; ok: boolean; probe?: string }
  /** No WATCHDOG=1 within watchdog_ms. */
  | { type: "watchdog-missed" }
  /** WATCHDOG=trigger: fail as by the watchdog, now; systemd acts on it in any state, before READY=1 too. */
  | { type: "watchdog-trigger" }
  | { type: "stop" }
  /** `dueAt` (performance.now()): when the timer was due (grace_ms after the stop signal, or later: EXTEND_TIMEOUT_USEC, a live re-exec). */
  | { type: "grace-elapsed"; dueAt?: number }
  /** KILL_WAIT_MS after the SIGKILL at the end of a grace, the run is still there (D state, a cgroup kept populated). */
  | { type: "kill-elapsed" }
  /** A dependency (or one of its own) went down for good (failed, or exited and not restarted) while this waited for it. */
  | { type: "dependency-down"; dependency: string; state: ServiceState };

/** The events the service's one timer delivers. */
export type TimerEvent = "backoff-elapsed" | "grace-elapsed" | "kill-elapsed";

export type Effect =
  | { type: "spawn" }
  | { type: "timer"; ms: number; event: TimerEvent }
  | { type: "cancel-timer" }
  /** "stop": the stop signal to the group and every process of the cgroup; "kill": SIGKILL and cgroup.kill. */
  | { type: "signal"; signal: "stop" | "kill" }
  /** cgroup.kill of what is left in the cgroup after the main process exited by itself. */
  | { type: "kill-leftovers" }
  /** Report `cgroup-empty` once the cgroup holds no process. */
  | { type: "watch-cgroup" }
  /** Start the readiness check (probe or sd_notify, with its timeout). */
  | { type: "await-ready" }
  /** Ready: readiness check ends, health probes and the watchdog start, dependents may start. */
  | { type: "became-ready" }
  /** The run is over (exit, stop): readiness, health and watchdog checks end. */
  | { type: "end-checks" }
  /** The main service (config `main`) exited by itself: the machine ends with its status. */
  | { type: "main-exited"; status: number; signal: number | null }
  | { type: "log"; level: "info" | "warn" | "error"; msg: string; fields?: Record<string, string | number | null | undefined> }
  /** The run is given up after its final SIGKILL wait: its processes still there are logged and no longer waited for. */
  | { type: "give-up-run"; pid: number | null; waitedMs: number }
  | { type: "settled" };
