// The evolution interface as the init uses it: boot-time recovery + replay, the channel, drain per beat, checkpoints.
import { z } from "../util/zod-mini.ts";
import { ConfigError, JournalError } from "../errors.ts";
import { evolutionDefaults } from "../config/evolution-schema.ts";
import type { CheckpointRecord } from "../journal/checkpoint-record.ts";
import { Journal, type JournalOptions } from "../journal/journal.ts";
import type { HandedStateLock, StateLock } from "../journal/state-lock.ts";
import { takeStateLock } from "../journal/state-lock-handover.ts";
import { logger } from "../log.ts";
import { setInheritable } from "../sys/process.ts";
import { loadBootWeights } from "./boot-weights.ts";
import { EvolutionChannel } from "./channel.ts";
import type { ChannelStats } from "./channel-stats.ts";
import { GateConfigSchema } from "./ctrm-gate.ts";
import { adoptable, type EvolutionPart, releaseInherited, splitStateLock } from "./handover.ts";
import { journalDirOf, missingHistory, newestCheckpointFile, recordBodyProblem, writeCheckpoint } from "./persistence.ts";
import { selectLineage } from "./lineage.ts";
import { logSafetyCases } from "./safety-gate.ts";
import { SessionServer } from "./session-server.ts";
import type { Mutation } from "./slot-codec.ts";
import type { CheckpointableWeights } from "./weights.ts";

const log = logger("evolution");

/** Built on first use: the boot's settings are validated by the config schema and never pass through it (openCheckedEvolution). */
export const EvolutionConfigSchema = z.lazy(() =>
  z.object({
    /** Journal and checkpoints live here (a persistent disk). */
    stateDir: z.string().check(z.minLength(1)),
    /** The session socket goes here (root-owned, 0700): default /run/vector-boot. */
    runDir: z._default(z.string().check(z.minLength(1)), "/run/vector-boot"),
    rings: z._default(z.int().check(z.minimum(1), z.maximum(64)), evolutionDefaults.rings),
    // The config section's defaults (a library caller had 64 slots where a boot has 512).
    slots: z._default(z.int().check(z.minimum(2), z.maximum(4096), z.refine((n) => (n & (n - 1)) === 0, "must be a power of two")), evolutionDefaults.slots),
    /** Drain right away when a producer rings the doorbell (bounded by drainBudget), besides the beat. */
    autoDrain: z._default(z.boolean(), true),
    drainBudget: z._default(z.int().check(z.minimum(1)), evolutionDefaults.drain_per_beat),
    gate: z.prefault(GateConfigSchema, {}),
    /** Delete journal segments covered by the older kept checkpoint (off: keep the whole history). */
    compact: z._default(z.boolean(), evolutionDefaults.compact),
    /** Operator's choice: cut a corrupt journal instead of refusing to boot. */
    repair: z._default(z.boolean(), evolutionDefaults.repair),
  }),
);
export type EvolutionConfig = z.input<typeof EvolutionConfigSchema>;
/** The settings as the schema gives them, every default filled in: what openCheckedEvolution takes. */
export type CheckedEvolutionConfig = z.output<typeof EvolutionConfigSchema>;

/** What opening needs besides the settings: the weights, the lineage, a handed-over part, when to report. */
export interface EvolutionHooks<W extends CheckpointableWeights> {
  /** Loads the weights: from a verified checkpoint GGUF path, or the embedded base when null. */
  loadWeights(checkpointPath: string | null): W | Promise<W>;
  /**
   * SHA-256 (hex) of the base model: the state dir's history belongs to it. Another base archives
   * that history under lineages/ and starts (or resumes) its own. Omitted: no lineage is kept.
   */
  baseSha256?: string;
  /**
   * The evolution part of a live re-exec handoff (unvalidated): the channel, the listener and the
   * sessions are adopted from it; what cannot be adopted is closed (its producers reconnect).
   */
  inherited?: unknown;
  /**
   * Runs the report on whether the booted weights hold their safety cases (logSafetyCases): at once
   * when omitted; the boot hands it on to run after its first beat (1.5 ms of cold cortex code).
   */
  safetyReport?: (report: () => void) => void;
  /** Journal options: the segment size (default 64 MiB). */
  journal?: Pick<JournalOptions, "segmentBytes">;
}

export interface EvolutionOptions<W extends CheckpointableWeights> extends EvolutionConfig, EvolutionHooks<W> {}

export interface EvolutionStats extends ChannelStats {
  journalNextSeq: number;
  journalDurableSeq: number;
  journalBatches: number;
  journalFailed: string | null;
  sessions: number;
  bootCheckpoint: string | null;
  /** The checkpoint the weights were last saved to (booted from or written since): wall-clock time it was written (epoch ms; the file's mtime for one found at boot) and its age. */
  lastCheckpoint: { file: string; coveredSeq: number; writtenAt: number; ageMs: number } | null;
  replayed: number;
  /** SHA-256 of the base model this state dir's history belongs to (null: not kept). */
  lineage: string | null;
}

