// Weak memory ordering: a slot seen before its contents (tail published first) used to be consumed as a BAD_CHECKSUM rejection.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { SLOT_SETTLE_MS } from "../../src/evolution/channel.ts";
import { openEvolution } from "../../src/evolution/evolution.ts";
import { F32Store } from "./f32-store.ts";
import { Status } from "../../src/evolution/reasons.ts";
import { removeDir, runPython, startConsumer, tempDir } from "./harness.ts";
import { waitFor } from "../harness/wait.ts";
import { rawProducer } from "./raw-producer.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

async function channel(beat = true) {
  const d = tempDir("vb-ordering-");
  dirs.push(d);
  // autoDrain off: the drains are the beat's (or the test's own), never the doorbell's.
  const evo = await openEvolution({ stateDir: join(d, "state"), runDir: join(d, "run"), rings: 1, slots: 4, ...(beat ? {} : { autoDrain: false }), loadWeights: () => F32Store.synthetic({ "pixel.w": 4096 }, 3) });
  // The beat's drain, as in the init: a slot left unsettled is looked at again.
  const timer = beat ? setInterval(() => evo.drain(64), 10) : null;
  return { evo, stop: async () => (timer && clearInterval(timer), await evo.close()) };
}

test("a slot whose bytes arrive after its tail is retried, then accepted (no BAD_CHECKSUM)", async () => {
  // The drains are run here, in order, with no timer: a stall of this process cannot turn the
  // wait for the bytes into the settle time running out.
  const { evo, stop } = await channel(false);
  try {
    const p = await rawProducer(evo.socketPath);
    expect(SLOT_SETTLE_MS).toBeGreaterThan(50);
    await p.submitTailFirst(() => {
      // The consumer sees the new tail before the bytes: it takes nothing and answers nothing.
      expect(evo.drain(64)).toBe(0);
      expect(evo.drain(64)).toBe(0);
      expect(p.completions()).toEqual([]);
    });
    expect(evo.drain(64)).toBe(1);
    await waitFor(() => p.completions().length === 1, 10_000, "the completion");
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
    await waitFor(() => p.completions().length === 1, 10_000, "the rejection");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(SLOT_SETTLE_MS);
    expect(p.completions()[0]!.status).toBe(Status.badChecksum);
    p.submit(1);
    await waitFor(() => p.completions().length === 2, 10_000, "the next completion");
    expect(p.completions()[1]).toEqual({ status: Status.accepted, tag: 1n });
    p.close();
  } finally {
    await stop();
  }
}, 30_000);

test("the Python client leaves a completion whose checksum fails at the head and reads it again (not dropped); one that stays bad is an error", async () => {
  const d = tempDir("vb-ordering-py-");
  dirs.push(d);
  const c = await startConsumer(join(d, "state"), join(d, "run"), ["--rings", "1", "--slots", "4"]);
  try {
    // The test plays the weakly ordered CPU: it flips a byte of the posted completion, as if the
    // client saw cmp_tail before the slot's bytes, then puts it back.
    const out = await runPython(
      `
import sys, time
from vector_boot_evolution import Client, ChannelError
from vector_boot_evolution import layout as cl
with Client(sys.argv[1], timeout=10) as c:
    tag = c.submit("pixel.w", 7, [0.5], 0.9)
    end = time.monotonic() + 10
    while c._load(cl.CMP_TAIL) == c.cmp_head and time.monotonic() < end:
        time.sleep(0.001)
    off = c.base + cl.CONTROL_SIZE + c.slots * cl.SUB_SLOT_SIZE + (c.cmp_head & (c.slots - 1)) * cl.CMP_SLOT_SIZE
    good = c.mem[off + 8]
    c.mem[off + 8] = good ^ 0xFF
    print("reaped while torn:", c._reap(), "head kept:", c.cmp_head == 0)
    c.mem[off + 8] = good
    print("reaped once settled:", c._reap(), c.wait(tag).status_name)
    tag2 = c.submit("pixel.w", 8, [0.5], 0.9)
    while c._load(cl.CMP_TAIL) == c.cmp_head and time.monotonic() < end:
        time.sleep(0.001)
    off = c.base + cl.CONTROL_SIZE + c.slots * cl.SUB_SLOT_SIZE + (c.cmp_head & (c.slots - 1)) * cl.CMP_SLOT_SIZE
    c.mem[off + 8] ^= 0xFF
    t0 = time.monotonic()
    try:
        c.wait(tag2, timeout=5)
        print("stays bad: no error")
    except ChannelError as e:
        print("stays bad:", "stays corrupt" in str(e), round(time.monotonic() - t0, 1) >= cl.COMPLETION_SETTLE_S)
`,
      [c.socket],
    );
    expect(out).toEqual(["reaped while torn: 0 head kept: True", "reaped once settled: 1 ACCEPTED", "stays bad: True True"]);
  } finally {
    await c.kill();
  }
}, 60_000);

/** Weights whose tensor lookup throws at its second call (a runtime unloaded under the gate, say). */
class LookupThrowsOnce extends F32Store {
  calls = 0;
  override tensorInfo(name: string) {
    if (++this.calls === 2) throw new Error("injected: the model went away");
    return super.tensorInfo(name);
  }
}

test("a drain whose gate threw at its second submission left the first taken but never journaled or answered and the second's slot consumed unanswered (both producers' waits hung, through a re-exec too): the first is accepted, the second refused (NOT_TAKEN: nothing journaled)", async () => {
  const d = tempDir("vb-ordering-");
  dirs.push(d);
  const w = new LookupThrowsOnce();
  for (const [k, v] of F32Store.synthetic({ "pixel.w": 4096 }, 3).tensors) w.tensors.set(k, v);
  const evo = await openEvolution({ stateDir: join(d, "state"), runDir: join(d, "run"), rings: 1, slots: 4, autoDrain: false, loadWeights: () => w });
  try {
    const p = await rawProducer(evo.socketPath);
    p.submit(2);
    evo.drain(64);
    await waitFor(() => p.completions().length === 2, 10_000, "both completions");
    // By tag (submission order): the refusal is posted at once, the acceptance after the fsync.
    expect(p.completions().toSorted((a, b) => Number(a.tag - b.tag)).map((c) => c.status)).toEqual([Status.accepted, Status.notTaken]);
    // The ring goes on.
    p.submit(1);
    evo.drain(64);
    await waitFor(() => p.completions().length === 3, 10_000, "the next completion");
    expect(p.completions()[2]!.status).toBe(Status.accepted);
    p.close();
  } finally {
    await evo.close();
  }
}, 30_000);
