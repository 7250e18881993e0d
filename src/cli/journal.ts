// `vector-boot journal inspect|verify|compact`: read, check, repair and compact the cortex journal offline.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { checkpointDirOf, checkpointRecords, journalDirOf, missingHistory, newestCheckpointFile, recordBodyProblem, verifiedCheckpoints } from "../evolution/persistence.ts";
import { decodeMutationRecord } from "../evolution/mutation-record.ts";
import { ExitCode, JournalError } from "../errors.ts";
import { recordTypeName, RecordType } from "../journal/format.ts";
import { Journal } from "../journal/journal.ts";
import { lockStateDir, type StateLock } from "../journal/state-lock.ts";
import { archivedLineages, LINEAGE_FILE, LINEAGES_DIR, lineageDamage, lineageOf } from "../evolution/lineage.ts";
import { segmentsLineage } from "../journal/segment-lineages.ts";
import { recoverJournal, type RecoveryResult } from "../journal/recovery.ts";
import { checkOptions, out, readOptions } from "../util/cli-args.ts";
import { wantsHelp, type Command } from "./command.ts";

const help = `Usage: vector-boot journal inspect|verify|compact [--state DIR] [options]

Reads the cortex journal (DIR/journal) and checkpoints (DIR/checkpoints) of a stopped init.
See docs/evolution-protocol.md for the formats.

Subcommands:
  inspect     segments, sequence range, checkpoints and damage; --records lists every record
  verify      checks every checksum and sequence without changing anything; exit 0 when the
              journal is clean or only has a torn (never acknowledged) tail, 65 when acknowledged
              data is damaged. --repair cuts the journal at the damage (drops what follows):
              the operator's explicit choice, needed before the init will boot again.
  compact     deletes segments wholly covered by the older of the two newest verified checkpoints

Options:
  --state DIR   state directory (default /var/lib/vector-boot)
  --records     (inspect) one line per record
  --json        machine-readable output
  --repair      (verify) truncate at the first corruption
  -h, --help    this text

Examples:
  vector-boot journal verify --state /var/lib/vector-boot
  vector-boot journal inspect --records --json`;

const schema = z.object({
  positionals: z.tuple([z.enum(["inspect", "verify", "compact"], { message: "expected one subcommand: inspect, verify or compact" })], { message: "expected one subcommand: inspect, verify or compact" }),
  state: z.string().min(1, "must not be empty"),
  records: z.boolean(),
  json: z.boolean(),
  repair: z.boolean(),
});

function summary(r: RecoveryResult) {
  return {
    segments: r.segments.map((s) => ({ name: s.name, firstSeq: s.firstSeq, records: s.records, bytes: s.size, version: s.version, lineage: s.lineage })),
    firstSeq: r.records[0]?.seq ?? null,
    lastSeq: r.records.at(-1)?.seq ?? null,
    mutations: r.records.filter((x) => x.type === RecordType.mutation).length,
    checkpoints: checkpointRecords(r.records).map(({ seq, coveredSeq, file }) => ({ seq, coveredSeq, file })),
    damage: r.damage,
  };
}

