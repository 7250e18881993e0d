// Boot phase "evolution": recover the cortex journal, load the newest checkpoint, replay, open the channel.
import type { Config } from "../config/schema.ts";
import { describeError, JournalError } from "../errors.ts";
import { openEvolution, type Evolution } from "../evolution/evolution.ts";
import { type EvolutionPart, releaseInherited } from "../evolution/handover.ts";
import { runtimeGgufExporter, runtimeWeights } from "../evolution/runtime-weights.ts";
import type { CheckpointableWeights } from "../evolution/weights.ts";
import { logger } from "../log.ts";
import type { NeuralRuntime } from "../neural/index.ts";
import { modelSha256, type ModelSource } from "../rts/model-source.ts";
import { type BootContext, sinceExecMs } from "./early-setup.ts";

const log = logger("boot");

export interface EvolutionHandle {
  evo: Evolution<CheckpointableWeights>;
  /** Heartbeat hook: takes at most the configured number of submissions. Never throws. */
  drain(): number;
  /** Shutdown: final checkpoint (best effort: the journal holds every mutation anyway), journal closed. */
  close(): Promise<void>;
  /** Live re-exec: the channel, its socket and the open sessions, kept open across execve (docs/evolution-protocol.md). */
  handOver(): Promise<EvolutionPart>;
  /** The exec failed: the running image carries on. */
  resume(): void;
}

/**
 * Opens evolution over the loaded base model. A journal that refuses to open (corruption in the
 * middle, a damaged checkpoint chain) stops a development boot (exit 74); PID 1 reports it and
 * boots on the base weights without the channel, so the operator can repair it.
 */
export async function openEvolutionPhase(
  ctx: BootContext,
  config: Config & { state_dir: string; run_dir: string },
  runtime: NeuralRuntime,
  base: ModelSource,
  inherited?: unknown,
): Promise<EvolutionHandle | null> {
  const e = config.evolution;
  if (!e.enabled) {
    log.info("phase evolution", { enabled: false });
    releaseInherited(inherited, "evolution is disabled");
    return null;
  }
  let evo: Evolution<CheckpointableWeights>;
  try {
    evo = await openEvolution({
      stateDir: config.state_dir,
      runDir: config.run_dir,
      rings: e.rings,
      slots: e.slots,
      drainBudget: e.drain_per_beat,
      compact: e.compact,
      repair: e.repair,
      baseSha256: modelSha256(base),
      inherited,
      gate: { minConfidence: e.min_confidence, maxMagnitude: e.max_magnitude, supportedTypes: e.mutable_types, protectedPrefixes: ["kernel."] },
      loadWeights: async (checkpoint) => {
        // null: the base that is already loaded (and self-tested); else a checkpoint GGUF, mapped.
        if (checkpoint !== null) await runtime.init(checkpoint);
        return runtimeWeights(runtime, runtimeGgufExporter(runtime));
      },
    });
  } catch (err) {
    // Outside PID 1 the boot stops (exit code from the error). PID 1 never powers off for it: it
    // boots on the base weights without evolution and says why.
    if (!ctx.pid1) throw err;
    const hint = err instanceof JournalError ? " (run `vector-boot journal verify --repair` if the journal is damaged)" : "";
    log.error(`evolution disabled: the evolution phase failed; booting on the base weights${hint}`, { error: describeError(err) });
    try {
      runtime.initSync(base, true); // a checkpoint may have been loaded, or replay stopped half-way
    } catch (e) {
      log.error("base model reload failed", { error: describeError(e) });
    }
    return null;
  }
  const s = evo.stats();
  log.info("phase evolution", { socket: evo.socketPath, state_dir: config.state_dir, checkpoint: s.bootCheckpoint ?? "base", replayed: s.replayed, journal_seq: s.journalNextSeq, lineage: s.lineage?.slice(0, 16) ?? "-" });
  let timer: ReturnType<typeof setTimeout> | null = null;
  // Booted from the base model and nothing applied since: the base (in the executable) already is
  // the weights, so the timer and the shutdown write no copy of it (a 512 MiB model: 512 MiB written
  // inside the shutdown deadline for nothing). The operator's `checkpoint` command still writes one.
  const stillBase = () => {
    const now = evo.stats();
    return now.bootCheckpoint === null && now.lastCheckpoint === null && now.replayed === 0 && now.appliedSeq === 0;
  };
  const tick = () => {
    if (stillBase()) return;
    evo.checkpoint().catch((err) => log.error("checkpoint failed", { error: describeError(err) }));
  };
  /**
   * Every checkpoint_every_s, counted in an image resumed by a live re-exec from the last checkpoint
   * (or from the boot, when none was written): each re-exec restarted the period, so re-execs more
   * often than it postponed checkpoints for ever, and the replay (the producers' pause) grew.
   */
  const arm = (resumed: boolean) => {
    if (e.checkpoint_every_s <= 0) return;
    const every = e.checkpoint_every_s * 1000;
    const since = resumed ? (evo.stats().lastCheckpoint?.ageMs ?? sinceExecMs(ctx)) : 0;
    timer = setTimeout(() => {
      tick();
      timer = setInterval(tick, every);
      timer.unref?.();
    }, Math.max(0, every - since));
    timer.unref?.();
  };
  arm(inherited !== undefined);
  const close = async () => {
    if (timer) clearTimeout(timer);
    // Nothing is taken from here on: mutations the doorbell took while the final checkpoint was
    // written were acknowledged after it, so it did not cover them (only the journal did).
    await evo.stopTaking();
    try {
      if (stillBase()) log.info("no checkpoint: nothing was applied to the base model");
      else {
        const c = await evo.checkpoint();
        log.info("checkpoint written", { ...(c as unknown as Record<string, string | number>) });
      }
    } catch (err) {
      log.error("final checkpoint failed; the journal still holds every mutation", { error: describeError(err) });
    }
    await evo.close();
  };
  const handOver = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    return evo.handOver();
  };
  const resume = () => {
    evo.takeBack();
    arm(false);
  };
  return { evo, drain: () => evo.drain(e.drain_per_beat), close, handOver, resume };
}
