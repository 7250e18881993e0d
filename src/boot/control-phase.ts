// Boot phase "control": the operator's Unix socket (status, services, pixels, checkpoint, power, re-exec).
import { join } from "node:path";
import type { Config } from "../config/schema.ts";
import { bootTarget, startControlServer } from "../control/start.ts";
import type { NeuralRuntime } from "../neural/index.ts";
import type { Supervisor } from "../supervisor/supervisor.ts";
import type { EvolutionHandle } from "./evolution-phase.ts";
import type { HeartbeatHandle } from "./heartbeat-phase.ts";
import type { LoadedModel } from "./runtime-phase.ts";
import type { Closer } from "./shutdown.ts";
import type { ShutdownSignals } from "./shutdown-signals.ts";

/** Parts that appear while the boot goes on (the control socket listens before they exist). */
export interface LiveParts {
  supervisor: Supervisor | null;
  heartbeat: HeartbeatHandle | null;
}

export interface ControlParts {
  runtime: NeuralRuntime;
  model: LoadedModel;
  evolution: EvolutionHandle | null;
  live: LiveParts;
  signals: ShutdownSignals;
  generation: number;
  reexec: (path?: string) => Promise<never>;
}

/** Starts the control server (a failure is logged; the boot goes on) and registers its closer first. */
export function startControl(config: Config & { run_dir: string }, p: ControlParts, closers: Closer[]): void {
  const control = startControlServer({
    path: join(config.run_dir, "control"),
    allowGid: config.control_gid ?? null,
    target: bootTarget({
      supervisor: () => p.live.supervisor,
      requestShutdown: (r) => p.signals.request(r),
      generation: () => p.generation,
      status: () => {
        const e = p.evolution?.evo.stats();
        return {
          boot: p.live.heartbeat?.timings() ?? null,
          heartbeat: p.live.heartbeat?.stats() ?? null,
          model: { name: p.model.info.name, origin: p.model.source.origin, path: p.model.source.path, tensors: p.model.info.tensors, parameters: p.model.info.parameters, bytesMapped: p.model.source.size, matvecWorkers: p.runtime.getStats().workers },
          journal: e ? { nextSeq: e.journalNextSeq, durableSeq: e.journalDurableSeq, failed: e.journalFailed } : null,
        };
      },
      stats: () => ({ runtime: p.runtime.getStats(), heartbeat: p.live.heartbeat?.stats() ?? null, evolution: p.evolution?.evo.stats() ?? null }),
      executePixels: (px) => p.runtime.executePixels(px),
      ...(p.evolution
        ? {
            checkpoint: () => p.evolution!.evo.checkpoint(),
            submitMutation: (m) => p.evolution!.evo.submit({ tensor: m.tensor, elementOffset: m.offset, values: Float32Array.from(m.values), confidence: m.confidence }),
          }
        : {}),
      reexec: p.reexec,
    }),
  });
  if (control) closers.unshift({ name: "control socket", close: () => control.close() });
}
