// A damaged last record followed by a repeated 8-byte pattern held recovery (the boot) for hours: every offset read as a plausible header and was checksummed over up to 1 MiB.
import { afterAll, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JournalError } from "../../src/errors.ts";
import { encodeMutationRecord } from "../../src/evolution/mutation-record.ts";
import { RecordType, segmentFileName } from "../../src/journal/format.ts";
import { Journal } from "../../src/journal/journal.ts";
import { recoverJournal } from "../../src/journal/recovery.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test("a last segment whose bad record is followed by 2 MiB reading as a record header at every 8th byte (length 960 KiB, a plausible sequence) is judged within seconds: corrupt (the search gave up, so the tail is not shown unacknowledged), nothing cut", async () => {
  const state = mkdtempSync(join(tmpdir(), "vb-jbudget-"));
  dirs.push(state);
  const dir = join(state, "journal");
  const j = Journal.open(dir);
  for (let i = 0; i < 3; i++) await j.append(RecordType.mutation, encodeMutationRecord({ tensor: "pixel.w", elementOffset: i, values: Float32Array.of(i), confidence: 0.9 }));
  await j.close();
  const seg = join(dir, segmentFileName(1));
  const badAt = readFileSync(seg).length;
  // A record header whose length no record has, then the pattern: length 0x000f0000 and a zero
  // checksum, so the u64 eight bytes on (the "sequence") is 0x000f0000 too, >= the expected 4.
  const pattern = new Uint8Array(2 << 20);
  for (let i = 0; i < pattern.length; i += 8) pattern[i + 2] = 0x0f;
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