export const command: Command = {
  name: "journal",
  summary: "inspect, verify (and repair) or compact the cortex journal",
  help,
  async run(args) {
    if (wantsHelp(args)) {
      out(help);
      return 0;
    }
    const parsed = readOptions("journal", args, {
      state: { type: "string", default: "/var/lib/vector-boot" },
      records: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      repair: { type: "boolean", default: false },
    });
    const { positionals: [sub], ...opts } = checkOptions("journal", schema, { ...parsed.values, positionals: parsed.positionals });
    const a = { sub, ...opts };
    const dir = journalDirOf(a.state);
    // The base model the state dir's LINEAGE names: a segment that records another is reported (and refused by the boot).
    const lineage = lineageOf(a.state) ?? undefined;

    if (a.sub === "inspect") {
      const r = recoverJournal(dir, { readOnly: true, bodyProblem: recordBodyProblem, lineage });
      const s = summary(r);
      // The base model this history belongs to, and the other lineages kept beside it.
      const lineages = { base: lineageOf(a.state), archived: archivedLineages(a.state) };
      if (a.json) out(JSON.stringify({ ...s, lineage: lineages, records: a.records ? r.records.map(describe) : undefined }));
      else {
        out(`journal ${dir}: ${s.segments.length} segment(s), records ${s.firstSeq ?? "-"}..${s.lastSeq ?? "-"}, ${s.mutations} mutation(s)`);
        out(`  lineage: base model sha256 ${lineages.base ?? unrecordedLineage(dir)}${lineages.archived.length ? `; archived: ${lineages.archived.map((l) => `lineages/${l}`).join(", ")}` : ""}`);
        for (const seg of s.segments) out(`  segment ${seg.name}: first ${seg.firstSeq}, ${seg.records} record(s), ${seg.bytes} bytes, lineage ${seg.lineage ?? `(not recorded: version ${seg.version})`}`);
        // Older checkpoints' records stay in the journal after a later checkpoint deleted their files.
        for (const c of s.checkpoints) out(`  checkpoint ${c.file} covers ..${c.coveredSeq} (record ${c.seq})${existsSync(join(checkpointDirOf(a.state), c.file)) ? "" : " (file deleted since)"}`);
        if (r.damage) out(`  DAMAGE (${r.damage.kind}) in ${r.damage.segment} at byte ${r.damage.offset}: ${r.damage.problem}`);
        if (a.records) for (const x of r.records) out(`  ${JSON.stringify(describe(x))}`);
      }
      return 0;
    }

    if (a.sub === "verify") {
      // Repairing writes: only with the state dir to ourselves (a running init holds its lock).
      const lock = a.repair ? lockExisting(a.state, dir, "journal verify --repair") : null;
      const newest = newestCheckpointFile(a.state);
      let r;
      try {
        // As the boot reads it: a checkpoint file proves its records durable (damage there is no torn tail).
        // A state dir whose journal directory is gone reads as an empty journal: what it lost is told below.
        // Only a directory that is one (a checkpoint or a lineage in it): the journal directory itself,
        // its parent or a regular file given as --state read as "OK", exit 0.
        const journalGone = !a.repair && !existsSync(dir);
        if (journalGone && !looksLikeStateDir(a.state)) throw new JournalError(`no journal directory at ${dir}, and ${a.state} holds no checkpoints or lineage: is --state the init's state_dir?`);
        r = journalGone ? emptyJournal : recoverJournal(dir, { readOnly: !a.repair, repair: a.repair, durableThrough: newest?.coveredSeq ?? 0, bodyProblem: recordBodyProblem, lineage });
      } finally {
        lock?.release();
      }
      const h = checkHistory(a.state, r, newest);
      const ok = (!r.damage || r.damage.kind === "torn" || a.repair) && h.problem === null;
      if (a.json) out(JSON.stringify({ ok, repaired: a.repair && !!r.damage, ...summary(r), bootCheckpoint: h.bootCheckpoint, checkpointProblems: h.skipped, historyProblem: h.problem }));
      else {
        if (r === emptyJournal) out(`journal ${dir}: missing (the directory is gone)`);
        else if (!r.damage) out(`journal ${dir}: OK, records ${r.records[0]?.seq ?? "-"}..${r.records.at(-1)?.seq ?? "-"}`);
        else {
          const d = r.damage;
          const what =
            d.kind === "torn" ? "torn tail (the last write, cut short by a stop before it was acknowledged; truncated at next boot)"
            : d.kind === "foreign" ? "FOREIGN (another base model's history; never replayed, never cut)"
            : "CORRUPT (acknowledged data damaged)";
          out(`journal ${dir}: ${what} in ${d.segment} at byte ${d.offset}: ${d.problem}${a.repair ? `; cut there: sequence ${d.seq} on dropped (${d.droppedBytes} bytes)` : ""}`);
        }
        // The boot refuses a corrupt journal (JournalError, 74): it said "the boot would load ...".
        const corrupt = r.damage?.kind === "corrupt" && !a.repair;
        if (corrupt) out(`  CANNOT BOOT: acknowledged records are damaged; \`vector-boot journal verify --repair --state ${a.state}\` cuts the journal there (what follows is lost)`);
        else if (r.damage?.kind === "foreign") out(`  CANNOT BOOT: ${r.damage.segment} is another base model's history; move that model's segments out of ${dir}`);
        else if (!h.problem) out(`  the boot would load: ${h.bootCheckpoint ?? "the base model"}, then replay the journal`);
        for (const p of h.skipped) out(`  checkpoint skipped: ${p}`);
        if (h.problem) out(`  CANNOT BOOT: ${h.problem}`);
      }
      return ok ? 0 : ExitCode.data;
    }

    // compact: never under a running init (it holds the state dir's lock)
    const lock = lockExisting(a.state, dir, "journal compact");
    try {
      return await compact(a, dir);
    } finally {
      lock.release();
    }
  },
};

