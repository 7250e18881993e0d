// Zod schema of the `heartbeat` config section (sampling, watchdog, each neural interrupt's handler), built on first use, and its defaults as data.
import { intIn as int, recordOf, z } from "../util/zod-mini.ts";

export const interruptActions = ["log", "throttle", "restart", "stop", "relieve_memory", "shutdown"] as const;
export type InterruptAction = (typeof interruptActions)[number];
/** The actions that apply to one service, named by the handler's `target`. */
export const targetedActions: readonly InterruptAction[] = ["throttle", "restart", "stop"];
/** What a `target` may be besides a service name (the dispatcher resolves each at the interrupt). */
export const targetWords = ["cause", "top_cpu", "top_rss"] as const;

/** A handler's defaults (the schema's); an interrupt with no handler configured only logs. */
export const interruptHandlerDefaults = { action: "log", target: "cause", duty: 0.2, duty_period_ms: 100, hold_ms: 5_000, repeat_ms: 0 } as const;

export const interruptHandlerSchema = z.lazy(() =>
  z.strictObject({
    action: z._default(z.enum(interruptActions), interruptHandlerDefaults.action),
    /**
     * Service the action applies to (throttle, restart, stop): a service name, "cause" (the service
     * whose svc.N.* input contributes most to the score, else by the kind of input: top_rss for memory,
     * top_cpu otherwise), "top_cpu" or "top_rss".
     */
    target: z._default(z.string().check(z.minLength(1), z.maxLength(64)), interruptHandlerDefaults.target),
    /** Throttle: fraction of each duty period the service may run. */
    duty: z._default(z.number().check(z.minimum(0.01), z.maximum(1)), interruptHandlerDefaults.duty),
    duty_period_ms: z._default(int(10, 10_000), interruptHandlerDefaults.duty_period_ms),
    /** Throttle: kept at least this long, then released once the interrupt has cleared (no flapping). */
    hold_ms: z._default(int(0, 86_400_000), interruptHandlerDefaults.hold_ms),
    /** While the interrupt stays raised, repeat the action after this long (0: only when raised). */
    repeat_ms: z._default(int(0, 86_400_000), interruptHandlerDefaults.repeat_ms),
  }).check(
    // A run time under 1 ms a period cannot be kept: cpu.max's quota is at least 1000 us (duty 0.01
    // of 10 ms ran 10 %), and the SIGSTOP/SIGCONT fallback's timers are coarser still.
    z.refine((h) => h.action !== "throttle" || h.duty * h.duty_period_ms >= 1, { message: "duty x duty_period_ms is under 1 ms of run time a period: no throttle can keep it (raise either)", path: ["duty"] }),
  ),
);
export type InterruptHandler = z.infer<typeof interruptHandlerSchema>;

/** The section's defaults: the schema's, and what a boot with no config file takes without building it. */
export const heartbeatDefaults = {
  sample_ms: 0,
  procs_ms: 1000,
  smoothing_ms: 250,
  watchdog: "/dev/watchdog",
  guard_ms: 2,
  wake: "futex",
  sleeper_fifo_priority: 0,
  beat_fifo_priority: 1,
  drain_max: 64,
  stale_periods: 20,
  proc_root: "/proc",
  sys_root: "/sys",
} as const;

export const heartbeatConfigSchema = z.lazy(() =>
  z.strictObject({
    /** Metabolic sampling period (ms); 0 = the heartbeat period. */
    sample_ms: z._default(int(0, 60_000), heartbeatDefaults.sample_ms),
    /** Process and zombie counts (one read of every /proc/PID/stat) refreshed at most this often (ms; 0 = every sample). */
    procs_ms: z._default(int(0, 600_000), heartbeatDefaults.procs_ms),
    /** Time constant of the first-order smoothing of CPU use and rates (ms; 0 = raw). */
    smoothing_ms: z._default(int(0, 600_000), heartbeatDefaults.smoothing_ms),
    /** Hardware watchdog device petted every beat when it exists; false: never opened. */
    watchdog: z._default(z.union([z.string().check(z.minLength(1)), z.literal(false)]), heartbeatDefaults.watchdog),
    /** Timers may fire early: the beat sleeps until this long before its due time, then waits precisely (ms). */
    guard_ms: z._default(z.number().check(z.minimum(0), z.maximum(20)), heartbeatDefaults.guard_ms),
    /**
     * How the precise part of the wait ends: "futex" (this thread blocks in a futex wait with a
     * timeout) or "sleeper" (a thread whose only job is clock_nanosleep(TIMER_ABSTIME) wakes it).
     */
    wake: z._default(z.enum(["futex", "sleeper"]), heartbeatDefaults.wake),
    /** SCHED_FIFO priority of the sleeper thread (1..99; 0: normal scheduling). Needs CAP_SYS_NICE (PID 1 keeps it while one is set). */
    sleeper_fifo_priority: z._default(int(0, 99), heartbeatDefaults.sleeper_fifo_priority),
    /**
     * SCHED_FIFO priority of the beat thread (the init's main thread) from the precise wait through
     * the tick, SCHED_OTHER the rest of the period (1..99; 0: normal scheduling throughout). Needs
     * CAP_SYS_NICE (PID 1 keeps it while this is above 0: boot/privileges.ts); refused, the beats
     * wait as before.
     */
    beat_fifo_priority: z._default(int(0, 99), heartbeatDefaults.beat_fifo_priority),
    /** Evolution records drained per beat at most. */
    drain_max: z._default(int(0, 1_000_000), heartbeatDefaults.drain_max),
    /** A sample older than this many periods (at least 1 s and 3 sampling intervals) restarts the worker. */
    stale_periods: z._default(int(2, 10_000), heartbeatDefaults.stale_periods),
    /** Absolute: "" or a relative path was read from the init's directory, every source missing, the cortex blind without a word. */
    proc_root: z._default(z.string().check(z.regex(/^\//, "must be an absolute path")), heartbeatDefaults.proc_root),
    sys_root: z._default(z.string().check(z.regex(/^\//, "must be an absolute path")), heartbeatDefaults.sys_root),
    /** Handler per interrupt name (the model's `vectorland.cortex.output_names`); others only log. */
    interrupts: z._default(recordOf(z.string(), interruptHandlerSchema), () => ({})),
  }),
);
export type HeartbeatConfig = z.infer<typeof heartbeatConfigSchema>;
export type HeartbeatConfigInput = z.input<typeof heartbeatConfigSchema>;

/** The section as the schema gives it for `{}` (a fresh object: a caller may change its copy). */
export function defaultHeartbeat(): HeartbeatConfig {
  return { ...heartbeatDefaults, interrupts: {} };
}
