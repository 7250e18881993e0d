// Ring reuse: completions of a closed session decremented the next session's in-flight count, so the ring took more than its completion slots.
import { afterAll, expect, test } from "bun:test";
import { at, runUnderStrace } from "../journal/sync-under-strace.ts";
import { removeDir, tempDir } from "./harness.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/**
 * The scenario, in a child process whose every fdatasync strace holds for a second: records stay
 * in flight that long. Each step that must happen while a batch is at its fsync checks that it
 * still is (the journal's durable sequence), so a missed window fails instead of passing blind.
 */
const scenario = `
import { openEvolution } from ${at("src/evolution/evolution.ts")};
import { F32Store } from ${at("test/evolution/f32-store.ts")};
import { rawProducer } from ${at("test/evolution/raw-producer.ts")};
import { waitFor } from ${at("test/harness/wait.ts")};
import { syncInFlight } from ${at("test/journal/sync-probe.ts")};
const d = process.argv[2];
const evo = await openEvolution({ stateDir: d + "/state", runDir: d + "/run", rings: 1, slots: 4, loadWeights: () => F32Store.synthetic({ "pixel.w": 4096 }, 3) });
const stillInFlight = (durable, what) => {
  if (evo.stats().journalDurableSeq !== durable) throw new Error("the fdatasync returned before " + what + ": make the delay longer");
};
const out = {};
// Session A fills the ring; its 4 records wait for their fsync. Then A goes away.
const a = await rawProducer(evo.socketPath);
a.submit(4);
await waitFor(() => evo.stats().submissions === 4 && syncInFlight(), 10_000, "A's batch at the fsync");
a.close();
await waitFor(() => evo.stats().sessions === 0, 10_000, "A's session to close");
// Session B gets the same ring and fills it too (its records queue behind A's batch).
const b = await rawProducer(evo.socketPath);
out.ringB = b.ring;
b.submit(4);
await waitFor(() => evo.stats().submissions === 8, 10_000, "B's 4 submissions taken");
stillInFlight(0, "B's submissions were taken");
// A's batch becomes durable: its completions are for a session that is gone (dropped).
await waitFor(() => evo.stats().completionsDropped === 4 && syncInFlight(), 10_000, "A's completions dropped, B's batch at the fsync");
// B publishes 4 more while its first 4 still await their completions: the ring has no
// completion slot left for them, so none may be taken.
b.submit(4);
for (let i = 0; i < 20; i++) {
  evo.drain(256);
  await Bun.sleep(5);
}
out.submissionsWhileFull = evo.stats().submissions;
stillInFlight(4, "B's extra submissions were tried");
// Once B's batch is durable its completions free the ring... for B to consume; the rest waits.
await waitFor(() => evo.stats().accepted === 8, 10_000, "A's and B's first batches acknowledged");
out.completionsDropped = evo.stats().completionsDropped;
b.close();
await evo.close();
console.log(JSON.stringify(out));
`;

test("a ring handed to a new session never takes more submissions than its completion slots, even when the old session's completions land late", async () => {
  const d = tempDir("vb-ring-reuse-");
  dirs.push(d);
  const { result, syncs } = await runUnderStrace<any>(d, "ring-reuse", scenario, [d], { delayUs: 1_000_000 });
  expect(result).toEqual({ ringB: 0, submissionsWhileFull: 8, completionsDropped: 4 });
  expect(syncs.length).toBeGreaterThanOrEqual(2); // A's batch, B's batch (each held a second)
}, 60_000);
