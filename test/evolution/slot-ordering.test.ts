// Weak memory ordering: a slot seen before its contents (tail published first) used to be consumed as a BAD_CHECKSUM rejection.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { SLOT_SETTLE_MS } from "../../src/evolution/channel.ts";
import { openEvolution } from "../../src/evolution/evolution.ts";
import { F32Store } from "../../src/evolution/f32-store.ts";
import { Status } from "../../src/evolution/reasons.ts";
import { removeDir, tempDir } from "./harness.ts";
import { rawProducer } from "./raw-producer.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(2);
  }
}

async function channel() {
  const d = tempDir("vb-ordering-");
  dirs.push(d);
  const evo = await openEvolution({ stateDir: join(d, "state"), runDir: join(d, "run"), rings: 1, slots: 4, loadWeights: () => F32Store.synthetic({ "pixel.w": 4096 }, 3) });
  // The beat's drain, as in the init: a slot left unsettled is looked at again.
  const beat = setInterval(() => evo.drain(64), 10);
  return { evo, stop: async () => (clearInterval(beat), await evo.close()) };
}

test("a slot whose bytes arrive after its tail is retried, then accepted (no BAD_CHECKSUM)", async () => {
  const { evo, stop } = await channel();
  try {
    const p = await rawProducer(evo.socketPath);
    // The bytes come 25 ms after the tail: well inside the settle time (which must allow it).
    expect(SLOT_SETTLE_MS).toBeGreaterThan(50);
    await p.submitTailFirst(25);
    await until(() => p.completions().length === 1, "the completion");
    expect(p.completions()).toEqual([{ status: Status.accepted, tag: 0n }]);
    expect(evo.stats().rejected).toEqual({});
    p.close();
  } finally {
    await stop();
  }
}, 30_000);

test("a slot whose bytes never become valid is answered BAD_CHECKSUM only after it had time to settle, and the ring goes on", async () => {
  const { evo, stop } = await channel();
  try {
    const p = await rawProducer(evo.socketPath);
    const t0 = performance.now();
    await p.submitTailFirst(null);
    await until(() => p.completions().length === 1, "the rejection");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(SLOT_SETTLE_MS);
    expect(p.completions()[0]!.status).toBe(Status.badChecksum);
    p.submit(1);
    await until(() => p.completions().length === 2, "the next completion");
    expect(p.completions()[1]).toEqual({ status: Status.accepted, tag: 1n });
    p.close();
  } finally {
    await stop();
  }
}, 30_000);
