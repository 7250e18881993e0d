// Boot phase "control": the operator's Unix socket (status, services, pixels, checkpoint, power, re-exec).
import { join } from "node:path";
import { controlPartSchema, type ControlPart } from "../control/handed-listener.ts";
import { bootTarget, startControlServer } from "../control/start.ts";
import { logger } from "../log.ts";
import { issuesText } from "../util/issues-text.ts";
import { sinceExecMs } from "./early-setup.ts";
import { handedOver, type Boot, type PhaseRun } from "./phase.ts";

const log = logger("control");

/**
 * Starts the control server over the live boot state (parts that appear later, such as the
 * supervisor and the heartbeat, are read when asked). Returns its close and its hold over a live
 * re-exec's handover, or null when it could not listen (logged; the boot goes on).
 */
export function startControl(b: Boot): PhaseRun | null {
  const runtime = b.runtime!;
  const model = b.model!;
  const evolution = b.evolution;
  const control = startControlServer({
    path: join(b.config.run_dir, "control"),
    handed: handedListener(b),
    allowGid: b.config.control_gid ?? null,
    target: bootTarget({
      supervisor: () => b.supervisor,
      requestShutdown: (r) => b.signals.request(r),
      shutdownUnderway: () => {
        const r = b.signals.current;
        return r ? { reason: r.reason, mode: r.mode ?? b.config.shutdown } : null;
      },
      generation: () => b.generation,
      // Since the init's process started (a live re-exec keeps the process): this image's own
      // clock said "up 135 ms" after a re-exec.
      uptimeMs: () => sinceExecMs(b.ctx),
      status: () => {
        const e = evolution?.evo.stats();
        const rs = runtime.getStats();
        return {
          boot: b.heartbeat?.timings() ?? null,
          heartbeat: b.heartbeat?.stats() ?? null,
          model: { name: model.info.name, origin: model.source.origin, path: model.source.path, tensors: model.info.tensors, parameters: model.info.parameters, bytesMapped: model.source.size, matvecWorkers: rs.workers, matvecKernel: rs.matvecKernel, workerKernels: rs.workerKernels },
          journal: e ? { nextSeq: e.journalNextSeq, durableSeq: e.journalDurableSeq, failed: e.journalFailed, checkpoint: e.lastCheckpoint } : null,
          fleet: b.fleetRole?.() ?? null,
        };
      },
      stats: () => ({ runtime: runtime.getStats(), heartbeat: b.heartbeat?.stats() ?? null, evolution: evolution?.evo.stats() ?? null }),
      executePixels: (px) => runtime.executePixels(px),
      ...(evolution
        ? {
            checkpoint: () => evolution.evo.checkpoint(),
            submitMutation: (m) => evolution.evo.submit({ tensor: m.tensor, elementOffset: m.offset, values: Float32Array.from(m.values), confidence: m.confidence }),
          }
        : { unsupported: { mutate: evolutionOff(b), checkpoint: evolutionOff(b) } }),
      reexec: (path) => b.reexec!(path),
    }),
  });
  // The wait for `logs -f` followers is a courtesy: at most half of what is left of the shutdown
  // deadline, so the phases after it (the journal's flush and final checkpoint, the unmount) keep the rest.
  if (!control) return null;
  return {
    stop: (leftMs) => control.closeAfterFollowers(leftMs / 2),
    // From before the first part is written: a start carried out after the services' snapshot ran unwatched under the new image.
    beginHandover: () => control.holdChanges(),
    // At the exec (nothing runs between it and the execve): the listener is inheritable for that exec only.
    handoffAtExec: () => control.handOver(),
    endHandover: () => control.releaseChanges(),
  };
}

/** The listener the previous image handed over (handoff 6), or null: a fresh boot, an older image's handoff (bound anew, as then). */
function handedListener(b: Boot): ControlPart | null {
  const part = handedOver(b, "control");
  if (part === undefined) return null;
  const r = controlPartSchema().safeParse(part);
  if (r.success) return r.data;
  log.warn("control part of the handoff unreadable; listening anew", { error: issuesText(r.error.issues) });
  return null;
}

/** Why this instance has no evolution (mutate and checkpoint answer `not_supported` with it). */
function evolutionOff(b: Boot): string {
  if (!b.config.evolution.enabled) return "evolution is disabled (config evolution.enabled, or vector.evolution=0)";
  if (b.stateDiskMissing) return `evolution is off: the state disk (${b.stateDiskMissing}) is not mounted`;
  return "evolution is off: its boot phase failed (the boot log says why)";
}