/**
 * The state dir's lock, for an offline command that writes: only where a journal already is. The
 * init's lock creates the directory (a first boot); here a mistyped --state created it, and a LOCK
 * file in it, before the command failed.
 */
function lockExisting(state: string, dir: string, what: string): StateLock {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    /* missing: refused below */
  }
  if (!isDir) throw new JournalError(`no journal directory at ${dir} (is --state the init's state_dir?)`);
  return lockStateDir(state, what);
}

async function compact(a: { state: string; json: boolean }, dir: string): Promise<number> {
  const say = (o: { ok: boolean; removed: number; coveredBy: string | null }, text: string) => out(a.json ? JSON.stringify(o) : `journal ${dir}: ${text}`);
  const lineage = lineageOf(a.state) ?? undefined;
  const r = recoverJournal(dir, { readOnly: true, durableThrough: newestCheckpointFile(a.state)?.coveredSeq ?? 0, bodyProblem: recordBodyProblem, lineage });
  if (r.damage && r.damage.kind !== "torn") {
    say({ ok: false, removed: 0, coveredBy: null }, `${r.damage.kind} (run 'vector-boot journal verify'); not compacting`);
    return ExitCode.data;
  }
  const older = verifiedCheckpoints(a.state, r.records)[1];
  if (!older) {
    say({ ok: true, removed: 0, coveredBy: null }, "fewer than two verified checkpoints; nothing can be compacted safely");
    return 0;
  }
  // No lineage given to the writer: an offline compact starts no segment (the read above refused another model's).
  const j = Journal.open(dir, { bodyProblem: recordBodyProblem });
  const removed = j.compact(older.coveredSeq);
  await j.close();
  say({ ok: true, removed, coveredBy: older.file }, `removed ${removed} segment(s) covered by ${older.file}`);
  return 0;
}

const emptyJournal: RecoveryResult = { records: [], segments: [], nextSeq: 1, damage: null, lineage: null };

/**
 * What a state dir without LINEAGE holds: the boot resumes the history its segments name under that
 * model (and writes LINEAGE), so "not recorded" alone misled an operator into thinking it was nobody's.
 */
function unrecordedLineage(dir: string): string {
  const named = segmentsLineage(dir);
  return "lineage" in named ? `(not recorded in LINEAGE; the segments record ${named.lineage}: a boot of that model resumes this history and writes it)` : "(not recorded)";
}

/** A state_dir: a directory with a checkpoint directory, a lineage, or archived lineages in it. */
function looksLikeStateDir(state: string): boolean {
  try {
    if (!statSync(state).isDirectory()) return false;
  } catch {
    return false;
  }
  return [checkpointDirOf(state), join(state, LINEAGE_FILE), join(state, LINEAGES_DIR)].some((p) => existsSync(p));
}

/**
 * What the boot would find beyond the journal's own records: the checkpoint it would start from
 * (size and CRC32C checked, not loaded), those it would skip and why, and the reason it would
 * refuse (a checkpoint file past the journal's end, or compacted records no checkpoint covers).
 */
function checkHistory(state: string, r: RecoveryResult, newest: ReturnType<typeof newestCheckpointFile>): { bootCheckpoint: string | null; skipped: string[]; problem: string | null } {
  const skipped: string[] = [];
  const good = verifiedCheckpoints(state, r.records, skipped);
  const covered = good[0]?.coveredSeq ?? 0;
  const firstSeq = r.records[0]?.seq ?? r.nextSeq;
  const problem =
    lineageDamage(state) ??
    missingHistory(state, r.nextSeq, newest) ??
    (firstSeq > covered + 1 ? `the journal starts at sequence ${firstSeq} but ${good[0] ? `checkpoint ${good[0].file}` : "the base model"} needs records from ${covered + 1}: the checkpoints that covered the compacted records are missing or damaged` : null);
  return { bootCheckpoint: good[0]?.file ?? null, skipped, problem };
}

function describe(r: RecoveryResult["records"][number]) {
  const base = { seq: r.seq, type: recordTypeName(r.type), segment: r.segment, offset: r.offset };
  if (r.type !== RecordType.mutation) return base;
  const m = decodeMutationRecord(r.payload);
  return { ...base, tensor: m.tensor, elementOffset: m.elementOffset, count: m.values.length, confidence: m.confidence };
}