export interface Evolution<W extends CheckpointableWeights> {
  readonly weights: W;
  readonly socketPath: string;
  /** Takes at most `maxRecords` submissions (the heartbeat calls this every beat). Never throws. */
  drain(maxRecords: number): number;
  /** One mutation outside the rings (control socket): same gate, acknowledged after its fsync. */
  submit(m: Mutation): Promise<{ status: number; statusName: string; journalSeq: number; text: string }>;
  /** Writes a checkpoint covering every durable mutation. */
  checkpoint(): Promise<CheckpointRecord>;
  stats(): EvolutionStats;
  /**
   * Shutdown, before the final checkpoint: takes no more submissions and waits until every one taken
   * is journaled, applied and answered, so that checkpoint covers every acknowledged mutation. What
   * is left in the rings is never taken: its producers see their session end (close).
   */
  stopTaking(): Promise<void>;
  /** Stops the sessions, waits for the journal (every accepted record durable and applied), closes. */
  close(): Promise<void>;
  /**
   * Live re-exec: stops taking submissions, finishes every one taken (journaled, applied,
   * acknowledged), and keeps the memfd, the listener and the sessions open across execve.
   */
  handOver(): Promise<EvolutionPart>;
  /**
   * At the exec itself, after handOver: the state directory's lock descriptors kept open across
   * execve, so the next image holds the directory from the exec on (takeBack closes them at exec again).
   */
  handOverLock(): HandedStateLock;
  /** The exec failed: the fds close at exec again and submissions are taken again. */
  takeBack(): void;
}

/** Boot: recover the journal, load newest verified checkpoint (else base), replay, open the channel. */
export async function openEvolution<W extends CheckpointableWeights>(opts: EvolutionOptions<W>): Promise<Evolution<W>> {
  const parsed = EvolutionConfigSchema.safeParse(opts);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new ConfigError(`evolution.${i.path.join(".")}`, i.message);
  }
  return openCheckedEvolution(parsed.data, opts);
}

/**
 * openEvolution for settings that were validated already: the boot's come from its config, which the
 * config schema checked (with bounds as strict as this schema's), or are that schema's defaults. A
 * second zod pass over them, with this schema and the gate's built cold, was ~3.5 ms before the first beat.
 */
export async function openCheckedEvolution<W extends CheckpointableWeights>(cfg: CheckedEvolutionConfig, hooks: EvolutionHooks<W>): Promise<Evolution<W>> {
  // The lock handed over is taken (adopted, or closed and the directory locked anew) before anything can fail.
  const { part, stateLock } = splitStateLock(hooks.inherited);
  try {
    return await openWith(cfg, { ...hooks, inherited: part }, stateLock);
  } catch (err) {
    releaseInherited(part, "the evolution phase failed");
    throw err;
  }
}

async function openWith<W extends CheckpointableWeights>(cfg: CheckedEvolutionConfig, opts: EvolutionHooks<W>, handedLock: unknown): Promise<Evolution<W>> {
  // One writer per state dir: a second init, or an offline `journal compact`, is refused. After a
  // live re-exec the previous image's lock, held across the exec (it was let go from the exec until
  // here, after the model load: another process could take the directory and write the journal).
  const lock = takeStateLock(cfg.stateDir, handedLock);
  // What is open so far, undone in reverse if any later step throws: a PID 1 that goes on without
  // evolution kept the state dir locked, so the `journal verify --repair` it advised was refused.
  const undo: Array<() => unknown> = [() => lock.release()];
  try {
    return await openLocked(cfg, opts, lock, undo);
  } catch (err) {
    for (const u of undo.reverse()) {
      try {
        await u();
      } catch (e) {
        log.warn("cleanup after a failed evolution open failed", { error: String(e) });
      }
    }
    throw err;
  }
}

