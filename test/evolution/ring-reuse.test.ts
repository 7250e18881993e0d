// Ring reuse: completions of a closed session decremented the next session's in-flight count, so the ring took more than its completion slots.
import { afterAll, expect, test } from "bun:test";
import { fdatasync } from "node:fs";
import { join } from "node:path";
import { openEvolution } from "../../src/evolution/evolution.ts";
import { F32Store } from "./f32-store.ts";
import { removeDir, tempDir } from "./harness.ts";
import { waitFor } from "../harness/wait.ts";
import { rawProducer } from "./raw-producer.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

test("a ring handed to a new session never takes more submissions than its completion slots, even when the old session's completions land late", async () => {
  const d = tempDir("vb-ring-reuse-");
  dirs.push(d);
  // fdatasync held by the test: records stay in flight until it lets the batch go.
  const held: Array<() => void> = [];
  let hold = true;
  const evo = await openEvolution({
    stateDir: join(d, "state"),
    runDir: join(d, "run"),
    rings: 1,
    slots: 4,
    loadWeights: () => F32Store.synthetic({ "pixel.w": 4096 }, 3),
    journal: {
      syncImpl: (fd, cb) => {
        if (!hold) return fdatasync(fd, cb);
        held.push(() => fdatasync(fd, cb));
      },
    },
  });
  try {
    // Session A fills the ring; its 4 records wait for the held fsync. Then A goes away.
    const a = await rawProducer(evo.socketPath);
    a.submit(4);
    await waitFor(() => evo.stats().submissions === 4 && held.length === 1, 10_000, "A's batch at the fsync");
    a.close();
    await waitFor(() => evo.stats().sessions === 0, 10_000, "A's session to close");
    // Session B gets the same ring and fills it too (its records queue behind A's batch).
    const b = await rawProducer(evo.socketPath);
    expect(b.ring).toBe(0);
    b.submit(4);
    await waitFor(() => evo.stats().submissions === 8, 10_000, "B's 4 submissions taken");
    // A's batch becomes durable: its completions are for a session that is gone (dropped).
    held.shift()!();
    await waitFor(() => evo.stats().completionsDropped === 4 && held.length === 1, 10_000, "A's completions dropped, B's batch at the fsync");
    // B publishes 4 more while its first 4 still await their completions: the ring has no
    // completion slot left for them, so none may be taken.
    b.submit(4);
    for (let i = 0; i < 20; i++) {
      evo.drain(256);
      await Bun.sleep(5);
    }
    expect(evo.stats().submissions).toBe(8);
    // Once B's batch is durable its completions free the ring... for B to consume; the rest waits.
    hold = false;
    held.shift()!();
    await waitFor(() => evo.stats().accepted === 8, 10_000, "A's and B's first batches acknowledged");
    expect(evo.stats().completionsDropped).toBe(4);
    b.close();
  } finally {
    hold = false;
    for (const f of held.splice(0)) f();
    await evo.close();
  }
}, 60_000);
