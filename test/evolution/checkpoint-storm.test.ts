// A checkpoint asked for during a mutation storm that never pauses is written (bounded), and holds exactly the records it claims to cover.
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeMutationRecord } from "../../src/evolution/mutation-record.ts";
import { checkpointDirOf } from "../../src/evolution/persistence.ts";
import { RecordType } from "../../src/journal/format.ts";
import { recoverJournal } from "../../src/journal/recovery.ts";
import { at, runUnderStrace } from "../journal/sync-under-strace.ts";
import { loadStandIn } from "./consumer.ts";
import { F32Store } from "./f32-store.ts";
import { removeDir, tempDir } from "./harness.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** The storm, in a child process whose fdatasync strace makes slow. */
const storm = `
import { openEvolution } from ${at("src/evolution/evolution.ts")};
import { loadStandIn } from ${at("test/evolution/consumer.ts")};
const [stateDir, runDir] = process.argv.slice(2);
const evo = await openEvolution({ stateDir, runDir, loadWeights: loadStandIn });
let stop = false;
let sent = 0;
const acked = [];
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
let timer;
const ck = await Promise.race([evo.checkpoint(), new Promise((r) => (timer = setTimeout(() => r(null), 5_000)))]);
clearTimeout(timer);
const waitedMs = performance.now() - started;
const sentDuringWait = sent;
stop = true;
await storm;
const outcomes = await Promise.all(acked);
await evo.close();
console.log(JSON.stringify({ notAccepted: outcomes.filter((o) => o.statusName !== "ACCEPTED"), ck, waitedMs, sentDuringWait }));
`;

test("checkpoint-starved-by-mutation-storm: a checkpoint waited for an idle journal, so a producer that always had a mutation arriving during the fdatasync (every turn of the event loop) delayed it for as long as the storm lasted: it is written within a few batches", async () => {
  const d = tempDir("vb-ckstorm-");
  dirs.push(d);
  const stateDir = join(d, "state");
  // Every real fdatasync takes 50 ms more, as on a slow disk (tmpfs returns at once): the storm's
  // next mutations arrive during it. (At 2 ms the old code's journal still went idle now and then,
  // when the main thread's work on a big batch outlasted the next fdatasync: written in 0.1-2.6 s.)
  const { result, syncs } = await runUnderStrace<any>(d, "storm", storm, [stateDir, join(d, "run")], { delayUs: 50_000 });
  expect(syncs.filter((s) => s.result === "0 (DELAYED)").length).toBeGreaterThan(2); // the delay held real fdatasync calls
  expect(result.notAccepted).toEqual([]);
  const ck = result.ck as { coveredSeq: number; file: string } | null;
  // Not written after 5 s of storm on the old code (a checkpoint is a few milliseconds of work here).
  expect({ written: ck !== null, underFiveSeconds: result.waitedMs < 5_000 }).toEqual({ written: true, underFiveSeconds: true });
  // It covers what was acknowledged before it was asked for, and exactly the records it names.
  expect(ck!.coveredSeq).toBeGreaterThan(0);
  expect(ck!.coveredSeq).toBeLessThan(result.sentDuringWait + 2);
  const file = F32Store.fromGguf(readFileSync(join(checkpointDirOf(stateDir), ck!.file)));
  const expected = loadStandIn(null);
  for (const r of recoverJournal(join(stateDir, "journal")).records) {
    if (r.seq > ck!.coveredSeq || r.type !== RecordType.mutation) continue;
    const m = decodeMutationRecord(r.payload);
    expected.applyMutation(m.tensor, m.elementOffset, m.values);
  }
  expect(file.checksum()).toBe(expected.checksum());
}, 30_000);
