// Live re-exec wiring: SIGHUP or a control request checks the new image, freezes the beat, hands over, execs.
import type { BootOptions } from "../cli/boot.ts";
import type { Config } from "../config/schema.ts";
import { describeError, InputError } from "../errors.ts";
import type { Reaper } from "../init/reaper.ts";
import { logger } from "../log.ts";
import type { NeuralRuntime } from "../neural/index.ts";
import type { LiveParts } from "./control-phase.ts";
import type { BootContext } from "./early-setup.ts";
import { preflight, reexec, selfExecutable, type Handoff } from "./handoff.ts";
import { startHeartbeat } from "./heartbeat-phase.ts";
import type { ShutdownSignals } from "./shutdown-signals.ts";

const log = logger("reexec");

export interface ReexecParts {
  ctx: BootContext;
  config: Config & { run_dir: string };
  opts: BootOptions;
  handoff: Handoff | null;
  reaper: Reaper;
  runtime: NeuralRuntime;
  signals: ShutdownSignals;
  drain?: () => number;
  live: LiveParts;
  /** Resolves when the beat runs: a request that comes earlier waits for it. */
  booted: Promise<void>;
}

/**
 * Returns the re-exec function (it only returns by throwing: the new image was refused or the exec
 * failed, and the running image carries on with a fresh beat) and routes SIGHUP to it.
 */
export function armReexec(p: ReexecParts): (path?: string) => Promise<never> {
  const doReexec = async (path = selfExecutable()): Promise<never> => {
    await p.booted;
    const { supervisor, heartbeat } = p.live;
    if (!supervisor || !heartbeat) throw new InputError("re-exec: the boot has not finished");
    await preflight(path, p.reaper);
    const beat = await heartbeat.stop();
    const state = { version: 1 as const, generation: (p.handoff?.generation ?? 0) + 1, execBoottimeNs: p.ctx.execBoottimeNs, bootArgs: p.opts, beat, services: supervisor.snapshot(), parts: {} };
    const err = reexec(state, p.config.run_dir, path);
    p.live.heartbeat = await startHeartbeat(p.ctx, p.config, { runtime: p.runtime, supervisor, signals: p.signals, drain: p.drain, startBeat: beat });
    throw err;
  };
  p.signals.onReexec = (path) => doReexec(path).catch((e) => log.error("re-exec refused; the running image carries on", { error: describeError(e) }));
  return doReexec;
}
