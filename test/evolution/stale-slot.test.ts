// Weak memory ordering, one lap later: a slot seen before its new bytes still holds the previous lap's submission, whose checksum is valid.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { SLOT_SETTLE_MS } from "../../src/evolution/channel.ts";
import { openEvolution } from "../../src/evolution/evolution.ts";
import { Status } from "../../src/evolution/reasons.ts";
import { F32Store } from "./f32-store.ts";
import { removeDir, runPython, startConsumer, tempDir } from "./harness.ts";
import { waitFor } from "../harness/wait.ts";
import { rawProducer } from "./raw-producer.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** Evolution in a fresh directory with one ring of four slots over a synthetic 4,096-value tensor. */
function openRing(extra: { autoDrain?: boolean } = {}) {
  const d = tempDir("vb-stale-");
  dirs.push(d);
  return openEvolution({ stateDir: join(d, "state"), runDir: join(d, "run"), rings: 1, slots: 4, ...extra, loadWeights: () => F32Store.synthetic({ "pixel.w": 4096 }, 3) });
}

test("a slot whose new bytes arrive after its tail, still holding the previous lap's valid submission, was answered BAD_SEQUENCE at once", async () => {
  // Drains run here, in order (autoDrain off, no beat): a stall of this process cannot run out the settle time.
  const evo = await openRing({ autoDrain: false });
  try {
    const p = await rawProducer(evo.socketPath);
    // Lap 1: four accepted submissions fill every slot with a valid one.
    p.submit(4);
    expect(evo.drain(64)).toBe(4);
    await waitFor(() => p.completions().length === 4, 10_000, "lap 1's completions");
    expect(p.completions().every((c) => c.status === Status.accepted)).toBe(true);
    p.consumeCompletions();
    // Lap 2: the tail moves first; slot 0 still holds seq 0 (valid checksum, the sequence of lap 1).
    await p.submitTailFirst(() => {
      expect(evo.drain(64)).toBe(0); // not consumed: the producer's bytes have not arrived
      expect(evo.drain(64)).toBe(0);
      expect(p.completions().map((c) => c.tag)).toEqual([0n, 1n, 2n, 3n]); // nothing new posted
    }, { stale: true });
    expect(evo.drain(64)).toBe(1);
    await waitFor(() => p.completions().some((c) => c.tag === 4n), 10_000, "seq 4's completion");
    expect(p.completions().find((c) => c.tag === 4n)).toEqual({ status: Status.accepted, tag: 4n });
    expect(evo.stats().rejected).toEqual({});
    p.close();
  } finally {
    await evo.close();
  }
}, 30_000);

test("a slot that keeps the previous lap's submission is answered BAD_SEQUENCE once it had time to settle, and the ring goes on", async () => {
  const evo = await openRing();
  const timer = setInterval(() => evo.drain(64), 10); // the beat's drains
  try {
    const p = await rawProducer(evo.socketPath);
    p.submit(4);
    await waitFor(() => p.completions().length === 4, 10_000, "lap 1's completions");
    p.consumeCompletions();
    const t0 = performance.now();
    await p.submitTailFirst(null, { stale: true }); // seq 4's bytes never come: slot 0 keeps seq 0
    await waitFor(() => p.completions().some((c) => c.status === Status.badSequence), 10_000, "the rejection");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(SLOT_SETTLE_MS);
    p.submit(1); // seq 5 in slot 1
    await waitFor(() => p.completions().some((c) => c.tag === 5n), 10_000, "the next completion");
    expect(p.completions().find((c) => c.tag === 5n)).toEqual({ status: Status.accepted, tag: 5n });
    p.close();
  } finally {
    clearInterval(timer);
    await evo.close();
  }
}, 30_000);

test("the Python client took the previous lap's completion (valid checksum) for a new one when it saw cmp_tail before the slot's bytes, and lost the real answer", async () => {
  const d = tempDir("vb-stale-py-");
  dirs.push(d);
  const c = await startConsumer(join(d, "state"), join(d, "run"), ["--rings", "1", "--slots", "4"]);
  try {
    // The test plays the weakly ordered CPU: once the 5th completion is posted in slot 0, it puts the
    // 1st lap's completion back in that slot (what a client may see before the new bytes), then the new one.
    const out = await runPython(
      `
import sys, time
from vector_boot_evolution import Client
from vector_boot_evolution import layout as cl
with Client(sys.argv[1], timeout=10) as c:
    for t in [c.submit("pixel.w", i, [0.5], 0.9) for i in range(4)]:
        c.wait(t)
    off = c.base + cl.CONTROL_SIZE + c.slots * cl.SUB_SLOT_SIZE  # completion slot 0
    old = bytes(c.mem[off:off + cl.CMP_SLOT_SIZE])
    tag = c.submit("pixel.w", 4, [0.5], 0.9)
    end = time.monotonic() + 10
    while c._load(cl.CMP_TAIL) == c.cmp_head and time.monotonic() < end:
        time.sleep(0.001)
    new = bytes(c.mem[off:off + cl.CMP_SLOT_SIZE])
    c.mem[off:off + cl.CMP_SLOT_SIZE] = old
    print("reaped while stale:", c._reap(), "head kept:", c.cmp_head == 4)
    c.mem[off:off + cl.CMP_SLOT_SIZE] = new
    print("reaped once settled:", c._reap(), c.wait(tag).status_name)
`,
      [c.socket],
    );
    expect(out).toEqual(["reaped while stale: 0 head kept: True", "reaped once settled: 1 ACCEPTED"]);
  } finally {
    await c.kill();
  }
}, 60_000);

test("a ring given to a new session kept the previous session's slots: a new producer whose tail was seen before its slot's bytes (weak memory ordering) had the old session's seq-0 submission (valid checksum, the sequence it expects) taken as its own; the slots are zeroed when the ring is given out", async () => {
  const evo = await openRing({ autoDrain: false });
  try {
    const a = await rawProducer(evo.socketPath);
    a.submit(1);
    expect(evo.drain(64)).toBe(1);
    await waitFor(() => a.completions().length === 1, 10_000, "session A's completion");
    a.close();
    await waitFor(() => evo.stats().sessions === 0, 10_000, "session A to close");
    const b = await rawProducer(evo.socketPath);
    expect(b.ring).toBe(0);
    // B's seq 0: its tail moves first, and B still sees whatever slot 0 held (nothing stale of B's own).
    await b.submitTailFirst(() => {
      expect(evo.drain(64)).toBe(0); // not consumed: B's bytes have not arrived
      expect(evo.drain(64)).toBe(0);
    }, { stale: true });
    expect(evo.drain(64)).toBe(1);
    await waitFor(() => b.completions().length === 1, 10_000, "session B's completion");
    expect(b.completions()).toEqual([{ status: Status.accepted, tag: 0n }]);
    b.close();
  } finally {
    await evo.close();
  }
}, 30_000);
