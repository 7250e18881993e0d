// A checksum-valid last record whose `durable >= seq` was cut as a torn tail: it is corruption.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runJournalCommand as verify } from "./journal-command.ts";
import { JournalError } from "../../src/errors.ts";
import { encodeMutationRecord } from "../../src/evolution/mutation-record.ts";
import { crc32c } from "../../src/journal/crc32c.ts";
import { RECORD_HEADER_SIZE, RecordType, segmentFileName } from "../../src/journal/format.ts";
import { Journal } from "../../src/journal/journal.ts";
import { recoverJournal } from "../../src/journal/recovery.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A state dir whose journal holds 3 mutations; the last one's `durable` rewritten to `durable` (checksum recomputed). */
async function stateWithLastDurable(durable: bigint): Promise<{ state: string; seg: string; bytes: Buffer; lastOffset: number }> {
  const state = mkdtempSync(join(tmpdir(), "vb-jseq-"));
  dirs.push(state);
  const j = Journal.open(join(state, "journal"));
  for (let i = 0; i < 3; i++) await j.append(RecordType.mutation, encodeMutationRecord({ tensor: "pixel.w", elementOffset: i, values: Float32Array.of(i), confidence: 0.9 }));
  await j.close();
  const seg = join(state, "journal", segmentFileName(1));
  const off = recoverJournal(join(state, "journal"), { readOnly: true }).records[2]!.offset;
  const b = readFileSync(seg);
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  v.setBigUint64(off + 16, durable, true);
  v.setUint32(off + 4, crc32c(b, off + 8, off + RECORD_HEADER_SIZE + v.getUint32(off, true)), true);
  writeFileSync(seg, b);
  return { state, seg, bytes: b, lastOffset: off };
}

describe("journal recovery: a whole-written record with impossible sequence fields", () => {
  for (const [what, durable] of [["durable == seq", 3n], ["durable > seq", 9n]] as const) {
    test(`a checksum-valid last record with ${what} was cut silently as a torn tail at boot: refused as corruption, nothing cut`, async () => {
      const { state, seg, bytes, lastOffset } = await stateWithLastDurable(durable);
      const dir = join(state, "journal");
      expect(recoverJournal(dir, { readOnly: true }).damage).toMatchObject({ kind: "corrupt", offset: lastOffset, seq: 3 });
      expect(() => Journal.open(dir)).toThrow(JournalError);
      expect(() => recoverJournal(dir)).toThrow(/impossible sequence fields \(sequence 3, durable/);
      expect(readFileSync(seg).equals(bytes)).toBe(true);
      const r = await verify(["verify", "--state", state]);
      expect(r.code).toBe(65);
      expect(r.out).toContain(`CORRUPT (acknowledged data damaged) in ${segmentFileName(1)} at byte ${lastOffset}`);
      expect(readFileSync(seg).equals(bytes)).toBe(true);
    });
  }
});
