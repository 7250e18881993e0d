// Torture: a Python mutation storm while the consumer is SIGKILLed at a random instant, N times (VB_TORTURE_ITERATIONS, default 200, the acceptance count).
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { decodeMutationRecord } from "../../src/evolution/mutation-record.ts";
import { RecordType } from "../../src/journal/format.ts";
import { recoverJournal } from "../../src/journal/recovery.ts";
import { loadStandIn } from "./consumer.ts";
import { removeDir, spawnPython, startConsumer, tempDir } from "./harness.ts";

const ITERATIONS = Number(process.env.VB_TORTURE_ITERATIONS ?? 200);
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** Submits seeded mutations in pipelined chunks; prints one JSON line per acknowledged mutation, flushed. */
const STORM = `
import sys, json, random
from vector_boot_evolution import Client
rng = random.Random(int(sys.argv[2]))
tensors = [("pixel.w", 4096), ("cortex.w", 1024), ("pixel.bias", 64)]
try:
    with Client(sys.argv[1], timeout=5) as c:
        sys.stdout.write("connected\\n")
        sys.stdout.flush()
        while True:
            batch = []
            for _ in range(rng.randint(1, 40)):
                t, n = rng.choice(tensors)
                k = rng.randint(1, 8)
                batch.append((t, rng.randrange(0, n - k), [rng.uniform(-5, 5) for _ in range(k)], 0.9))
            tags = [c.submit(*m, ring_doorbell=False) for m in batch]
            c.doorbell()
            for tag, m in zip(tags, batch):
                d = c.wait(tag)
                if d.accepted:
                    sys.stdout.write(json.dumps({"j": d.journal_seq, "t": m[0], "o": m[1], "v": m[2]}) + "\\n")
                    sys.stdout.flush()
except Exception as e:
    sys.stderr.write("storm ended: %s\\n" % e)
`;

describe("torture", () => {
  test(`after ${ITERATIONS} SIGKILLs mid-storm, every acknowledged mutation survives and the weights equal a replay from the base`, async () => {
    const root = tempDir("vb-torture-");
    dirs.push(root);
    const state = join(root, "state");
    const run = join(root, "run");
    let s = 20261123;
    const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
    let acked: { j: number; t: string; o: number; v: number[] }[] = [];
    let totalAcked = 0;
    let bootsFromCheckpoint = 0;

    for (let it = 0; it <= ITERATIONS; it++) {
      const c = await startConsumer(state, run, ["--beat-ms", "10", "--checkpoint-ms", String(20 + Math.floor(rnd() * 60)), "--compact", "0"]);
      try {
        // 1. The weights the consumer booted with equal base + every journal record replayed.
        const rec = recoverJournal(join(state, "journal"), { readOnly: true });
        const records = rec.records.filter((r) => r.seq < c.ready.stats.journalNextSeq);
        const expected = loadStandIn(null);
        for (const r of records) {
          if (r.type !== RecordType.mutation) continue;
          const m = decodeMutationRecord(r.payload);
          expected.applyMutation(m.tensor, m.elementOffset, m.values);
        }
        expect(c.ready.checksum).toBe(expected.checksum());
        if (c.ready.stats.bootCheckpoint) bootsFromCheckpoint++;
        // 2. Every mutation acknowledged before the kill is in the journal, whole, at its sequence.
        const bySeq = new Map(records.map((r) => [r.seq, r]));
        for (const a of acked) {
          const r = bySeq.get(a.j);
          expect(r).toBeDefined();
          const m = decodeMutationRecord(r!.payload);
          expect([m.tensor, m.elementOffset, Array.from(m.values)]).toEqual([a.t, a.o, Array.from(Float32Array.from(a.v))]);
        }
        if (it === ITERATIONS) break;
        // 3. Storm, then SIGKILL at a random instant.
        // The kill instant counts from the storm's connection, not its spawn (Python may take long to start).
        const storm = spawnPython(STORM, [c.socket, String(it)]);
        const timer = setTimeout(() => storm.kill(9), 30_000);
        const reader = storm.stdout.getReader();
        const dec = new TextDecoder();
        let out = "";
        while (!out.includes("connected\n")) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`storm ended before connecting: ${await new Response(storm.stderr).text()}`);
          out += dec.decode(value, { stream: true });
        }
        await Bun.sleep(30 + Math.floor(rnd() * 250));
        c.proc.kill(9);
        await c.proc.exited;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          out += dec.decode(value, { stream: true });
        }
        await storm.exited;
        clearTimeout(timer);
        acked = out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
        totalAcked += acked.length;
      } finally {
        c.proc.kill(9);
        await c.proc.exited;
      }
    }
    expect(totalAcked).toBeGreaterThan(ITERATIONS); // the storms really ran
    expect(bootsFromCheckpoint).toBeGreaterThan(0); // and checkpoints were part of the recovery
  }, 60000 + ITERATIONS * 3000);
});
