// Ring reuse: completions of a closed session decremented the next session's in-flight count, so the ring took more than its completion slots.
import { afterAll, expect, test } from "bun:test";
import { fdatasync } from "node:fs";
import { join } from "node:path";
import { openEvolution } from "../../src/evolution/evolution.ts";
import { F32Store } from "../../src/evolution/f32-store.ts";
import { C, type Geometry, SUB_SLOT_SIZE, subSlotOffset } from "../../src/evolution/layout.ts";
import { encodeSubmission } from "../../src/evolution/slot-codec.ts";
import { removeDir, tempDir } from "./harness.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(2);
  }
}

/** A raw producer: writes submission slots and rings the doorbell; never consumes completions. */
async function rawProducer(socket: string) {
  let line = "";
  const hello = Promise.withResolvers<any>();
  const sock = await Bun.connect({
    unix: socket,
    socket: {
      data(_s, d) {
        if (line.includes("\n")) return;
        line += d.toString();
        if (line.includes("\n")) hello.resolve(JSON.parse(line.slice(0, line.indexOf("\n"))));
      },
    },
  });
  const h = await hello.promise;
  const mem = Bun.mmap(h.path, { shared: true });
  const v = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  const g: Geometry = { rings: v.getUint32(12, true), slots: v.getUint32(20, true) };
  const base = 4096 + h.ring * v.getUint32(16, true);
  const slot = new Uint8Array(SUB_SLOT_SIZE);
  let seq = 0n;
  let tail = 0;
  return {
    ring: h.ring as number,
    /** Publishes `n` valid mutations (the ring must have room) and rings. */
    submit(n: number) {
      for (let i = 0; i < n; i++) {
        encodeSubmission(slot, { tensor: "pixel.w", elementOffset: Number(seq % 4000n), values: Float32Array.from([0.25]), confidence: 0.9, seq, tag: seq });
        mem.set(slot, subSlotOffset(g, h.ring, tail));
        seq++;
        tail = (tail + 1) >>> 0;
      }
      v.setUint32(base + C.subTail, tail, true);
      sock.write("!");
    },
    close: () => sock.end(),
  };
}

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
    await until(() => evo.stats().submissions === 4 && held.length === 1, "A's batch at the fsync");
    a.close();
    await until(() => evo.stats().sessions === 0, "A's session to close");
    // Session B gets the same ring and fills it too (its records queue behind A's batch).
    const b = await rawProducer(evo.socketPath);
    expect(b.ring).toBe(0);
    b.submit(4);
    await until(() => evo.stats().submissions === 8, "B's 4 submissions taken");
    // A's batch becomes durable: its completions are for a session that is gone (dropped).
    held.shift()!();
    await until(() => evo.stats().completionsDropped === 4 && held.length === 1, "A's completions dropped, B's batch at the fsync");
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
    await until(() => evo.stats().accepted === 8, "A's and B's first batches acknowledged");
    expect(evo.stats().completionsDropped).toBe(4);
    b.close();
  } finally {
    hold = false;
    for (const f of held.splice(0)) f();
    await evo.close();
  }
}, 60_000);
