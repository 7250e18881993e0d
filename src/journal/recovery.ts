// Journal recovery: reads every segment, truncates a torn tail, refuses mid-journal corruption.
import { closeSync, ftruncateSync, fsyncSync, openSync, readdirSync, readFileSync, readSync, unlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { ForeignSegmentError, JournalError } from "../errors.ts";
import { logger } from "../log.ts";
import {
  decodeRecordAt,
  decodeSegmentHeader,
  MAX_PAYLOAD,
  parseSegmentFileName,
  RECORD_HEADER_SIZE,
  type RawRecord,
  RecordType,
  SEGMENT_HEADER_SIZE,
} from "./format.ts";
import { crc32c } from "./crc32c.ts";
import { fsyncDir } from "./fs-durable.ts";

const log = logger("journal");

export interface JournalRecord extends RawRecord {
  segment: string;
}

export interface SegmentInfo {
  name: string;
  path: string;
  firstSeq: number;
  /** Valid bytes (after any truncation). */
  size: number;
  records: number;
  /** Header version (1: from an image before segments recorded their lineage) and size. */
  version: number;
  headerSize: number;
  /** The base model's SHA-256 the header binds the records to (hex); null: none recorded (version 1). */
  lineage: string | null;
}

export interface Damage {
  segment: string;
  offset: number;
  problem: string;
  /**
   * "torn": unacknowledged tail; "corrupt": acknowledged data is damaged; "foreign": the segment is
   * another base model's history (its lineage is not the journal's): never replayed, never cut.
   */
  kind: "torn" | "corrupt" | "foreign";
  /** Bytes after the damage point that were (or would be) dropped, this segment and later ones. */
  droppedBytes: number;
  /** The sequence the damaged record should have had: what a cut drops starts there. */
  seq: number;
}

export interface RecoveryResult {
  records: JournalRecord[];
  segments: SegmentInfo[];
  /** Sequence the next appended record gets. */
  nextSeq: number;
  damage: Damage | null;
  /** The lineage the segments record (RecoverOptions.lineage when given), null when none does. */
  lineage: string | null;
}

export interface RecoverOptions {
  /** Operator's choice: cut the journal at a corruption in the middle (losing what follows) instead of refusing. */
  repair?: boolean;
  /** Only report (inspect/verify): never truncate or delete anything. */
  readOnly?: boolean;
  /**
   * A sequence known from outside the journal to have been durable (a checkpoint file covers it):
   * damage at or before it is corruption of acknowledged data, never a torn tail.
   */
  durableThrough?: number;
  /**
   * Why a record's payload does not decode (null: it does). A record whose checksum holds was
   * written whole by us, so a body that does not decode is corruption (a bug, or tampering) at that
   * record, like a sequence gap: never a torn tail. The evolution layer knows the payload formats.
   */
  bodyProblem?: (type: number, payload: Uint8Array) => string | null;
  /**
   * The hex SHA-256 of the base model the journal belongs to: a segment that records another is
   * refused ("foreign"). Without it, the first lineage a segment records is the journal's. Segments
   * that record none (version 1) are read as before, under the state dir's LINEAGE.
   */
  lineage?: string;
}

/**
 * Searches `b` after `from` for a record that would have been valid as a continuation (checksum
 * holds, sequence >= expected) and that says a sequence >= expected was durable when it was written:
 * the only kind that changes the verdict. Returns the highest such `durable` watermark, -1 when none,
 * or null when the search gave up. Only headers whose fields could be such a record are checksummed
 * (expected <= durable < sequence): ordinary values read as headers (floats 1.0 and 0.0 side by side
 * read as length 16256, sequence 16256, durable 16256) made a torn tail followed by a batch of them
 * "corrupt". A tail whose every 16th byte still reads as one (crafted) made the search checksum up to
 * 1 MiB per byte, hours for a few MiB with the boot held in recovery: it checksums at most 4 times
 * the bytes searched plus 16 MiB.
 */
function laterValidDurable(b: Uint8Array, from: number, expected: number): number | null {
  let best = -1;
  let budget = 4 * Math.max(0, b.length - from) + (16 << 20);
  const exp = BigInt(expected);
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  for (let off = from; off + RECORD_HEADER_SIZE <= b.length; off++) {
    const len = v.getUint32(off, true);
    if (len > MAX_PAYLOAD || off + RECORD_HEADER_SIZE + len > b.length) continue;
    const seq = v.getBigUint64(off + 8, true);
    if (seq < exp || seq > exp + 0xffffffffn) continue;
    const durable = v.getBigUint64(off + 16, true);
    if (durable < exp || durable >= seq) continue;
    budget -= RECORD_HEADER_SIZE - 8 + len;
    if (budget < 0) return null;
    if (v.getUint32(off + 4, true) !== crc32c(b, off + 8, off + RECORD_HEADER_SIZE + len)) continue;
    const d = Number(durable);
    if (d > best) best = d;
  }
  return best;
}

export function listSegments(dir: string): { name: string; firstSeq: number }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (cause) {
    throw new JournalError(`cannot list journal directory ${dir}`, { cause });
  }
  const out: { name: string; firstSeq: number }[] = [];
  for (const n of names) {
    const s = parseSegmentFileName(n);
    if (s !== null) out.push({ name: n, firstSeq: s });
  }
  return out.sort((a, b) => a.firstSeq - b.firstSeq);
}

