// Torture: a Python mutation storm while the consumer (real NeuralRuntime, the shipped default model) is SIGKILLed at a random instant, N times (VB_TORTURE_ITERATIONS, default 200).
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeMutationRecord } from "../../src/evolution/mutation-record.ts";
import { RecordType } from "../../src/journal/format.ts";
import { recoverJournal } from "../../src/journal/recovery.ts";
import { setLogLevel } from "../../src/log.ts";
import { NeuralRuntime } from "../../src/neural/runtime.ts";
import { runtimeChecksum } from "./consumer.ts";
import { removeDir, root, spawnPython, startConsumer, tempDir } from "./harness.ts";

const ITERATIONS = Number(process.env.VB_TORTURE_ITERATIONS ?? 200);
/** The model the build embeds in the shipped executable (scripts/build.ts): real tensors, real runtime. */
const MODEL = join(root, "dist/vectorland.gguf");
/** F32 tensors of the pixel head (no interrupt reads them: no safety case can refuse a value). */
const TENSORS: [string, number][] = [["pixel.0.weight", 6144], ["pixel.1.weight", 1024], ["pixel.0.bias", 64]];
setLogLevel("warn");
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** Submits seeded mutations in pipelined chunks; prints one JSON line per acknowledged mutation, flushed. */
const STORM = `
import sys, json, random
from vector_boot_evolution import Client
rng = random.Random(int(sys.argv[2]))
tensors = json.loads(sys.argv[3])
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

interface Mut {
  j: number;
  t: string;
  o: number;
  v: number[];
}

describe("torture", () => {
  test(`after ${ITERATIONS} SIGKILLs mid-storm with checkpoints and compaction, every mutation acknowledged in any round survives and the runtime's weights equal the base plus every journaled mutation`, async () => {
    const d = tempDir("vb-torture-");
    dirs.push(d);
    const state = join(d, "state");
    const run = join(d, "run");
    let s = 20261123;
    const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
    // The shadow: the base model plus every mutation known to be journaled, applied in sequence order.
    // Known = acknowledged to the storm, or seen in the journal at a boot (compaction deletes records later).
    const shadow = new NeuralRuntime({ threads: 1 });
    shadow.initSync(new Uint8Array(readFileSync(MODEL)));
    let shadowSeq = 0;
    const known = new Map<number, Mut>();
    const everAcked: Mut[] = [];
    let lastRound: Mut[] = [];
    let bootsFromCheckpoint = 0;
    let bootsAfterCompaction = 0;

    for (let it = 0; it <= ITERATIONS; it++) {
      const c = await startConsumer(state, run, ["--model", MODEL, "--beat-ms", "10", "--checkpoint-ms", String(20 + Math.floor(rnd() * 60)), "--compact", "1", "--segment-bytes", "4096"]);
      try {
        const next = c.ready.stats.journalNextSeq;
        const rec = recoverJournal(join(state, "journal"), { readOnly: true });
        const records = rec.records.filter((r) => r.seq < next);
        if ((records[0]?.seq ?? next) > 1) bootsAfterCompaction++;
        if (c.ready.stats.bootCheckpoint) bootsFromCheckpoint++;
        // 1. Every mutation acknowledged in the last round is in the journal's sequence range, and whole where its record is still kept.
        const bySeq = new Map(records.map((r) => [r.seq, r]));
        for (const a of lastRound) {
          expect(a.j).toBeLessThan(next);
          const r = bySeq.get(a.j);
          if (r) {
            const m = decodeMutationRecord(r.payload);
            expect([m.tensor, m.elementOffset, Array.from(m.values)]).toEqual([a.t, a.o, Array.from(Float32Array.from(a.v))]);
          }
        }
        for (const r of records) {
          if (r.type !== RecordType.mutation || known.has(r.seq)) continue;
          const m = decodeMutationRecord(r.payload);
          known.set(r.seq, { j: r.seq, t: m.tensor, o: m.elementOffset, v: Array.from(m.values) });
        }
        // 2. The booted weights equal the shadow (base + every known mutation in order).
        const seqs = [...known.keys()].filter((q) => q > shadowSeq && q < next).sort((x, y) => x - y);
        for (const q of seqs) {
          const m = known.get(q)!;
          shadow.applyMutation(m.t, m.o, Float32Array.from(m.v));
        }
        shadowSeq = next - 1;
        expect(c.ready.checksum).toBe(runtimeChecksum(shadow));
        // 3. Every mutation acknowledged in any round so far holds in the live weights wherever no later mutation overwrote it.
        const live = new Map<string, number[]>();
        for (const [t, n] of TENSORS) live.set(t, (await c.ask(`dump ${t} 0 ${n}`)).values);
        const lastWriter = new Map<string, number>();
        for (const q of [...known.keys()].filter((x) => x < next).sort((x, y) => x - y)) {
          const m = known.get(q)!;
          for (let i = 0; i < m.v.length; i++) lastWriter.set(`${m.t}:${m.o + i}`, q);
        }
        let checked = 0;
        for (const a of everAcked) {
          const v = Float32Array.from(a.v);
          for (let i = 0; i < v.length; i++) {
            if (lastWriter.get(`${a.t}:${a.o + i}`) !== a.j) continue;
            if (live.get(a.t)![a.o + i] !== v[i]) throw new Error(`round ${it}: acknowledged mutation seq ${a.j} (${a.t}[${a.o + i}] = ${v[i]}) is lost: the weights hold ${live.get(a.t)![a.o + i]}`);
            checked++;
          }
        }
        expect(checked > 0 || everAcked.length === 0).toBe(true);
        if (it === ITERATIONS) break;
        // 4. Storm, then SIGKILL at a random instant (counted from the storm's connection: Python may take long to start).
        const storm = spawnPython(STORM, [c.socket, String(it), JSON.stringify(TENSORS)]);
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
        lastRound = out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Mut);
        for (const a of lastRound) {
          const k = known.get(a.j);
          // A sequence number is one mutation: the journal and the acknowledgement agree on it.
          if (k) expect([k.t, k.o, Array.from(Float32Array.from(k.v))]).toEqual([a.t, a.o, Array.from(Float32Array.from(a.v))]);
          else known.set(a.j, a);
          everAcked.push(a);
        }
      } finally {
        c.proc.kill(9);
        await c.proc.exited;
      }
    }
    shadow.cleanup();
    console.log(`torture: ${ITERATIONS} kills, ${everAcked.length} acknowledged mutations checked at every later boot; ${bootsFromCheckpoint} boots from a checkpoint, ${bootsAfterCompaction} after compaction`);
    expect(everAcked.length).toBeGreaterThan(ITERATIONS); // the storms really ran
    expect(bootsFromCheckpoint).toBeGreaterThan(0); // checkpoints were part of the recovery
    expect(bootsAfterCompaction).toBeGreaterThan(0); // and compaction deleted journal history under the storm
  }, 60000 + ITERATIONS * 5000);
});
