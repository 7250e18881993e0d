// Zod schema of the `heartbeat` config section: sampling, watchdog, and the handler of each neural interrupt.
import { intIn as int, recordOf, z } from "../util/zod-mini.ts";

export const interruptActions = ["log", "throttle", "restart", "stop", "relieve_memory", "shutdown"] as const;
export type InterruptAction = (typeof interruptActions)[number];
/** The actions that apply to one service, named by the handler's `target`. */
export const targetedActions: readonly InterruptAction[] = ["throttle", "restart", "stop"];
/** What a `target` may be besides a service name (the dispatcher resolves each at the interrupt). */
export const targetWords = ["cause", "top_cpu", "top_rss"] as const;

export const interruptHandlerSchema = z.strictObject({
  action: z._default(z.enum(interruptActions), "log"),
  /**
   * Service the action applies to (throttle, restart, stop): a service name, "cause" (the service
   * whose svc.N.* input contributes most to the score, else by the kind of input: top_rss for memory,
   * top_cpu otherwise), "top_cpu" or "top_rss".
   */
  target: z._default(z.string().check(z.minLength(1), z.maxLength(64)), "cause"),
  /** Throttle: fraction of each duty period the service may run. */
  duty: z._default(z.number().check(z.minimum(0.01), z.maximum(1)), 0.2),
  duty_period_ms: z._default(int(10, 10_000), 100),
  /** Throttle: kept at least this long, then released once the interrupt has cleared (no flapping). */
  hold_ms: z._default(int(0, 86_400_000), 5_000),
  /** While the interrupt stays raised, repeat the action after this long (0: only when raised). */
  repeat_ms: z._default(int(0, 86_400_000), 0),
});
export type InterruptHandler = z.infer<typeof interruptHandlerSchema>;

export const heartbeatConfigSchema = z.strictObject({
  /** Metabolic sampling period (ms); 0 = the heartbeat period. */
  sample_ms: z._default(int(0, 60_000), 0),
  /** Process and zombie counts (one read of every /proc/PID/stat) refreshed at most this often (ms; 0 = every sample). */
  procs_ms: z._default(int(0, 600_000), 1000),
  /** Time constant of the first-order smoothing of CPU use and rates (ms; 0 = raw). */
  smoothing_ms: z._default(int(0, 600_000), 250),
  /** Hardware watchdog device petted every beat when it exists; false: never opened. */
  watchdog: z._default(z.union([z.string().check(z.minLength(1)), z.literal(false)]), "/dev/watchdog"),
  /** Timers may fire early: the beat sleeps until this long before its due time, then waits precisely (ms). */
  guard_ms: z._default(z.number().check(z.minimum(0), z.maximum(20)), 2),
  /**
   * How the precise part of the wait ends: "futex" (this thread blocks in a futex wait with a
   * timeout) or "sleeper" (a thread whose only job is clock_nanosleep(TIMER_ABSTIME) wakes it).
   */
  wake: z._default(z.enum(["futex", "sleeper"]), "futex"),
  /** SCHED_FIFO priority of the sleeper thread (1..99; 0: normal scheduling). Needs CAP_SYS_NICE (PID 1 has it). */
  sleeper_fifo_priority: z._default(int(0, 99), 0),
  /** Evolution records drained per beat at most. */
  drain_max: z._default(int(0, 1_000_000), 64),
  /** A sample older than this many periods (at least 1 s and 3 sampling intervals) restarts the worker. */
  stale_periods: z._default(int(2, 10_000), 20),
  proc_root: z._default(z.string(), "/proc"),
  sys_root: z._default(z.string(), "/sys"),
  /** Handler per interrupt name (the model's `vectorland.cortex.output_names`); others only log. */
  interrupts: z._default(recordOf(z.string(), interruptHandlerSchema), {}),
});
export type HeartbeatConfig = z.infer<typeof heartbeatConfigSchema>;
export type HeartbeatConfigInput = z.input<typeof heartbeatConfigSchema>;
