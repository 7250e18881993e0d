// Model lineage: a state dir's journal and checkpoints belong to one base model (its SHA-256), never replayed onto another.
import { existsSync, readdirSync, readFileSync, renameSync, rmdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { JournalError } from "../errors.ts";
import { fsyncDir, makeDirDurable, writeFileAtomic } from "../journal/fs-durable.ts";
import { segmentsLineage } from "../journal/segment-lineages.ts";
import { lockStateDir, type StateLock } from "../journal/state-lock.ts";
import { logger } from "../log.ts";

const log = logger("evolution");

/** STATE_DIR/LINEAGE: the hex SHA-256 of the base model the journal and checkpoints evolve. */
export const LINEAGE_FILE = "LINEAGE";
/** STATE_DIR/lineages/<sha>/: the history of other base models, kept (never replayed, never deleted). */
export const LINEAGES_DIR = "lineages";
/** What belongs to a lineage. */
const PARTS = ["journal", "checkpoints", LINEAGE_FILE] as const;

export const lineageOf = (stateDir: string): string | null => {
  const r = readLineage(stateDir);
  return typeof r === "string" ? r : null;
};

/**
 * The lineage STATE_DIR/LINEAGE records: its SHA-256, null when there is no such file, or why the
 * file that is there names none (emptied, overwritten, unreadable).
 */
function readLineage(stateDir: string): string | null | { damaged: string } {
  let text: string;
  try {
    text = readFileSync(join(stateDir, LINEAGE_FILE), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    return { damaged: `cannot be read (${(e as Error).message})` };
  }
  const s = text.trim();
  if (/^[0-9a-f]{64}$/.test(s)) return s;
  return { damaged: `holds no SHA-256 (${text.length} bytes${text.length ? `: ${JSON.stringify(text.slice(0, 40))}` : ""})` };
}

/**
 * Why the history in `stateDir` cannot be matched to a base model, or null. A LINEAGE file is written
 * whole (temp, fsync, rename): one that names no base beside a journal or checkpoints was damaged.
 * Taken for "no lineage", that history was archived as unrecorded-N and the boot came up on the bare
 * base: every acknowledged mutation left the weights and their sequences were handed out again. The
 * boot refuses it (74) and `journal verify` says so.
 */
export function lineageDamage(stateDir: string, recorded: ReturnType<typeof readLineage> = readLineage(stateDir)): string | null {
  if (typeof recorded !== "object" || recorded === null) return null;
  if (!existsSync(join(stateDir, "journal")) && !existsSync(join(stateDir, "checkpoints"))) return null;
  return `lineage: ${join(stateDir, LINEAGE_FILE)} ${recorded.damaged}: the journal and checkpoints beside it cannot be matched to a base model, so they are neither replayed nor archived`;
}

/** Lineages archived under STATE_DIR/lineages/. */
export function archivedLineages(stateDir: string): string[] {
  try {
    return readdirSync(join(stateDir, LINEAGES_DIR)).sort();
  } catch {
    return [];
  }
}

/**
 * Moves the parts, LINEAGE last when archiving and first when resuming (`lineageFirst`): a crash in
 * between leaves the state dir's LINEAGE naming the lineage whose parts are split, and the next
 * selectLineage finishes the move whichever base boots.
 */
function moveParts(from: string, to: string, lineageFirst = false): void {
  makeDirDurable(to);
  for (const p of lineageFirst ? [...PARTS].reverse() : PARTS) if (existsSync(join(from, p))) renameSync(join(from, p), join(to, p));
  fsyncDir(to);
  fsyncDir(from);
}

/**
 * The lock of an archived lineage (`archive`, lineages/<sha>), taken before anything moves: a tool
 * still at work on it (`journal compact` or `verify --repair` with it as --state) refuses the switch,
 * named, with nothing moved. Those tools also leave their LOCK file in it, which made the rmdir of a
 * resume fail (ENOTEMPTY) at every boot of that base: its history never resumed. resumeArchive removes it.
 */
const lockArchive = (archive: string): StateLock => lockStateDir(archive, "vector-boot (resuming this lineage)");

/** Moves the locked archived lineage back into `stateDir` and removes its directory, its LOCK included. */
function resumeArchive(archive: string, stateDir: string, lock: StateLock): void {
  moveParts(archive, stateDir, true);
  unlinkSync(lock.path);
  lock.release();
  rmdirSync(archive);
  fsyncDir(join(stateDir, LINEAGES_DIR));
}

/**
 * A state dir with history and no LINEAGE whose journal segments name one base model (segment header
 * version 2): that model's history, not history from before lineages were recorded. LINEAGE is
 * written for it first (whole, fsynced), so the switch goes on as for any recorded lineage: resumed
 * when that model boots (its acknowledged mutations replayed, not set aside as unrecorded-N), else
 * archived under lineages/<its sha>/, LINEAGE moved last. Null (archived as unrecorded-N, as before)
 * when the segments name no single model, or that model's lineage is already archived beside it.
 */
function recordFromSegments(stateDir: string): string | null {
  const named = segmentsLineage(join(stateDir, "journal"));
  if ("none" in named) return null;
  if (existsSync(join(stateDir, LINEAGES_DIR, named.lineage))) {
    log.warn("lineage: no LINEAGE file; the journal's segments name a base model whose lineage is archived already: archived as unrecorded history", { segments: named.lineage });
    return null;
  }
  writeFileAtomic(join(stateDir, LINEAGE_FILE), [new TextEncoder().encode(`${named.lineage}\n`)]);
  log.warn("lineage: no LINEAGE file; recorded the base model the journal's segments name", { lineage: named.lineage });
  return named.lineage;
}

export interface LineageChoice {
  /** The lineage that was current and is now archived (its name under lineages/), or null. */
  archived: string | null;
  /** The base model's own lineage was found archived and is current again. */
  resumed: boolean;
}

/**
 * Makes `baseSha` (hex) the current lineage of `stateDir` before the journal opens (the caller
 * holds the state dir's lock). History of another base is moved to lineages/<its sha>/ (history
 * with no LINEAGE goes by the base its journal segments name, recordFromSegments; naming none, from
 * before lineages existed, it goes to lineages/unrecorded-N/); the base's
 * own archived history, if any, is moved back and resumed. Every step is a rename, fsynced.
 */
export function selectLineage(stateDir: string, baseSha: string): LineageChoice {
  if (!/^[0-9a-f]{64}$/.test(baseSha)) throw new JournalError(`lineage: ${JSON.stringify(baseSha)} is not a hex SHA-256`);
  try {
    makeDirDurable(stateDir);
    const recorded = readLineage(stateDir);
    const hasHistory = existsSync(join(stateDir, "journal")) || existsSync(join(stateDir, "checkpoints"));
    const damage = lineageDamage(stateDir, recorded);
    if (damage !== null) {
      throw new JournalError(
        `${damage}. If they belong to this base model, write ${baseSha} into it; ` +
          `otherwise move ${join(stateDir, "journal")}, ${join(stateDir, "checkpoints")} and ${join(stateDir, LINEAGE_FILE)} out of ${stateDir}`,
      );
    }
    // No LINEAGE beside history: the base model its journal's segments name, when they all name one.
    const current = typeof recorded === "string" ? recorded : hasHistory ? recordFromSegments(stateDir) : null;
    if (current === baseSha) {
      // A move of this lineage cut short by a crash (archived in part, or resumed in part): its other
      // parts are still under lineages/<sha>. Booting on without them started an empty journal over
      // the base: every acknowledged mutation left the weights and their sequences were handed out again.
      const split = join(stateDir, LINEAGES_DIR, baseSha);
      if (!existsSync(split)) return { archived: null, resumed: false };
      const both = PARTS.filter((p) => existsSync(join(split, p)) && existsSync(join(stateDir, p)));
      if (both.length > 0) throw new JournalError(`lineage: ${both.map((p) => join(stateDir, p)).join(", ")} and ${both.map((p) => join(split, p)).join(", ")} both exist for base ${baseSha}: move the right one into ${stateDir} by hand`);
      const lock = lockArchive(split);
      try {
        resumeArchive(split, stateDir, lock);
      } finally {
        lock.release();
      }
      log.warn("lineage: finished a move a crash cut short", { base: baseSha, from: join(LINEAGES_DIR, baseSha) });
      return { archived: null, resumed: true };
    }
    let archived: string | null = null;
    const own = join(stateDir, LINEAGES_DIR, baseSha);
    const resumed = existsSync(own);
    const ownLock = resumed ? lockArchive(own) : null;
    try {
      if (current !== null || hasHistory) {
        let name = current;
        for (let n = 1; name === null; n++) if (!existsSync(join(stateDir, LINEAGES_DIR, `unrecorded-${n}`))) name = `unrecorded-${n}`;
        moveParts(stateDir, join(stateDir, LINEAGES_DIR, name));
        archived = name;
      }
      if (ownLock) resumeArchive(own, stateDir, ownLock);
    } finally {
      ownLock?.release();
    }
    if (lineageOf(stateDir) !== baseSha) writeFileAtomic(join(stateDir, LINEAGE_FILE), [new TextEncoder().encode(`${baseSha}\n`)]);
    if (archived) log.warn("base model changed: the previous lineage is archived, not replayed", { archived: join(LINEAGES_DIR, archived), base: baseSha, resumed });
    else if (resumed) log.info("lineage resumed", { base: baseSha });
    return { archived, resumed };
  } catch (cause) {
    if (cause instanceof JournalError) throw cause;
    throw new JournalError(`lineage: cannot switch ${stateDir} to base ${baseSha}`, { cause });
  }
}
