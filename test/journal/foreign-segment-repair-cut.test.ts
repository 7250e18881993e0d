// Another model's segment that did not continue this journal's sequence (or that followed damage) was taken for corruption: a repair deleted it.
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runJournalCommand as run } from "./journal-command.ts";
import { JournalError } from "../../src/errors.ts";
import { encodeMutationRecord } from "../../src/evolution/mutation-record.ts";
import { RecordType } from "../../src/journal/format.ts";
import { Journal } from "../../src/journal/journal.ts";
import { recoverJournal } from "../../src/journal/recovery.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), "vb-jforeign-"));
  dirs.push(d);
  return d;
};

const A = "a".repeat(64);
const B = "b".repeat(64);
const payload = (i: number) => encodeMutationRecord({ tensor: "pixel.w", elementOffset: i, values: Float32Array.of(i, i + 1), confidence: 0.9 });

/** A state dir whose journal (opened for `lineage`) holds `n` records, in several segments. */
async function stateOf(lineage: string, n: number): Promise<string> {
  const state = fresh();
  const j = Journal.open(join(state, "journal"), { lineage, segmentBytes: 300 });
  for (let i = 0; i < n; i++) await j.append(RecordType.mutation, payload(i));
  await j.close();
  writeFileSync(join(state, "LINEAGE"), `${lineage}\n`);
  return state;
}

const segments = (dir: string) => readdirSync(dir).filter((n) => n.endsWith(".vbj")).sort();
const snapshot = (dir: string) => Object.fromEntries(segments(dir).map((n) => [n, readFileSync(join(dir, n)).toString("hex")]));

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
