// Boot phase "heartbeat": the fixed-period loop of src/heartbeat; ends the boot when shutdown_after elapses.
import type { Config } from "../config/schema.ts";
import { describeError, ModelError } from "../errors.ts";
import { Heartbeat } from "../heartbeat/heartbeat.ts";
import type { HeartbeatOptions, HeartbeatStats } from "../heartbeat/heartbeat-types.ts";
import type { Watchdog } from "../heartbeat/watchdog.ts";
import { logger } from "../log.ts";
import { jitInteractive } from "../util/jit-policy.ts";
import { scheduleImageTrim } from "../init/image-trim.ts";
import { clockNs } from "../sys/machine.ts";
import type { Supervisor } from "../supervisor/supervisor.ts";
import type { InterruptCarry } from "../heartbeat/interrupt-carry.ts";
import { type BootContext, sinceExecMs } from "./early-setup.ts";
import type { NeuralRuntime } from "../neural/runtime.ts";
import type { ShutdownSignals } from "./shutdown-signals.ts";

const log = logger("heartbeat");

export interface HeartbeatHandle {
  /** Stops the loop; resolves to the number of the last beat. */
  stop(): Promise<number>;
  /** The loop's statistics plus `beat` (number of the last beat), as before. */
  stats(): HeartbeatStats & { beat: number };
  /** Boot timings (ms): kernel start and our exec to the first beat; null before it. */
  timings(): Record<string, number | null>;
  /** The interrupts' state for the next image (after stop()). */
  carryInterrupts(): InterruptCarry[];
  /** CLOCK_BOOTTIME ms of the first beat of the first image (shutdown_after counts from it; null before it). */
  firstBeatBoottimeMs(): number | null;
}

export async function startHeartbeat(ctx: BootContext, config: Config, parts: { runtime: NeuralRuntime; supervisor: Supervisor; signals: ShutdownSignals; drain?: () => number; startBeat: number; interrupts?: readonly InterruptCarry[]; watchdog?: Watchdog; afterFirstBeat?: () => void; firstBeatBoottimeMs?: number }): Promise<HeartbeatHandle> {
  log.info("phase heartbeat", { period_ms: config.heartbeat_ms });
  const timing: Record<string, number | null> = { sinceKernelMs: null, sinceExecMs: null };
  const first = parts.startBeat;
  let startedAt: number | null = null;
  // The first beat of the first image (a live re-exec hands it over): shutdown_after counts from it,
  // not from each image's (re-execs more often than shutdown_after put the shutdown off for ever).
  let firstBeatBoottimeMs: number | null = parts.firstBeatBoottimeMs ?? null;
  let trim: { cancel(): void } | null = null;
  const options = (model: NeuralRuntime | null): HeartbeatOptions => ({
    periodMs: config.heartbeat_ms,
    logEvery: config.heartbeat_log_every,
    parsedConfig: config.heartbeat, // parsed with the rest of the config (config phase)
    model,
    services: parts.supervisor,
    drain: parts.drain,
    firstBeat: first,
    ...(parts.interrupts ? { interrupts: parts.interrupts } : {}),
    ...(parts.watchdog ? { watchdog: parts.watchdog } : {}),
    onShutdown: (reason) => parts.signals.request({ reason }),
    onBeat: (b) => {
      // The first beat of this image (under emulation it may be a later slot: count from it).
      if (startedAt === null) {
        timing.sinceKernelMs = clockNs("boottime") / 1e6;
        timing.sinceExecMs = sinceExecMs(ctx);
        log.info("first heartbeat", { n: b.n, since_kernel_ms: timing.sinceKernelMs.toFixed(1), since_exec_ms: timing.sinceExecMs.toFixed(1) });
        startedAt = b.startMs;
        firstBeatBoottimeMs ??= timing.sinceKernelMs;
        jitInteractive(); // the run-once boot code is behind us: the beat's own code may be compiled
        trim = scheduleImageTrim(config.image_trim_ms);
        // Work the boot put off until the first beat (the safety cases' report), after this beat.
        if (parts.afterFirstBeat) setImmediate(parts.afterFirstBeat);
      }
      if (config.shutdown_after > 0 && firstBeatBoottimeMs !== null && clockNs("boottime") / 1e6 - firstBeatBoottimeMs >= config.shutdown_after * 1000) {
        parts.signals.request({ reason: `shutdown_after=${config.shutdown_after}s` });
      }
    },
  });
  let hb: Heartbeat;
  try {
    hb = new Heartbeat(options(parts.runtime.loaded ? parts.runtime : null));
  } catch (e) {
    // A model whose cortex reads inputs hw.mmio does not have: refused outside PID 1 (exit 2; it
    // came up and exited 0), while PID 1 beats (and pets the watchdog) without the cortex.
    if (!(e instanceof ModelError) || !ctx.pid1) throw e;
    log.error("cortex disabled: the model and the hw.mmio layout disagree", { error: describeError(e) });
    hb = new Heartbeat(options(null));
  }
  hb.start();
  return {
    stop: () => {
      trim?.cancel();
      return hb.stop();
    },
    stats: () => {
      const s = hb.stats();
      return { ...s, beat: s.lastBeat };
    },
    timings: () => timing,
    carryInterrupts: () => hb.carryInterrupts(),
    firstBeatBoottimeMs: () => firstBeatBoottimeMs,
  };
}