/** Reads and checks the whole journal in `dir`. See docs/evolution-protocol.md ("Cortex journal"). */
export function recoverJournal(dir: string, opts: RecoverOptions = {}): RecoveryResult {
  const segs = listSegments(dir);
  const records: JournalRecord[] = [];
  const segments: SegmentInfo[] = [];
  let expected: number | null = null;
  let damage: Damage | null = null;
  let lineage: string | null = opts.lineage ?? null;
  /** The lineage a segment read so far records (null: none did yet). */
  let recordedBefore: string | null = null;

  let damagedAt = -1;
  for (let i = 0; i < segs.length && damage === null; i++) {
    damagedAt = i;
    const { name, firstSeq } = segs[i]!;
    const path = join(dir, name);
    const isLast = i === segs.length - 1;
    let b: Uint8Array;
    try {
      b = readFileSync(path);
    } catch (cause) {
      throw new JournalError(`cannot read journal segment ${path}`, { cause });
    }
    const laterBytes = () => segs.slice(i + 1).reduce((n, s) => n + Bun.file(join(dir, s.name)).size, 0);
    const h = decodeSegmentHeader(b);
    // Before the sequence: another model's segment copied in beside this journal's rarely continues
    // its sequence, and read as a gap (corrupt) a repair deleted it.
    if (!("problem" in h) && h.lineage !== null && lineage !== null && h.lineage !== lineage) {
      damage = foreignDamage(name, h.lineage, lineage, opts.lineage !== undefined, b.length + laterBytes(), expected ?? firstSeq);
      break;
    }
    // One that records none (version 1) after one that records a lineage: the journal never writes
    // that order (version-1 segments come first, segment-lineages.ts), so it was copied in from
    // another state dir and its records were replayed onto these weights.
    if (!("problem" in h) && h.lineage === null && recordedBefore !== null) {
      const problem = `segment records no lineage (version 1) after segments that record ${recordedBefore}: another state dir's history (this journal never writes that order)`;
      damage = { segment: name, offset: 0, problem, kind: "foreign", droppedBytes: b.length + laterBytes(), seq: expected ?? firstSeq };
      break;
    }
    if (!("problem" in h) && h.lineage !== null) recordedBefore = h.lineage;
    if ("problem" in h || h.firstSeq !== firstSeq || (expected !== null && firstSeq !== expected)) {
      const problem =
        "problem" in h ? `segment header: ${h.problem}`
        : h.firstSeq !== firstSeq ? `segment header names first sequence ${h.firstSeq}, file name says ${firstSeq}`
        : `sequence gap: segment starts at ${firstSeq}, expected ${expected}`;
      damage = { segment: name, offset: 0, problem, kind: "corrupt", droppedBytes: b.length + laterBytes(), seq: expected ?? firstSeq };
      break;
    }
    lineage ??= h.lineage;
    let exp: number = expected ?? firstSeq;
    let off = h.headerSize;
    let count = 0;
    while (off < b.length) {
      const r = decodeRecordAt(b, off);
      let problem: string | null = null;
      if ("problem" in r) problem = r.problem;
      else if (r.seq !== exp) problem = `sequence gap: record has sequence ${r.seq}, expected ${exp}`;
      else if (r.type !== RecordType.mutation && r.type !== RecordType.checkpoint) problem = `unknown record type ${r.type}`;
      else {
        const body = opts.bodyProblem?.(r.type, r.payload) ?? null;
        if (body !== null) problem = `record ${r.seq} has a valid checksum but its body does not decode: ${body}`;
      }
      if (problem !== null || "problem" in r) {
        // A torn tail is an unacknowledged write: only in the last segment, past what a checkpoint
        // file proves durable, and no later record claims that this one was already durable.
        // Anything else damages acknowledged data.
        // A checksum-valid record with impossible sequence fields was written whole: never torn.
        // A search that gave up (null) cannot show the tail unacknowledged: corrupt, nothing cut.
        const candidate = isLast && "problem" in r && r.whole !== true && exp > (opts.durableThrough ?? 0);
        const later = candidate ? laterValidDurable(b, off + 1, exp) : -1;
        const torn = candidate && later !== null && later < exp;
        if (later === null) problem = `${problem ?? "invalid record"}; the bytes after it read as record headers at every offset, too many to search for a later record`;
        damage = { segment: name, offset: off, problem: problem ?? "invalid record", kind: torn ? "torn" : "corrupt", droppedBytes: b.length - off + laterBytes(), seq: exp };
        break;
      }
      records.push({ ...r, segment: name });
      exp = r.seq + 1;
      off += r.size;
      count++;
    }
    expected = exp;
    segments.push({ name, path, firstSeq, size: off, records: count, version: h.version, headerSize: h.headerSize, lineage: h.lineage });
  }

  // A cut deletes the segments after the damage: another model's among them is refused instead.
  if (damage && damage.kind !== "foreign") damage = foreignAfter(dir, segs.slice(damagedAt + 1), lineage, opts.lineage !== undefined, damage.seq) ?? damage;

  if (damage && !opts.readOnly) {
    // Another model's history is not damage to cut: a repair would delete it, and this model's
    // segments after it. It stays where it is, named, for the operator to move.
    if (damage.kind === "foreign") {
      throw new ForeignSegmentError(
        join(dir, damage.segment),
        dir,
        `journal segment ${join(dir, damage.segment)} belongs to another base model: ${damage.problem}. ` +
          `Its mutations are never replayed onto these weights, and nothing was changed (neither cut nor deleted). Refusing to start. ` +
          `Move that model's segments out of ${dir} (or put this state dir's own journal back); 'vector-boot journal inspect --state ${dirname(dir)}' shows each segment's lineage`,
      );
    }
    if (damage.kind === "corrupt" && !opts.repair) {
      throw new JournalError(
        `journal corrupt in segment ${join(dir, damage.segment)} at byte offset ${damage.offset}: ${damage.problem}; ` +
          `${damage.droppedBytes > 0 ? "acknowledged mutations follow it" : "nothing follows it, but a segment is created whole (written, then renamed): this is damage, not a crash"}. Refusing to start. Inspect with 'vector-boot journal verify', ` +
          `or repair (drops sequence ${damage.seq} on: ${damage.droppedBytes} bytes from this point) with 'vector-boot journal verify --repair --state ${dirname(dir)}'`,
      );
    }
    cutAt(dir, segs.map((s) => s.name), damage);
    log[damage.kind === "torn" ? "info" : "warn"](damage.kind === "torn" ? "truncated torn tail" : "REPAIRED corrupt journal: data dropped", {
      segment: damage.segment,
      offset: damage.offset,
      problem: damage.problem,
      dropped: damage.droppedBytes,
      from_seq: damage.seq,
    });
  }
  return { records, segments, nextSeq: expected ?? 1, damage, lineage };
}

