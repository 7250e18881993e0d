// fleet-applied.json: the last fleet revision a node applied, and the etcd cluster it is a revision of.
import { existsSync } from "node:fs";
import { z } from "zod";
import { logger } from "../log.ts";
import { writeFileAtomicAsync } from "../journal/fs-durable.ts";
import { issuesText } from "../util/issues-text.ts";
import { readRegularFile } from "../util/regular-file.ts";

const log = logger("fleet");
const SAVE_EVERY_MS = 250;

/** The file's schema; `cluster_id` is absent in files written before it was recorded. */
const appliedSchema = z.object({ revision: z.number().int().min(0), cluster_id: z.string().max(64).optional() }).strict();

/** The revision saved in `file`, or why it cannot be read (not a regular file, not JSON, not the schema); never blocks on a FIFO. */
export function readApplied(file: string): { revision: number; clusterId: string | null; why?: undefined } | { revision: null; why: string } {
  let json: unknown;
  try {
    json = JSON.parse(readRegularFile(file).toString("utf8"));
  } catch (e) {
    return { revision: null, why: (e instanceof Error ? e.message : String(e)).slice(0, 200) };
  }
  const r = appliedSchema.safeParse(json);
  return r.success ? { revision: r.data.revision, clusterId: r.data.cluster_id ?? null } : { revision: null, why: issuesText(r.error.issues, "value").slice(0, 200) };
}

/** Replaces `file` with `revision` of the etcd cluster `clusterId` (null: not known), durably, off the event loop. */
export function writeApplied(file: string, revision: number, clusterId: string | null): Promise<void> {
  return writeFileAtomicAsync(file, [new TextEncoder().encode(JSON.stringify({ revision, ...(clusterId !== null ? { cluster_id: clusterId } : {}) }))]);
}

/**
 * A node's applied revision, read from `file` at start and saved there (fsync) at most every 250 ms,
 * and at the latest 250 ms after the last advance (and at stop).
 */
export class AppliedRevision {
  private applied = 0;
  /** The etcd cluster `applied` is a revision of (null: not known yet, or a file from before it was saved). */
  private clusterId: string | null = null;
  private saved = -1;
  private savedAt = 0;
  /** The save the throttle put off, due when it allows one (a batch with no batch after it stayed unsaved until the next batch or the stop). */
  private saveTimer: ReturnType<typeof setTimeout> | null = null;
  /** Saves run one after another (a timer's may meet a batch's). */
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {
    if (existsSync(file)) {
      // Never throws: a damaged file (truncated JSON, a directory, a FIFO) must not stop PID 1's boot.
      const r = readApplied(file);
      if (r.revision !== null) {
        this.applied = r.revision;
        this.clusterId = r.clusterId;
      } else log.error("fleet applied revision unreadable: catching up from the start (re-applying is harmless)", { file, why: r.why });
    }
  }

  get revision(): number {
    return this.applied;
  }

  /**
   * Moves to `revision` (nothing when it is not above the current one). At most every 250 ms, and at
   * the latest 250 ms after the last batch (and at stop): a revision saved late means re-applying
   * those mutations after a crash, over whatever local mutations wrote to the same ranges since
   * (acks are create-only: none is written twice).
   */
  async advance(revision: number): Promise<void> {
    if (revision <= this.applied) return;
    this.applied = revision;
    const wait = SAVE_EVERY_MS - (performance.now() - this.savedAt);
    if (wait <= 0) await this.save();
    else
      this.saveTimer ??= setTimeout(() => {
        this.saveTimer = null;
        void this.save();
      }, wait);
  }

  /** Jumps to `revision` (a checkpoint's) and saves it now. */
  async jump(revision: number): Promise<void> {
    this.applied = revision;
    await this.save();
  }

  /**
   * A saved revision of another etcd cluster (a disk image or state dir copied from another fleet,
   * etcd rebuilt or restored from a snapshot: a new cluster id), or one past what this cluster has
   * reached, counts for nothing: the node catches up from the start (re-applying is harmless). It
   * was taken as it was: every mutation at or below it was skipped without a word, and acked by no
   * one (`fleet mutate --wait` timed out on the node, `fleet gc` waited for it).
   */
  sameHistory(clusterId: string | null, revision: number): void {
    const other = clusterId !== null && this.clusterId !== null && clusterId !== this.clusterId;
    if (other || this.applied > revision) {
      log.warn("fleet applied revision is not of this etcd cluster's history: catching up from the start (re-applying is harmless)", { applied: this.applied, saved_cluster: this.clusterId, cluster: clusterId, cluster_revision: revision });
      this.applied = 0;
      this.saved = -1;
    }
    if (clusterId !== null && clusterId !== this.clusterId) {
      this.clusterId = clusterId;
      this.saved = -1;
    }
  }

  save(): Promise<void> {
    this.saving = this.saving.then(() => this.saveNow());
    return this.saving;
  }

  /** The last save, the throttle's put-off one too. */
  async stop(): Promise<void> {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    await this.save();
  }

  /** Never throws. */
  private async saveNow(): Promise<void> {
    if (this.saved === this.applied) return;
    const rev = this.applied;
    this.savedAt = performance.now();
    try {
      await writeApplied(this.file, rev, this.clusterId);
      this.saved = rev;
    } catch (e) {
      // Not fatal (a directory in the way, a full disk): after a restart the node re-applies, which is harmless.
      if (this.saved !== -2) log.error("fleet applied revision not saved (re-applied after a restart; harmless)", { file: this.file, error: String(e).slice(0, 200) });
      this.saved = -2;
    }
  }
}
