// Zod schema of the `heartbeat` config section: sampling, watchdog, and the handler of each neural interrupt.
import { z } from "zod";

export const interruptActions = ["log", "throttle", "restart", "stop", "relieve_memory", "shutdown"] as const;
export type InterruptAction = (typeof interruptActions)[number];

export const interruptHandlerSchema = z
  .object({
    action: z.enum(interruptActions).default("log"),
    /**
     * Service the action applies to (throttle, restart, stop): a service name, "cause" (the service
     * whose svc.N.* input contributes most to the score, else by the kind of input: top_rss for memory,
     * top_cpu otherwise), "top_cpu" or "top_rss".
     */
    target: z.string().min(1).max(64).default("cause"),
    /** Throttle: fraction of each duty period the service may run. */
    duty: z.number().min(0.01).max(1).default(0.2),
    duty_period_ms: z.number().int().min(10).max(10_000).default(100),
    /** Throttle: kept at least this long, then released once the interrupt has cleared (no flapping). */
    hold_ms: z.number().int().min(0).max(86_400_000).default(5_000),
    /** While the interrupt stays raised, repeat the action after this long (0: only when raised). */
    repeat_ms: z.number().int().min(0).max(86_400_000).default(0),
  })
  .strict();
export type InterruptHandler = z.infer<typeof interruptHandlerSchema>;

export const heartbeatConfigSchema = z
  .object({
    /** Metabolic sampling period (ms); 0 = the heartbeat period. */
    sample_ms: z.number().int().min(0).max(60_000).default(0),
    /** Time constant of the first-order smoothing of CPU use and rates (ms; 0 = raw). */
    smoothing_ms: z.number().int().min(0).max(600_000).default(250),
    /** Hardware watchdog device petted every beat when it exists; false: never opened. */
    watchdog: z.union([z.string().min(1), z.literal(false)]).default("/dev/watchdog"),
    /** Timers may fire early: the beat sleeps until this long before its due time, then waits precisely (ms). */
    guard_ms: z.number().min(0).max(20).default(2),
    /**
     * How the precise part of the wait ends: "futex" (this thread blocks in a futex wait with a
     * timeout) or "sleeper" (a thread whose only job is clock_nanosleep(TIMER_ABSTIME) wakes it).
     */
    wake: z.enum(["futex", "sleeper"]).default("futex"),
    /** SCHED_FIFO priority of the sleeper thread (1..99; 0: normal scheduling). Needs CAP_SYS_NICE (PID 1 has it). */
    sleeper_fifo_priority: z.number().int().min(0).max(99).default(0),
    /** Evolution records drained per beat at most. */
    drain_max: z.number().int().min(0).max(1_000_000).default(64),
    /** A sample older than this many periods (at least 1 s and 3 sampling intervals) restarts the worker. */
    stale_periods: z.number().int().min(2).max(10_000).default(20),
    proc_root: z.string().default("/proc"),
    sys_root: z.string().default("/sys"),
    /** Handler per interrupt name (the model's `vectorland.cortex.output_names`); others only log. */
    interrupts: z.record(z.string(), interruptHandlerSchema).default({}),
  })
  .strict();
export type HeartbeatConfig = z.infer<typeof heartbeatConfigSchema>;
export type HeartbeatConfigInput = z.input<typeof heartbeatConfigSchema>;