function foreignDamage(segment: string, recorded: string, expected: string, base: boolean, droppedBytes: number, seq: number): Damage {
  const problem = `segment records lineage ${recorded}, expected ${expected} (${base ? "the base model's" : "that of the segments before it"}): another base model's history`;
  return { segment, offset: 0, problem, kind: "foreign", droppedBytes, seq };
}

/** The first of `later` (the segments after damage) whose header records another lineage than `lineage` (or than the one before it), as foreign damage; null when none does. */
function foreignAfter(dir: string, later: { name: string }[], lineage: string | null, base: boolean, seq: number): Damage | null {
  const head = new Uint8Array(SEGMENT_HEADER_SIZE);
  for (let k = 0; k < later.length; k++) {
    const path = join(dir, later[k]!.name);
    let n = 0;
    try {
      const fd = openSync(path, "r");
      try {
        n = readSync(fd, head, 0, head.length, 0);
      } finally {
        closeSync(fd);
      }
    } catch (cause) {
      throw new JournalError(`cannot read journal segment ${path}`, { cause });
    }
    const h = decodeSegmentHeader(head.subarray(0, n));
    if ("problem" in h || h.lineage === null) continue;
    if (lineage !== null && h.lineage !== lineage) {
      const bytes = later.slice(k).reduce((t, s) => t + Bun.file(join(dir, s.name)).size, 0);
      return foreignDamage(later[k]!.name, h.lineage, lineage, base, bytes, seq);
    }
    lineage = h.lineage;
  }
  return null;
}

/** Truncates the damaged segment at the damage offset (removing it if nothing valid is left) and deletes later ones. */
function cutAt(dir: string, names: string[], d: Damage): void {
  const idx = names.indexOf(d.segment);
  for (const later of names.slice(idx + 1).reverse()) unlinkSync(join(dir, later));
  const path = join(dir, d.segment);
  // Damage at offset 0 is the header's: nothing of the segment is valid.
  if (d.offset === 0) {
    unlinkSync(path);
  } else {
    const fd = openSync(path, "r+");
    try {
      ftruncateSync(fd, d.offset);
      fsyncSync(fd);
    } catch (cause) {
      throw new JournalError(`cannot truncate ${path} at ${d.offset}`, { cause });
    } finally {
      closeSync(fd);
    }
  }
  fsyncDir(dir);
}
