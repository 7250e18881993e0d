// Journal segments record their base model's SHA-256: another model's segments copied in were replayed onto this model.
import { describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runJournalCommand as run } from "./journal-command.ts";
import { A, B, fresh, payload, segments, snapshot, stateOf } from "./lineage-states.ts";
import { JournalError } from "../../src/errors.ts";
import { crc32c } from "../../src/journal/crc32c.ts";
import { encodeRecord, RecordType, SEGMENT_MAGIC, segmentFileName } from "../../src/journal/format.ts";
import { Journal } from "../../src/journal/journal.ts";
import { recoverJournal } from "../../src/journal/recovery.ts";

/** A version-1 segment as images before segment lineages wrote it: 32-byte header (no lineage), then records. */
function v1Segment(firstSeq: number, n: number): Uint8Array {
  const h = new Uint8Array(32);
  const v = new DataView(h.buffer);
  h.set(SEGMENT_MAGIC, 0);
  v.setUint32(8, 1, true);
  v.setUint32(12, 32, true);
  v.setBigUint64(16, BigInt(firstSeq), true);
  v.setUint32(28, crc32c(h, 0, 28), true);
  const recs = Array.from({ length: n }, (_, i) => encodeRecord(firstSeq + i, firstSeq + i - 1, RecordType.mutation, payload(i)));
  return Buffer.concat([h, ...recs]);
}

