// A damaged last record followed by a repeated pattern held recovery (the boot) for hours: every offset read as a plausible header and was checksummed over up to 1 MiB; a budget made ordinary values after a torn record "corrupt".
import { afterAll, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JournalError } from "../../src/errors.ts";
import { encodeMutationRecord } from "../../src/evolution/mutation-record.ts";
import { RecordType, segmentFileName } from "../../src/journal/format.ts";
import { Journal } from "../../src/journal/journal.ts";
import { recoverJournal } from "../../src/journal/recovery.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A state dir whose journal holds 3 mutations, and its one segment. */
async function threeMutations(): Promise<{ dir: string; seg: string }> {
  const state = mkdtempSync(join(tmpdir(), "vb-jbudget-"));
  dirs.push(state);
  const dir = join(state, "journal");
  const j = Journal.open(dir);
  for (let i = 0; i < 3; i++) await j.append(RecordType.mutation, encodeMutationRecord({ tensor: "pixel.w", elementOffset: i, values: Float32Array.of(i), confidence: 0.9 }));
  await j.close();
  return { dir, seg: join(dir, segmentFileName(1)) };
}

test("a last segment whose bad record is followed by 2 MiB reading as a record header at every 16th byte (length 960 KiB, durable 0xf0000 below sequence 0xf0001, both past the expected 4) is judged within seconds: corrupt (the search gave up, so the tail is not shown unacknowledged), nothing cut", async () => {
  const { dir, seg } = await threeMutations();
  const badAt = readFileSync(seg).length;
  // A record header whose length no record has, then the pattern: length 0x000f0000 and a zero
  // checksum; the "sequence" eight bytes on is 0x000f0001, the "durable" sixteen on the next length.
  const pattern = new Uint8Array(2 << 20);
  for (let i = 0; i < pattern.length; i += 16) {
    pattern[i + 2] = 0x0f;
    pattern[i + 8] = 0x01;
    pattern[i + 10] = 0x0f;
  }
  appendFileSync(seg, Buffer.concat([Buffer.alloc(28, 0xff), pattern]));
  const bytes = readFileSync(seg);
  const t0 = performance.now();
  const r = recoverJournal(dir, { readOnly: true });
  expect(performance.now() - t0).toBeLessThan(10_000);
  expect(r.records.length).toBe(3);
  expect(r.damage).toMatchObject({ kind: "corrupt", offset: badAt, seq: 4 });
  expect(r.damage!.problem).toContain("too many to search for a later record");
  expect(() => Journal.open(dir)).toThrow(JournalError);
  expect(readFileSync(seg).equals(bytes)).toBe(true);
}, 60_000);

test("a torn record followed by a whole batch of ordinary values (1.0 and 0.0 side by side read as headers at every 8th byte) was called corrupt (the search's budget ran out) and evolution refused at boot: it is a torn tail, cut", async () => {
  const { dir, seg } = await threeMutations();
  const j = Journal.open(dir);
  const values = new Float32Array(4096);
  for (let i = 0; i < values.length; i += 2) values[i] = 1;
  await j.appendMany(RecordType.mutation, Array.from({ length: 80 }, (_, i) => encodeMutationRecord({ tensor: "pixel.w", elementOffset: i, values, confidence: 0.9 })));
  await j.close();
  // The batch's first record loses a byte of its payload, as a write torn by a power cut.
  const before = recoverJournal(dir, { readOnly: true });
  const first = before.records[3]!;
  const b = readFileSync(seg);
  b[first.offset + 40]! ^= 0xff;
  writeFileSync(seg, b);
  const r = recoverJournal(dir, { readOnly: true });
  expect(r.damage).toMatchObject({ kind: "torn", offset: first.offset, seq: 4 });
  expect(r.records.length).toBe(3);
}, 60_000);
