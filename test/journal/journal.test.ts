// Cortex journal: records back after reopening, torn tails, mid-journal corruption, segments, compaction (fsync: journal-sync.test.ts).
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JournalError } from "../../src/errors.ts";
import { decodeCheckpointRecord } from "../../src/journal/checkpoint-record.ts";
import { crc32c } from "../../src/journal/crc32c.ts";
import { RECORD_HEADER_SIZE, RecordType, SEGMENT_HEADER_SIZE, segmentFileName } from "../../src/journal/format.ts";
import { Journal } from "../../src/journal/journal.ts";
import { recoverJournal } from "../../src/journal/recovery.ts";

const dirs: string[] = [];
function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), "vb-journal-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const payload = (i: number, len = 10 + (i % 23)) => Uint8Array.from({ length: len }, (_, k) => (i * 31 + k) & 0xff);

/** Appends `n` records in one tick (one batch) and waits for all acks. */
async function batch(j: Journal, from: number, n: number): Promise<number[]> {
  return Promise.all(Array.from({ length: n }, (_, k) => j.append(RecordType.mutation, payload(from + k))));
}

async function journalWith(batches: number[]): Promise<string> {
  const dir = freshDir();
  const j = Journal.open(dir);
  let i = 0;
  for (const n of batches) {
    await batch(j, i, n);
    i += n;
  }
  await j.close();
  return dir;
}

const segPath = (dir: string, first = 1) => join(dir, segmentFileName(first));

/** Byte offsets of every record in the single segment of `dir`. */
function recordOffsets(dir: string): number[] {
  return recoverJournal(dir, { readOnly: true }).records.map((r) => r.offset);
}

