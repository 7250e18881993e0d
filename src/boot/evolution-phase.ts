// Boot phase "evolution": recover the cortex journal, load the newest checkpoint, replay, open the channel.
import type { Config } from "../config/schema.ts";
import type { HandedStateLock } from "../journal/state-lock.ts";
import { describeError, ForeignSegmentError, JournalError, ModelError } from "../errors.ts";
import { type CheckedEvolutionConfig, openCheckedEvolution, type Evolution } from "../evolution/evolution.ts";
import { type EvolutionPart, releaseInherited } from "../evolution/handover.ts";
import { runtimeGgufExporter, runtimeWeights } from "../evolution/runtime-weights.ts";
import type { CheckpointableWeights } from "../evolution/weights.ts";
import { logger } from "../log.ts";
import type { NeuralRuntime } from "../neural/runtime.ts";
import { modelSha256, type ModelSource } from "../rts/model-source.ts";
import { type LoadedModel, openBaseModel } from "./runtime-phase.ts";
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
  /** At the exec itself: the state directory's lock kept across execve (handoff 12), for the next image to adopt. */
  handOverLock(): HandedStateLock;
  /** The exec failed: the running image carries on. */
  resume(): void;
  /** The boot's report on the safety cases of the booted weights: after the first beat, once (later calls do nothing). */
  reportSafety(): void;
}

/**
 * The evolution settings of a config, as the evolution schema would give them: the config schema
 * checked them (its bounds as strict as the evolution and gate schemas'), or they are its defaults,
 * so they are not validated twice (test/evolution/boot-settings-match-schema pins the two together).
 */
export function evolutionSettings(config: Config & { state_dir: string; run_dir: string }): CheckedEvolutionConfig {
  const e = config.evolution;
  return {
    stateDir: config.state_dir,
    runDir: config.run_dir,
    rings: e.rings,
    slots: e.slots,
    autoDrain: true,
    drainBudget: e.drain_per_beat,
    gate: { minConfidence: e.min_confidence, maxMagnitude: e.max_magnitude, supportedTypes: [...e.mutable_types], protectedPrefixes: ["kernel."] },
    compact: e.compact,
    repair: e.repair,
  };
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
  model: LoadedModel,
  inherited?: unknown,
): Promise<EvolutionHandle | null> {
  const base = model.source;
  const e = config.evolution;
  if (!e.enabled) {
    log.info("phase evolution", { enabled: false });
    releaseInherited(inherited, "evolution is disabled");
    return null;
  }
  let evo: Evolution<CheckpointableWeights>;
  // Off the path to the first beat: the verdict cannot change before it runs (a cortex mutation is
  // admitted only if every case holds after it, so weights that fail keep failing, weights that hold keep holding).
  let safetyReport: (() => void) | null = null;
  try {
    evo = await openCheckedEvolution(evolutionSettings(config), {
      baseSha256: modelSha256(base),
      inherited,
      safetyReport: (report) => (safetyReport = report),
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
    const hint = operatorHint(err, config.state_dir);
    log.error(`evolution disabled: the evolution phase failed; booting on the base weights${hint}`, { error: describeError(err) });
    try {
      // A checkpoint may have been loaded, or replay stopped half-way: the base again.
      model.source = reloadBase(config, runtime, model, base);
      log.info("base weights reloaded", { origin: model.source.origin, path: model.source.path });
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
    safetyReport = null; // a boot that fails right after its first beat frees the runtime it reads
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
    safetyReport = null;
    if (timer) clearTimeout(timer);
    timer = null;
    return evo.handOver();
  };
  const resume = () => {
    evo.takeBack();
    arm(false);
  };
  const reportSafety = () => {
    const report = safetyReport;
    safetyReport = null;
    try {
      report?.();
    } catch (err) {
      log.error("safety cases not checked", { error: describeError(err) });
    }
  };
  return { evo, drain: () => evo.drain(e.drain_per_beat), close, handOver, handOverLock: () => evo.handOverLock(), resume, reportSafety };
}

/**
 * What the operator does about a journal that refused to open. Another model's segment is not
 * damage: `journal verify --repair` refuses to cut it (it would delete that history, and this
 * model's after it), so the hint for it is to move it out.
 */
function operatorHint(err: unknown, stateDir: string): string {
  if (err instanceof ForeignSegmentError) {
    return ` (${err.segment} is another base model's history, which \`journal verify --repair\` does not remove: move it and that model's other segments out of ${err.journalDir}; \`vector-boot journal inspect --state ${stateDir}\` shows each segment's lineage)`;
  }
  return err instanceof JournalError ? " (run `vector-boot journal verify --repair` if the journal is damaged)" : "";
}

/**
 * The base model in a mapping of its own. Loading a checkpoint unmapped the one the runtime phase
 * made (the runtime owns what it loads), and loading that one again read unmapped memory: PID 1 died
 * of SIGSEGV. The base is opened again as the runtime phase opened it and must be the same model
 * (its SHA-256, the lineage's): a file replaced since the boot is refused, not booted.
 */
function reloadBase(config: Config, runtime: NeuralRuntime, model: LoadedModel, base: ModelSource): ModelSource {
  // As the runtime phase opened it (same verify / in-place choices): it opened its own way before, and
  // an RTS package's recorded tensor.sha256, checked at boot, was not checked again here.
  const fresh = openBaseModel(config, model.opened);
  try {
    if (modelSha256(fresh) !== modelSha256(base)) throw new ModelError(`the base model in ${fresh.path} is not the one this boot started with (SHA-256 ${modelSha256(fresh).slice(0, 16)}, booted ${modelSha256(base).slice(0, 16)})`);
    runtime.initSync(fresh, true);
  } catch (e) {
    fresh.unmap();
    throw e;
  }
  return fresh;
}
