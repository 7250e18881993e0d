// Checkpoints (complete GGUF, atomic) and boot selection: newest verified checkpoint, else base, then journal replay.
import { closeSync, constants, fstatSync, openSync, readdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { JournalError } from "../errors.ts";
import { type CheckpointRecord, decodeCheckpointRecord } from "../journal/checkpoint-record.ts";
import { crc32cUpdate } from "../journal/crc32c.ts";
import { RecordType } from "../journal/format.ts";
import { fsyncDir, makeDirDurable, writeFileAtomicAsync } from "../journal/fs-durable.ts";
import type { Journal } from "../journal/journal.ts";
import type { JournalRecord } from "../journal/recovery.ts";
import { logger } from "../log.ts";
import { MAX_MAP_BYTES } from "../sys/mmap.ts";
import { readPieces } from "../util/read-pieces.ts";
import { decodeMutationRecord } from "./mutation-record.ts";
import type { CheckpointableWeights, MutableWeights } from "./weights.ts";

const log = logger("evolution");

export const journalDirOf = (stateDir: string): string => join(stateDir, "journal");
export const checkpointDirOf = (stateDir: string): string => join(stateDir, "checkpoints");
/** GGUF metadata key (u64) carried by every checkpoint. */
export const CHECKPOINT_SEQ_KEY = "vector_boot.journal_seq";
export const checkpointFileName = (seq: number): string => `ckpt-${String(seq).padStart(20, "0")}.gguf`;
/** A checkpoint's file name (checkpointFileName), its covered sequence captured. */
const checkpointNamePattern = /^ckpt-(\d{20})\.gguf$/;

/**
 * Why a journal record's body does not decode as its type (null: it does), for the journal's
 * recovery (RecoverOptions.bodyProblem): the boot, `journal verify` and its repair see the same
 * damage, at the record, instead of the replay stopping on it with no place named.
 */
export function recordBodyProblem(type: number, payload: Uint8Array): string | null {
  try {
    if (type === RecordType.mutation) decodeMutationRecord(payload);
    else if (type === RecordType.checkpoint) {
      const c = decodeCheckpointRecord(payload);
      const m = checkpointNamePattern.exec(c.file);
      if (!m || Number(m[1]) !== c.coveredSeq) return `checkpoint record names ${JSON.stringify(c.file)}, not ${checkpointFileName(c.coveredSeq)}`;
    }
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Checkpoint records of the journal, newest first. */
export function checkpointRecords(records: JournalRecord[]): (CheckpointRecord & { seq: number })[] {
  const out: (CheckpointRecord & { seq: number })[] = [];
  for (const r of records) if (r.type === RecordType.checkpoint) out.push({ ...decodeCheckpointRecord(r.payload), seq: r.seq });
  return out.reverse();
}

/**
 * The checkpoints whose journal record exists and whose file has the recorded size and CRC32C,
 * newest first. A file without a record (crash between rename and record) or with a wrong
 * checksum is skipped; so is one that cannot be read, and why goes into `problems` (a missing
 * file does not: a later checkpoint's cleanup deletes the old ones).
 */
export function verifiedCheckpoints(stateDir: string, records: JournalRecord[], problems: string[] = []): (CheckpointRecord & { path: string })[] {
  const dir = checkpointDirOf(stateDir);
  const good: (CheckpointRecord & { path: string })[] = [];
  for (const c of checkpointRecords(records)) {
    const path = join(dir, c.file);
    let found: { size: number; crc: number | null };
    try {
      found = fileCrc32c(path, c.size);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
      problems.push(`${c.file}: ${(e as Error).message}`);
      log.warn("checkpoint cannot be read: skipped", { path, error: (e as Error).message });
      continue;
    }
    if (found.size !== c.size || found.crc !== c.crc) {
      problems.push(`${c.file}: fails its recorded size or checksum`);
      log.warn("checkpoint fails its recorded checksum: skipped", { path, size: found.size, expected: c.size });
      continue;
    }
    good.push({ ...c, path });
  }
  return good;
}

/**
 * A file's size and CRC32C, read in 4 MiB pieces: a checkpoint is as large as the model, and read
 * whole it went onto PID 1's heap just to be checked (and over 4 GiB, Bun's limit, it could not be).
 * No CRC (null) when the size is not `expected`: there is nothing to compare it with.
 */
function fileCrc32c(path: string, expected: number): { size: number; crc: number | null } {
  // Never waiting in open() (a FIFO put in its place): a regular file only.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error(st.isDirectory() ? "EISDIR: a directory, not a checkpoint file" : "not a regular file"), { code: st.isDirectory() ? "EISDIR" : "EINVAL" });
    const size = st.size;
    if (size !== expected) return { size, crc: null };
    let crc = 0;
    const done = readPieces(fd, 0, size, (piece) => (crc = crc32cUpdate(crc, piece)));
    return done < size ? { size: done, crc: null } : { size, crc }; // shorter: truncated while read
  } finally {
    closeSync(fd);
  }
}

/**
 * The checkpoint file on disk that covers the highest sequence (by its name), or null. A checkpoint
 * is renamed into place only after every record it covers was durable, so its name proves that the
 * journal reached that far, whatever became of the journal since.
 */
export function newestCheckpointFile(stateDir: string): { file: string; coveredSeq: number } | null {
  let names: string[];
  try {
    names = readdirSync(checkpointDirOf(stateDir));
  } catch {
    return null;
  }
  let best: { file: string; coveredSeq: number } | null = null;
  for (const n of names) {
    const m = checkpointNamePattern.exec(n);
    if (m && (best === null || Number(m[1]) > best.coveredSeq)) best = { file: n, coveredSeq: Number(m[1]) };
  }
  return best;
}

/**
 * Why the journal cannot be the whole acknowledged history, or null: it ends (`nextSeq` - 1) before
 * the covered sequence of `c`, the newest checkpoint file (newestCheckpointFile, read once by the
 * caller, which also gives its sequence to the recovery). The journal was removed, cut by a repair,
 * or damaged past a torn tail; booting would silently fall back to older weights and reuse
 * acknowledged sequences.
 */
export function missingHistory(stateDir: string, nextSeq: number, c: { file: string; coveredSeq: number } | null): string | null {
  if (c === null || nextSeq - 1 >= c.coveredSeq) return null;
  return (
    `checkpoint ${join(checkpointDirOf(stateDir), c.file)} covers acknowledged mutations through sequence ${c.coveredSeq}, ` +
    `but the journal ${nextSeq > 1 ? `ends at sequence ${nextSeq - 1}` : "is empty"}: acknowledged history is missing. ` +
    `Restore the journal (${journalDirOf(stateDir)}); or, to give up what it held and start from what is left, move that checkpoint ` +
    `(and any newer than the journal's end) out of ${checkpointDirOf(stateDir)}`
  );
}

/** Removes `*.tmp` files a crash left in the checkpoint directory (never a finished checkpoint). */
export function removeStaleTemps(dir: string): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  // Files only: unlink of a directory named *.tmp threw, and that stopped evolution from opening.
  for (const e of entries) if (e.name.endsWith(".tmp") && e.isFile()) unlinkSync(join(dir, e.name));
}

export interface ReplayResult {
  applied: number;
  skipped: number;
  lastSeq: number;
}

/** Re-applies every mutation record with sequence > `afterSeq`, in journal order. */
export function replayMutations(records: JournalRecord[], afterSeq: number, weights: MutableWeights): ReplayResult {
  const res: ReplayResult = { applied: 0, skipped: 0, lastSeq: afterSeq };
  for (const r of records) {
    if (r.seq <= afterSeq || r.type !== RecordType.mutation) continue;
    const m = decodeMutationRecord(r.payload);
    const info = weights.tensorInfo(m.tensor);
    if (!info || m.elementOffset + m.values.length > info.nElements) {
      // The base model changed under the journal (e.g. a new executable): never write out of bounds.
      res.skipped++;
      log.warn("journal mutation does not fit the loaded model: skipped", { seq: r.seq, tensor: m.tensor });
      continue;
    }
    try {
      weights.applyMutation(m.tensor, m.elementOffset, m.values);
    } catch (err) {
      // Passed the gate of its day but cannot be written now (the tensor's type changed, a limit was
      // raised since): skipping it must never brick the boot.
      res.skipped++;
      log.warn("journal mutation cannot be applied: skipped", { seq: r.seq, tensor: m.tensor, reason: err instanceof Error ? err.message : String(err) });
      continue;
    }
    res.applied++;
    res.lastSeq = r.seq;
  }
  return res;
}

/**
 * Writes a complete GGUF of `weights` covering every durable journal record (temp, fsync, rename,
 * fsync dir) and records it in the journal. Then only this checkpoint and `previous` (the last
 * recorded one) are kept, and journal segments wholly covered by `previous` are deleted, so a
 * damaged newest checkpoint can still be rebuilt from the older one plus the journal.
 */
export async function writeCheckpoint(
  stateDir: string,
  weights: CheckpointableWeights,
  journal: Journal,
  previous: CheckpointRecord | null,
  compact = true,
): Promise<CheckpointRecord> {
  // Every record appended so far durable (and so applied): not an idle journal, which a mutation
  // storm could postpone for as long as it lasts. Records appended meanwhile are neither durable nor
  // applied yet, so the weights now hold exactly the mutations through durableSeq.
  await journal.durableThrough(journal.nextSeq - 1);
  if (journal.failed) throw new JournalError("cannot checkpoint: the journal has stopped", { cause: journal.failed });
  const coveredSeq = journal.durableSeq;
  const dir = checkpointDirOf(stateDir);
  makeDirDurable(dir);
  const file = checkpointFileName(coveredSeq);
  // Snapshot now (synchronously, so no mutation slips in), write without blocking the beat.
  const chunks = weights.ggufChunks({ [CHECKPOINT_SEQ_KEY]: BigInt(coveredSeq) });
  const size = chunks.reduce((n, c) => n + c.length, 0);
  // A model at the mapping limit grows past it by the checkpoint's metadata: such a file could never
  // be booted from (it was skipped at every boot, and once compaction had dropped the records it
  // covers, the boot refused the journal). Not written: the journal keeps the whole history.
  if (size > MAX_MAP_BYTES) throw new JournalError(`cannot checkpoint: the model would be ${size} bytes, more than the ${MAX_MAP_BYTES} (4 GiB) a boot can map; the journal keeps every record`);
  let crc = 0;
  for (const c of chunks) crc = crc32cUpdate(crc, c);
  await writeFileAtomicAsync(join(dir, file), chunks);
  const rec: CheckpointRecord = { coveredSeq, file, size, crc };
  await journal.appendCheckpoint(rec);
  log.info("checkpoint written", { file, coveredSeq, bytes: size });
  const keep = new Set([file, previous?.file]);
  let removed = 0;
  for (const n of readdirSync(dir)) {
    if (checkpointNamePattern.test(n) && !keep.has(n)) (unlinkSync(join(dir, n)), removed++);
  }
  if (removed) fsyncDir(dir);
  if (previous && compact) journal.compact(previous.coveredSeq);
  return rec;
}
