// The weights evolution boots with: the newest verified checkpoint that loads (else the base model), then the journal records it does not cover replayed.
import { statSync } from "node:fs";
import { JournalError } from "../errors.ts";
import type { CheckpointRecord } from "../journal/checkpoint-record.ts";
import type { JournalRecord } from "../journal/recovery.ts";
import { logger } from "../log.ts";
import { checkpointDirOf, checkpointRecords, removeStaleTemps, replayMutations, type ReplayResult, verifiedCheckpoints } from "./persistence.ts";
import type { CheckpointableWeights } from "./weights.ts";

const log = logger("evolution");

export interface BootWeights<W> {
  weights: W;
  /** The checkpoint the weights were loaded from (its path); null: the base model. */
  bootCheckpoint: string | null;
  /** That checkpoint's record in the journal and its file's mtime (epoch ms); null when not found. */
  lastCheckpoint: CheckpointRecord | null;
  lastCheckpointAt: number | null;
  replay: ReplayResult;
}

/**
 * Loads the newest verified checkpoint that loads (`source.loadWeights(path)`), else the base model
 * (`source.loadWeights(null)`), and replays the records after it. A journal compacted past what
 * those weights cover is a JournalError.
 */
export async function loadBootWeights<W extends CheckpointableWeights>(
  stateDir: string,
  records: JournalRecord[],
  nextSeq: number,
  source: { loadWeights(checkpointPath: string | null): W | Promise<W> },
): Promise<BootWeights<W>> {
  const firstSeq = records[0]?.seq ?? nextSeq;
  removeStaleTemps(checkpointDirOf(stateDir));
  let weights: W | null = null;
  let covered = 0;
  let bootCheckpoint: string | null = null;
  const skipped: string[] = [];
  for (const c of verifiedCheckpoints(stateDir, records, skipped)) {
    try {
      weights = await source.loadWeights(c.path);
      covered = c.coveredSeq;
      bootCheckpoint = c.path;
      break;
    } catch (err) {
      skipped.push(`${c.file}: does not load (${err instanceof Error ? err.message : String(err)})`);
      log.warn("checkpoint does not load: trying an older one", { path: c.path, err: String(err) });
    }
  }
  if (firstSeq > covered + 1) {
    throw new JournalError(
      `journal starts at sequence ${firstSeq} but the ${bootCheckpoint ? `checkpoint ${bootCheckpoint}` : "base model"} needs records from ${covered + 1}: ` +
        `the checkpoints that covered the compacted records are missing or damaged` +
        (skipped.length ? ` (${skipped.join("; ")})` : ` (none of those the journal records is in ${checkpointDirOf(stateDir)})`),
    );
  }
  weights ??= await source.loadWeights(null);
  const replay = replayMutations(records, covered, weights);
  log.info("weights ready", { checkpoint: bootCheckpoint ?? "base", replayed: replay.applied, skipped: replay.skipped, nextSeq });
  const lastCheckpoint = checkpointRecords(records).find((c) => c.file === bootCheckpoint?.split("/").at(-1)) ?? null;
  const lastCheckpointAt = lastCheckpoint && bootCheckpoint ? mtimeMs(bootCheckpoint) : null;
  return { weights, bootCheckpoint, lastCheckpoint, lastCheckpointAt, replay };
}

/** A file's mtime (epoch ms), null when it cannot be read. */
function mtimeMs(path: string): number | null {
  try {
    return Math.round(statSync(path).mtimeMs);
  } catch {
    return null;
  }
}