async function openLocked<W extends CheckpointableWeights>(cfg: CheckedEvolutionConfig, opts: EvolutionHooks<W>, lock: StateLock, undo: Array<() => unknown>): Promise<Evolution<W>> {
  if (opts.baseSha256 !== undefined) selectLineage(cfg.stateDir, opts.baseSha256);
  // A checkpoint file proves its records durable: damage before its sequence is never a torn tail.
  const newest = newestCheckpointFile(cfg.stateDir);
  // Its segments record the base model's SHA-256: one that records another model's is refused, never replayed.
  const journal = Journal.open(journalDirOf(cfg.stateDir), { repair: cfg.repair, durableThrough: newest?.coveredSeq ?? 0, bodyProblem: recordBodyProblem, lineage: opts.baseSha256, ...opts.journal });
  undo.push(() => journal.close());
  const missing = missingHistory(cfg.stateDir, journal.nextSeq, newest);
  if (missing !== null) throw new JournalError(missing);
  const booted = await loadBootWeights(cfg.stateDir, journal.takeRecoveredRecords(), journal.nextSeq, opts);
  const { weights, bootCheckpoint, replay } = booted;
  (opts.safetyReport ?? ((report) => report()))(() => logSafetyCases(weights));
  let { lastCheckpoint, lastCheckpointAt } = booted;

  let server: SessionServer | null = null;
  let checkpointChain: Promise<unknown> = Promise.resolve();
  let draining = false;
  const channelOpts = { geometry: { rings: cfg.rings, slots: cfg.slots }, gate: cfg.gate, journal, weights, notify: (r: number) => server?.notify(r) };
  let part = adoptable(opts.inherited, cfg);
  let channel: EvolutionChannel;
  try {
    channel = new EvolutionChannel(part ? { ...channelOpts, adopt: { fd: part.memfd, generations: part.generations, sessions: part.sessions } } : channelOpts);
  } catch (err) {
    if (!part) throw err;
    releaseInherited(part, String(err));
    part = null;
    channel = new EvolutionChannel(channelOpts);
  }
  undo.push(() => channel.close());
  const drain = (max: number): number => {
    if (draining) return 0;
    draining = true;
    try {
      return channel.drain(max);
    } catch (err) {
      log.error("drain failed", { err: String(err) });
      return 0;
    } finally {
      draining = false;
    }
  };
  let doorbellQueued = false;
  const onDoorbell = () => {
    if (!cfg.autoDrain || doorbellQueued) return;
    doorbellQueued = true;
    setImmediate(() => {
      doorbellQueued = false;
      drain(cfg.drainBudget);
    });
  };
  const listening = (server = new SessionServer(cfg.runDir, channel, onDoorbell, part ? { listener: part.listener, path: part.path } : undefined));
  undo.push(() => listening.stop());
  if (part) {
    // A listener or session not adopted is not this image's to touch (closed, or a descriptor opened since at its number).
    setInheritable(part.memfd, false);
    if (server.adoptedListener) setInheritable(part.listener, false);
    const adopted = await server.adoptSessions(part.sessions, part.path);
    log.info("producer sessions adopted across re-exec", { sessions: adopted.length });
    drain(cfg.drainBudget);
  }
  // Completions free ring space: a producer blocked on a full ring rings again, but also re-drain here.
  const srv = server;
  const takeBack = () => {
    lock.handOver(false);
    srv.handOver(false);
    setInheritable(channel.fd, false);
    channel.unpause();
    drain(cfg.drainBudget);
  };
  return {
    weights,
    socketPath: srv.path,
    drain,
    submit: (m) => channel.submitDirect(m),
    checkpoint() {
      // One checkpoint at a time: a second caller waits for the first, then writes its own if needed.
      const run = async (): Promise<CheckpointRecord> => {
        // Nothing applied since the last checkpoint: it still describes the weights.
        if (lastCheckpoint && Math.max(channel.stats.appliedSeq, replay.lastSeq) <= lastCheckpoint.coveredSeq) return lastCheckpoint;
        lastCheckpoint = await writeCheckpoint(cfg.stateDir, weights, journal, lastCheckpoint, cfg.compact);
        lastCheckpointAt = Date.now();
        return lastCheckpoint;
      };
      const p: Promise<CheckpointRecord> = checkpointChain.catch(() => undefined).then(run);
      checkpointChain = p;
      return p;
    },
    stats: () => ({
      ...channel.stats,
      rejected: { ...channel.stats.rejected },
      safety: { ...channel.stats.safety },
      journalNextSeq: journal.nextSeq,
      journalDurableSeq: journal.durableSeq,
      journalBatches: journal.stats.batches,
      journalFailed: journal.stats.failed,
      sessions: srv.sessions,
      bootCheckpoint,
      lastCheckpoint: lastCheckpoint && lastCheckpointAt !== null ? { file: lastCheckpoint.file, coveredSeq: lastCheckpoint.coveredSeq, writtenAt: lastCheckpointAt, ageMs: Math.max(0, Date.now() - lastCheckpointAt) } : null,
      replayed: replay.applied,
      lineage: opts.baseSha256 ?? null,
    }),
    async handOver() {
      await channel.quiesce();
      await checkpointChain.catch(() => undefined);
      await journal.settle();
      // From here to the execve nothing awaits: the rings and the sockets are one snapshot.
      const state = channel.state();
      let socks: ReturnType<typeof srv.handOver>;
      try {
        socks = srv.handOver(true);
        setInheritable(channel.fd, true);
      } catch (err) {
        takeBack();
        throw err;
      }
      const fdOf = new Map(socks.sessions.map((s) => [s.ring, s.fd]));
      // A session whose socket is gone (closed meanwhile) is not handed over.
      const sessions = state.sessions.flatMap((s) => (fdOf.has(s.ring) ? [{ ...s, fd: fdOf.get(s.ring)! }] : []));
      return { version: 1 as const, memfd: channel.fd, size: channel.size, rings: cfg.rings, slots: cfg.slots, generations: state.generations, listener: socks.listener, path: srv.path, sessions };
    },
    handOverLock: () => lock.handOver(true),
    takeBack,
    async stopTaking() {
      await channel.quiesce();
    },
    async close() {
      srv.stop();
      await checkpointChain.catch(() => undefined);
      await journal.settle();
      await Promise.resolve();
      channel.close();
      await journal.close();
      lock.release();
    },
  };
}