describe("journal segment lineage", () => {
  test("segments copied from another model's state dir (the LINEAGE file left as it was) were replayed onto this model: refused naming the file and both lineages, nothing cut or deleted, not even by a repair", async () => {
    const mine = await stateOf(A);
    const other = await stateOf(B);
    const dir = join(mine, "journal");
    const ownSegments = segments(dir);
    expect(ownSegments.length).toBeGreaterThan(1);
    // The other model's later segments copied over this one's (same sequence numbers, same names).
    for (const n of segments(join(other, "journal")).slice(1)) copyFileSync(join(other, "journal", n), join(dir, n));
    const before = snapshot(dir);
    const foreign = join(dir, ownSegments[1]!);

    for (const opts of [{ lineage: A }, {}, { lineage: A, repair: true }]) {
      let err: unknown;
      try {
        Journal.open(dir, opts);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(JournalError);
      expect((err as JournalError).exitCode).toBe(74);
      expect((err as Error).message).toContain(`journal segment ${foreign} belongs to another base model: segment records lineage ${B}, expected ${A}`);
      expect(snapshot(dir)).toEqual(before);
    }
    // Only this model's own first segment is readable; the rest is reported, not returned.
    const r = recoverJournal(dir, { readOnly: true, lineage: A });
    expect(r.damage).toMatchObject({ kind: "foreign", segment: ownSegments[1] });
    expect(r.records.every((x) => x.segment === ownSegments[0])).toBe(true);
    // The whole journal copied in (every segment the other model's) is refused as well.
    const all = await stateOf(B);
    expect(() => Journal.open(join(all, "journal"), { lineage: A })).toThrow(`journal segment ${join(all, "journal", segmentFileName(1))} belongs to another base model`);

    // verify says so (65) and --repair refuses (74) with nothing changed; inspect shows each segment's lineage.
    const v = await run(["verify", "--state", mine]);
    expect(v.code).toBe(65);
    expect(v.out).toContain(`FOREIGN (another base model's history; never replayed, never cut) in ${ownSegments[1]}`);
    expect(v.out).toContain(`segment records lineage ${B}, expected ${A}`);
    await expect(run(["verify", "--repair", "--state", mine])).rejects.toThrow(JournalError);
    expect(snapshot(dir)).toEqual(before);
    const i = JSON.parse((await run(["inspect", "--json", "--state", mine])).out);
    expect(i.segments[0]).toMatchObject({ name: ownSegments[0], version: 2, lineage: A });
    expect(i.damage).toMatchObject({ kind: "foreign", segment: ownSegments[1] });
    expect((await run(["inspect", "--state", mine])).out).toContain(`segment ${ownSegments[0]}: first 1, `);
    expect((await run(["inspect", "--state", mine])).out).toContain(`lineage ${A}`);
    expect((await run(["compact", "--state", mine])).code).toBe(65);
    expect(snapshot(dir)).toEqual(before);

    // The other model's segments moved out again: this model's acknowledged records are all there.
    for (const n of ownSegments.slice(1)) rmSync(join(dir, n));
    const back = await stateOf(A);
    for (const n of segments(join(back, "journal")).slice(1)) copyFileSync(join(back, "journal", n), join(dir, n));
    const ok = Journal.open(dir, { lineage: A });
    expect(ok.recovered.records.map((x) => x.seq)).toEqual(Array.from({ length: 12 }, (_, k) => k + 1));
    await ok.close();
  });

  test("a version-1 segment after segments that record a lineage (copied in from an older state dir, named with the next sequence) was replayed onto these weights: refused as another state dir's history, nothing cut", async () => {
    const state = fresh();
    const dir = join(state, "journal");
    const j = Journal.open(dir, { lineage: A });
    for (let i = 0; i < 3; i++) await j.append(RecordType.mutation, payload(i));
    await j.close();
    writeFileSync(join(dir, segmentFileName(4)), v1Segment(4, 2));
    const before = snapshot(dir);
    const r = recoverJournal(dir, { lineage: A, readOnly: true });
    expect(r.records.map((x) => x.seq)).toEqual([1, 2, 3]);
    expect(r.damage).toMatchObject({ kind: "foreign", segment: segmentFileName(4), seq: 4 });
    expect(r.damage!.problem).toContain(`records no lineage (version 1) after segments that record ${A}`);
    expect(() => Journal.open(dir, { lineage: A })).toThrow(JournalError);
    expect(() => Journal.open(dir, { lineage: A, repair: true })).toThrow(JournalError);
    expect(snapshot(dir)).toEqual(before);
  });

  test("a version-1 segment (written by an image before segments recorded a lineage) is still read under the state dir's LINEAGE; what is appended after goes into a segment that records it", async () => {
    const state = fresh();
    const dir = join(state, "journal");
    mkdirSync(dir);
    writeFileSync(join(dir, segmentFileName(1)), v1Segment(1, 3));
    const j = Journal.open(dir, { lineage: A });
    expect(j.recovered.records.map((x) => x.seq)).toEqual([1, 2, 3]);
    expect(j.recovered.segments[0]).toMatchObject({ version: 1, lineage: null });
    expect(await j.append(RecordType.mutation, payload(4))).toBe(4);
    await j.close();
    const r = recoverJournal(dir, { lineage: A });
    expect(r.damage).toBeNull();
    expect(r.records.map((x) => x.seq)).toEqual([1, 2, 3, 4]);
    expect(r.segments.map((s) => [s.name, s.version, s.lineage])).toEqual([
      [segmentFileName(1), 1, null],
      [segmentFileName(4), 2, A],
    ]);
    // The old segment was not rewritten; a header-only one is replaced by one that records the lineage.
    expect(readFileSync(join(dir, segmentFileName(1)))).toEqual(Buffer.from(v1Segment(1, 3)));
    const empty = join(fresh(), "journal");
    mkdirSync(empty);
    writeFileSync(join(empty, segmentFileName(1)), v1Segment(1, 0));
    await Journal.open(empty, { lineage: B }).close();
    expect(recoverJournal(empty).segments.map((s) => [s.name, s.version, s.lineage])).toEqual([[segmentFileName(1), 2, B]]);
    // A version-1 segment beside this model's is never taken for another model's.
    expect((await run(["verify", "--state", state])).code).toBe(0);
  });

  test("inspect of a state dir without LINEAGE whose segments name a model said only 'not recorded', though a boot of that model resumes the history: it names the model and says so", async () => {
    const state = await stateOf(A);
    rmSync(join(state, "LINEAGE"));
    const r = await run(["inspect", "--state", state]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`lineage: base model sha256 (not recorded in LINEAGE; the segments record ${A}: a boot of that model resumes this history and writes it)`);
    // Segments that name no model (version 1): nothing to go by.
    const old = fresh();
    mkdirSync(join(old, "journal"));
    writeFileSync(join(old, "journal", segmentFileName(1)), v1Segment(1, 2));
    expect((await run(["inspect", "--state", old])).out).toContain("lineage: base model sha256 (not recorded)\n");
  });
});
