// A service's state as handed to the next image at a live re-exec (zod-validated on the way back in).
import { lazy } from "../util/lazy.ts";
import { handedFd, z } from "../util/zod-mini.ts";

/** "done": a oneshot service that exited 0 (its dependents may start; it holds no process). */
export const serviceStates = ["pending", "starting", "running", "backoff", "stopping", "stopped", "exited", "failed", "done"] as const;

/** Most characters of `killedFor` (the reason names a health probe, whose exec argv has no bound of its own): longer is cut where it is set. */
export const KILLED_FOR_MAX = 4096;
/** Most output pipes handed over per service (the newest: a crash loop's escaped processes kept one pair per restart open). */
export const LOG_FDS_MAX = 64;

/** One read end of a service's output (logFds). */
export const logFdSchema = lazy(() =>
  z.strictObject({
    fd: handedFd(),
    stream: z.union([z.literal(1), z.literal(2)]),
    partial: z.optional(z.string().check(z.maxLength(65536))),
    /** The first bytes of a character it had not finished (handoff 5). */
    partialBytes: z.optional(z.array(z.int().check(z.minimum(0), z.maximum(255))).check(z.maxLength(3))),
  }),
);
/** One process group of a run (leftovers). */
export const leftoverSchema = lazy(() => z.strictObject({ group: z.int().check(z.positive()), leaderStart: z.nullable(z.number()) }));
/** A pre_start, post_stop or exec probe still running (hooks). */
export const hookSchema = lazy(() => z.strictObject({ kind: z.enum(["pre_start", "post_stop", "probe"]), pid: z.int().check(z.positive()), timeoutLeftMs: z.number().check(z.minimum(0)) }));

export const serviceSnapshotSchema = lazy(() =>
  z.strictObject({
    name: z.string(),
    state: z.enum(serviceStates),
    /** The process (running, stopping), else null. */
    pid: z.nullable(z.int().check(z.positive())),
    restarts: z.int().check(z.minimum(0)),
    failures: z.int().check(z.minimum(0)),
    /** Ages (ms before the handoff) of recent restarts, for the storm limit. */
    restartAgesMs: z.array(z.number().check(z.minimum(0))).check(z.maxLength(10_000)),
    /** How long the current process had been running (ms) at the handoff. */
    runningForMs: z.number().check(z.minimum(0)),
    /** How long its process had been ready (ms) at the handoff, null when not yet (handoff 8; only a run ready for stable_after_ms resets the back-off). */
    readyForMs: z._default(z.nullable(z.number().check(z.minimum(0))), null),
    lastStatus: z.nullable(z.int()),
    /** A stop was requested: the service does not come back by itself. */
    stopRequested: z.boolean(),
    /** Time left (ms) on the pending timer: the grace period (stopping) or the back-off (backoff); the final wait after SIGKILL when `sigkilled`. */
    timerLeftMs: z.nullable(z.number().check(z.minimum(0))),
    /**
     * Its grace is over and it got SIGKILL: the timer is the final wait (KILL_WAIT_MS) before its run
     * is given up (handoff 12; before it the next image re-armed that time as a grace, then sent a
     * second SIGKILL and waited KILL_WAIT_MS more).
     */
    sigkilled: z._default(z.boolean(), false),
    /** Last STATUS= text from sd_notify. */
    statusText: z._default(z.nullable(z.string().check(z.maxLength(4096))), null),
    healthChecks: z._default(z.int().check(z.minimum(0)), 0),
    healthFailures: z._default(z.int().check(z.minimum(0)), 0),
    /** Why it is being killed (a failed readiness, health or watchdog check: its grace runs, then SIGKILL), else null. */
    killedFor: z._default(z.nullable(z.string().check(z.maxLength(KILLED_FOR_MAX))), null),
    /** Read ends of its output pipes, kept open across the execve, each with its unterminated line read so far (`partial`, handoff 5; at most a line's 64 KiB). */
    logFds: z._default(z.array(logFdSchema()).check(z.maxLength(LOG_FDS_MAX)), []),
    /** The number of the next line of its output (handoff 5): the next image's ring numbers on from it. */
    logNextSeq: z._default(z.int().check(z.minimum(1)), 1),
    /** The last lines of its output ring, oldest first (handoff 10): a follower reads on through the exec. */
    logTail: z._default(z.array(z.strictObject({ seq: z.int().check(z.minimum(1)), t: z.number(), line: z.string().check(z.maxLength(65536)) })).check(z.maxLength(256)), []),
    /** A restart was stopping it (handoff 5): the next image starts it once the stop is over; it stayed stopped. */
    restartPending: z._default(z.boolean(), false),
    /** A starting service: what was left (ms) of its readiness wait, EXTEND_TIMEOUT_USEC included (handoff 6), else null. */
    readyLeftMs: z._default(z.nullable(z.number().check(z.minimum(0))), null),
    /**
     * The run's process groups (what a stop, the clean-up and the throttle signal with cgroups off)
     * with their leaders' start times: a stopping service whose main process ended while its run's
     * other processes were waited for (handoff 7; images before it made such a service "pending": no
     * SIGKILL after its grace, no post_stop, and a later start ran beside the leftovers), and from
     * handoff 8 every service that holds a process (a MAINPID= worker's siblings in its exited
     * parent's group were forgotten, and escaped the stop).
     */
    leftovers: z._default(z.array(leftoverSchema()).check(z.maxLength(64)), []),
    /** How long ago (ms) its run got its stop signal (a stop, or a kill for a failed check), else null (handoff 11: the SIGKILL line says how long it was ignored, not grace_ms). */
    signalledForMs: z._default(z.nullable(z.number().check(z.minimum(0))), null),
    /** Its pre_start or post_stop still running (handoff 5): the next image waits for it, with the rest of its timeout. */
    hooks: z._default(z.array(hookSchema()).check(z.maxLength(64)), []),
  }),
);
export type ServiceSnapshot = z.infer<ReturnType<typeof serviceSnapshotSchema>>;

const notifyPartSchema = lazy(() => z.strictObject({ fd: handedFd(), address: z.string().check(z.minLength(1)) }));

/** The sd_notify socket of a services part that is unreadable as a whole (null when it names none). */
export function handedNotifyOf(part: unknown): ServicesPart["notify"] {
  if (typeof part !== "object" || part === null || !("notify" in part)) return null;
  const r = notifyPartSchema().safeParse((part as { notify: unknown }).notify);
  return r.success ? r.data : null;
}

/**
 * The services phase's part of a handoff: from handoff 8 the services and the sd_notify socket kept
 * open across the execve (notify-socket.ts, NotifyPart), from 9 with the time it was taken; before 8
 * the services' list alone.
 */
export const servicesPartSchema = lazy(() =>
  z.union([
    z.strictObject({
      services: z.array(serviceSnapshotSchema()),
      notify: z.nullable(notifyPartSchema()),
      /** CLOCK_BOOTTIME (ms) when the snapshot was taken: the next image moves its ages and timers on by the time since. */
      atBoottimeMs: z.optional(z.number().check(z.minimum(0))),
    }),
    z.array(serviceSnapshotSchema()),
  ]),
);
/** A services part as this image writes it (the object form). */
export type ServicesPart = Exclude<z.infer<ReturnType<typeof servicesPartSchema>>, unknown[]>;
