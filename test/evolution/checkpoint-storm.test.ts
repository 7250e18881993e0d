// A checkpoint asked for during a mutation storm that never pauses is written (bounded), and holds exactly the records it claims to cover.
import { afterAll, expect, test } from "bun:test";
import { fdatasync, readFileSync } from "node:fs";
import { join } from "node:path";
import { openEvolution } from "../../src/evolution/evolution.ts";
import { decodeMutationRecord } from "../../src/evolution/mutation-record.ts";
import { checkpointDirOf } from "../../src/evolution/persistence.ts";
import { RecordType } from "../../src/journal/format.ts";
import { recoverJournal } from "../../src/journal/recovery.ts";
import { loadStandIn } from "./consumer.ts";
import { F32Store } from "./f32-store.ts";
import { removeDir, tempDir } from "./harness.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

test("checkpoint-starved-by-mutation-storm: a checkpoint waited for an idle journal, so a producer that always had a mutation arriving during the fdatasync (every turn of the event loop) delayed it for as long as the storm lasted: it is written within a few batches", async () => {
  const d = tempDir("vb-ckstorm-");
  dirs.push(d);
  const stateDir = join(d, "state");
  // An fdatasync of 2 ms, as on a real disk (tmpfs returns at once): the storm's next mutations arrive during it.
  const syncImpl = (fd: number, cb: (e: Error | null) => void) => fdatasync(fd, (e) => setTimeout(() => cb(e), 2));
  const evo = await openEvolution({ stateDir, runDir: join(d, "run"), loadWeights: loadStandIn, journal: { syncImpl } });
  let stop = false;
  let sent = 0;
  const acked: Promise<unknown>[] = [];
  // The storm: one mutation every turn of the event loop, never waiting for its acknowledgement
  // (as a pipelining producer does), so one is always appended while a batch's fdatasync runs.
  const storm = (async () => {
    while (!stop) {
      acked.push(evo.submit({ tensor: "pixel.w", elementOffset: sent % 4000, values: Float32Array.of((sent % 1000) / 1000), confidence: 0.9 }));
      sent++;
      await new Promise((r) => setImmediate(r));
    }
  })();
  await Bun.sleep(100); // the storm is under way
  const started = performance.now();
  const ck = await Promise.race([evo.checkpoint(), Bun.sleep(5_000).then(() => null)]);
  const waitedMs = performance.now() - started;
  const sentDuringWait = sent;
  stop = true;
  await storm;
  const outcomes = (await Promise.all(acked)) as { statusName: string }[];
  expect(outcomes.filter((o) => o.statusName !== "ACCEPTED")).toEqual([]);
  // Not written after 5 s of storm on the old code (a checkpoint is a few milliseconds of work here).
  expect({ written: ck !== null, underFiveSeconds: waitedMs < 5_000 }).toEqual({ written: true, underFiveSeconds: true });
  await evo.close();
  // It covers what was acknowledged before it was asked for, and exactly the records it names.
  expect(ck!.coveredSeq).toBeGreaterThan(0);
  expect(ck!.coveredSeq).toBeLessThan(sentDuringWait + 2);
  const file = F32Store.fromGguf(readFileSync(join(checkpointDirOf(stateDir), ck!.file)));
  const expected = loadStandIn(null);
  for (const r of recoverJournal(join(stateDir, "journal")).records) {
    if (r.seq > ck!.coveredSeq || r.type !== RecordType.mutation) continue;
    const m = decodeMutationRecord(r.payload);
    expected.applyMutation(m.tensor, m.elementOffset, m.values);
  }
  expect(file.checksum()).toBe(expected.checksum());
}, 30_000);