describe("journal", () => {
  test("acknowledged records come back after reopening, in order, byte for byte", async () => {
    const dir = await journalWith([5, 1, 7]);
    const r = recoverJournal(dir);
    expect(r.records.map((x) => x.seq)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    r.records.forEach((x, i) => expect(Array.from(x.payload)).toEqual(Array.from(payload(i))));
    expect(r.nextSeq).toBe(14);
    expect(r.damage).toBeNull();
  });

  test("truncates a torn tail at every byte of the last record and keeps appending after it", async () => {
    const dir = await journalWith([4, 3]);
    const file = segPath(dir);
    const whole = readFileSync(file);
    const offs = recordOffsets(dir);
    const lastStart = offs.at(-1)!;
    for (let cut = lastStart; cut < whole.length; cut++) {
      writeFileSync(file, whole.subarray(0, cut));
      const j = Journal.open(dir);
      expect(j.recovered.records.length).toBe(6);
      expect(j.recovered.damage?.kind).toBe(cut === lastStart ? undefined : "torn");
      expect(statSync(file).size).toBe(lastStart);
      expect(await j.append(RecordType.mutation, payload(99))).toBe(7);
      await j.close();
      expect(recoverJournal(dir).records.length).toBe(7);
    }
  });

  test("treats a flipped byte in the last batch as a torn tail, not as corruption", async () => {
    const dir = await journalWith([4, 3]);
    const file = segPath(dir);
    const b = readFileSync(file);
    const offs = recordOffsets(dir);
    b[offs[5]! + 30]! ^= 0x40; // record 6 of the last batch (5..7): 7 follows but was written in the same batch
    writeFileSync(file, b);
    const r = recoverJournal(dir);
    expect(r.damage?.kind).toBe("torn");
    expect(r.records.length).toBe(5);
    expect(statSync(file).size).toBe(offs[5]!);
  });

  test("refuses to start on a flipped byte in the middle, naming segment and offset", async () => {
    const dir = await journalWith([4, 3]);
    const file = segPath(dir);
    const b = readFileSync(file);
    const offs = recordOffsets(dir);
    b[offs[1]! + RECORD_HEADER_SIZE + 2]! ^= 0x01; // record 2 was acknowledged before records 5..7 were written
    writeFileSync(file, b);
    let err: unknown;
    try {
      Journal.open(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JournalError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toContain(`offset ${offs[1]}`);
    expect((err as Error).message).toContain("checksum mismatch");
    expect(statSync(file).size).toBe(b.length); // nothing was cut without the operator's consent
  });

  test("repair cuts a corrupt journal at the damage when the operator asks", async () => {
    const dir = await journalWith([4, 3]);
    const file = segPath(dir);
    const b = readFileSync(file);
    const offs = recordOffsets(dir);
    b[offs[2]! + 12]! ^= 0x80;
    writeFileSync(file, b);
    const j = Journal.open(dir, { repair: true });
    expect(j.recovered.damage?.kind).toBe("corrupt");
    expect(j.recovered.records.length).toBe(2);
    expect(await j.append(RecordType.mutation, payload(0))).toBe(3);
    await j.close();
  });

  test("refuses a sequence gap even when every checksum holds", async () => {
    const dir = await journalWith([3]);
    const file = segPath(dir);
    const b = readFileSync(file);
    const offs = recordOffsets(dir);
    const v = new DataView(b.buffer, b.byteOffset);
    v.setBigUint64(offs[1]! + 8, 5n, true); // record 2 claims to be 5
    const len = v.getUint32(offs[1]!, true);
    v.setUint32(offs[1]! + 4, crc32c(b, offs[1]! + 8, offs[1]! + RECORD_HEADER_SIZE + len), true);
    writeFileSync(file, b);
    expect(() => recoverJournal(dir)).toThrow(/sequence gap: record has sequence 5, expected 2/);
  });

  test("refuses a missing segment in the middle (sequence gap between segments)", async () => {
    const dir = freshDir();
    const j = Journal.open(dir, { segmentBytes: 200 });
    for (let i = 0; i < 12; i++) await j.append(RecordType.mutation, payload(i, 40));
    await j.close();
    const segs = readdirSync(dir).filter((n) => n.endsWith(".vbj")).sort();
    expect(segs.length).toBeGreaterThan(3);
    expect(recoverJournal(dir).records.length).toBe(12);
    unlinkSync(join(dir, segs[1]!));
    expect(() => recoverJournal(dir)).toThrow(/sequence gap: segment starts at/);
  });

  test("a torn record in an earlier segment is corruption, not a torn tail", async () => {
    const dir = freshDir();
    const j = Journal.open(dir, { segmentBytes: 200 });
    for (let i = 0; i < 8; i++) await j.append(RecordType.mutation, payload(i, 40));
    await j.close();
    const segs = readdirSync(dir).filter((n) => n.endsWith(".vbj")).sort();
    const first = join(dir, segs[0]!);
    truncateSync(first, statSync(first).size - 3);
    expect(() => recoverJournal(dir)).toThrow(JournalError);
  });

  test("refuses a segment whose header checksum is wrong", async () => {
    const dir = await journalWith([2]);
    const b = readFileSync(segPath(dir));
    b[17]! ^= 1;
    writeFileSync(segPath(dir), b);
    expect(() => recoverJournal(dir)).toThrow(/segment header/);
  });

  test("compaction deletes only segments entirely covered by a checkpoint", async () => {
    const dir = freshDir();
    const j = Journal.open(dir, { segmentBytes: 200 });
    for (let i = 0; i < 12; i++) await j.append(RecordType.mutation, payload(i, 40));
    const before = recoverJournal(dir, { readOnly: true }).segments;
    expect(before[1]!.records).toBeGreaterThan(1);
    const covered = before[1]!.firstSeq; // inside segment 2: only segment 1 can go
    expect(j.compact(covered)).toBe(1);
    const after = recoverJournal(dir, { readOnly: true });
    expect(after.records[0]!.seq).toBe(before[1]!.firstSeq);
    expect(after.nextSeq).toBe(13);
    await j.close();
  });

  test("checkpoint records carry the covered sequence and survive reopening", async () => {
    const dir = freshDir();
    const j = Journal.open(dir);
    await batch(j, 0, 3);
    const seq = await j.appendCheckpoint({ coveredSeq: 3, file: "ckpt.gguf", size: 1234, crc: 0xdeadbeef });
    await j.close();
    const r = recoverJournal(dir).records.at(-1)!;
    expect(r.seq).toBe(seq);
    expect(r.type).toBe(RecordType.checkpoint);
    expect(decodeCheckpointRecord(r.payload)).toEqual({ coveredSeq: 3, file: "ckpt.gguf", size: 1234, crc: 0xdeadbeef });
    expect(SEGMENT_HEADER_SIZE).toBe(64);
  });
});
