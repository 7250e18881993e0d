// Another model's segment that did not continue this journal's sequence (or that followed damage) was taken for corruption: a repair deleted it.
import { expect, test } from "bun:test";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runJournalCommand as run } from "./journal-command.ts";
import { A, B, segments, snapshot, stateOf } from "./lineage-states.ts";
import { JournalError } from "../../src/errors.ts";
import { Journal } from "../../src/journal/journal.ts";
import { recoverJournal } from "../../src/journal/recovery.ts";

/** `fn`'s JournalError, or null when it threw none. */
function journalErrorOf(fn: () => unknown): JournalError | null {
  try {
    fn();
  } catch (e) {
    if (e instanceof JournalError) return e;
    throw e;
  }
  return null;
}

test("another model's segment copied in beside this journal's, its first sequence past this journal's end, read as a sequence gap (CORRUPT): `verify --repair` and a repairing boot deleted it; it is refused as another model's, nothing deleted", async () => {
  const mine = await stateOf(A, 6);
  const other = await stateOf(B, 40);
  const dir = join(mine, "journal");
  const own = segments(dir);
  // A segment of the other model whose name this journal does not have: it starts past its end.
  const copied = segments(join(other, "journal")).filter((n) => !own.includes(n)).at(-1)!;
  copyFileSync(join(other, "journal", copied), join(dir, copied));
  const before = snapshot(dir);

  const r = recoverJournal(dir, { readOnly: true, lineage: A });
  expect(r.damage).toMatchObject({ kind: "foreign", segment: copied });
  const v = await run(["verify", "--state", mine]);
  expect(v.code).toBe(65);
  expect(v.out).toContain(`FOREIGN (another base model's history; never replayed, never cut) in ${copied}`);
  await expect(run(["verify", "--repair", "--state", mine])).rejects.toThrow(JournalError);
  expect(snapshot(dir)).toEqual(before);
  const e = journalErrorOf(() => Journal.open(dir, { lineage: A, repair: true }));
  expect(e?.message).toContain(`journal segment ${join(dir, copied)} belongs to another base model`);
  expect(snapshot(dir)).toEqual(before);
});

test("another model's segment after damage in this journal's own: a repair's cut deleted it with the segments after the damage; the repair is refused naming it, nothing deleted", async () => {
  const mine = await stateOf(A, 12);
  const other = await stateOf(B, 40);
  const dir = join(mine, "journal");
  const own = segments(dir);
  expect(own.length).toBeGreaterThan(2);
  const copied = segments(join(other, "journal")).filter((n) => !own.includes(n)).at(-1)!;
  copyFileSync(join(other, "journal", copied), join(dir, copied));
  // A byte of a record in this journal's first segment flipped: acknowledged data damaged.
  const first = join(dir, own[0]!);
  const b = readFileSync(first);
  b[b.length - 3] = b[b.length - 3]! ^ 0xff;
  writeFileSync(first, b);
  const before = snapshot(dir);

  const e = journalErrorOf(() => Journal.open(dir, { lineage: A, repair: true }));
  expect(e?.message).toContain(`journal segment ${join(dir, copied)} belongs to another base model`);
  expect(snapshot(dir)).toEqual(before);
  await expect(run(["verify", "--repair", "--state", mine])).rejects.toThrow(JournalError);
  expect(snapshot(dir)).toEqual(before);
});
