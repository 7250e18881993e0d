// Boot phase "heartbeat": start the fixed-period loop; ends the boot when shutdown_after elapses.
import type { Config } from "../config/schema.ts";
import { logger } from "../log.ts";
import { clockNs } from "../sys/machine.ts";
import type { Supervisor } from "../supervisor/supervisor.ts";
import type { BootContext } from "./early-setup.ts";
import type { NeuralRuntime } from "../neural/index.ts";
import type { ShutdownSignals } from "./shutdown-signals.ts";

const log = logger("heartbeat");

export interface HeartbeatHandle {
  /** Stops the loop; resolves to the number of the last beat. */
  stop(): Promise<number>;
  stats(): { beat: number; periodMs: number };
  /** Boot timings (ms): kernel start and our exec to the first beat; null before it. */
  timings(): Record<string, number | null>;
}

export async function startHeartbeat(ctx: BootContext, config: Config, parts: { runtime: NeuralRuntime; supervisor: Supervisor; signals: ShutdownSignals; drain?: () => number; startBeat: number }): Promise<HeartbeatHandle> {
  log.info("phase heartbeat", { period_ms: config.heartbeat_ms });
  const period = config.heartbeat_ms;
  const start = performance.now();
  const first = parts.startBeat;
  let beat = first;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timing: Record<string, number | null> = { sinceKernelMs: null, sinceExecMs: null };
  const tick = () => {
    beat++;
    if (beat === first + 1) {
      const sinceKernel = clockNs("boottime") / 1e6;
      const sinceExec = (clockNs("boottime") - ctx.execBoottimeNs) / 1e6;
      timing.sinceKernelMs = sinceKernel;
      timing.sinceExecMs = sinceExec;
      log.info("first heartbeat", { n: beat, since_kernel_ms: sinceKernel.toFixed(1), since_exec_ms: sinceExec.toFixed(1) });
    }
    parts.drain?.();
    if (config.heartbeat_log_every > 0 && beat % config.heartbeat_log_every === 0) log.info("beat", { n: beat });
    if (config.shutdown_after > 0 && performance.now() - start >= config.shutdown_after * 1000) {
      parts.signals.request({ reason: `shutdown_after=${config.shutdown_after}s` });
      return;
    }
    timer = setTimeout(tick, Math.max(0, start + (beat - first + 1) * period - performance.now()));
  };
  timer = setTimeout(tick, period);
  return {
    stats: () => ({ beat, periodMs: period }),
    timings: () => timing,
    async stop() {
      if (timer) clearTimeout(timer);
      timer = null;
      return beat;
    },
  };
}
