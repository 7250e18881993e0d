// Python client against a real consumer process: accepted mutations land in weights and journal; every CTRM rule rejects with its code.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { decodeMutationRecord } from "../../src/evolution/mutation-record.ts";
import { RecordType } from "../../src/journal/format.ts";
import { recoverJournal } from "../../src/journal/recovery.ts";
import { loadStandIn } from "./consumer.ts";
import { removeDir, runPython, startConsumer, tempDir } from "./harness.ts";
import { python } from "../harness/python.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));
function dirsFor(name: string) {
  const d = tempDir(`vb-evo-${name}-`);
  dirs.push(d);
  return { state: join(d, "state"), run: join(d, "run") };
}

const STORM = `
import sys, json
from vector_boot_evolution import Client
n = int(sys.argv[2])
muts = []
for i in range(n):
    t = "pixel.w" if i % 3 else "cortex.w"
    size = 4096 if i % 3 else 1024
    k = 1 + i % 4
    muts.append((t, (i * 7919) % (size - k), [((i * 13 + j) % 200 - 100) / 10.0 for j in range(k)], 0.81 + (i % 19) / 100))
with Client(sys.argv[1], timeout=30) as c:
    done = c.submit_batch(muts)
print(json.dumps({"accepted": sum(d.accepted for d in done), "seqs": [d.journal_seq for d in done], "bad": [d.status_name for d in done if not d.accepted][:5]}))
print(json.dumps({"muts": muts}))
`;

describe("evolution round trip (real Python, real consumer)", () => {
  test("accepts 10,000 mutations from Python, each visible in the live weights and in the journal, in order", async () => {
    const d = dirsFor("rt");
    const c = await startConsumer(d.state, d.run);
    try {
      const [summaryLine, mutsLine] = await runPython(STORM, [c.socket, "10000"], 90000);
      const summary = JSON.parse(summaryLine!);
      const muts = JSON.parse(mutsLine!).muts as [string, number, number[], number][];
      expect(summary.bad).toEqual([]);
      expect(summary.accepted).toBe(10000);
      expect(summary.seqs).toEqual(Array.from({ length: 10000 }, (_, i) => i + 1));
      // Live weights = base + every mutation in journal order.
      const expected = loadStandIn(null);
      for (const [t, off, vals] of muts) expected.applyMutation(t, off, Float32Array.from(vals));
      const live = await c.ask("stats");
      expect(live.checksum).toBe(expected.checksum());
      expect(live.checksum).not.toBe(c.ready.checksum);
      const last = muts.at(-1)!;
      const dump = await c.ask(`dump ${last[0]} ${last[1]} ${last[2].length}`);
      expect(dump.values).toEqual(Array.from(Float32Array.from(last[2])));
      expect(live.stats.journalBatches).toBeLessThan(10000); // group commit happened
      await c.quit();
      const recs = recoverJournal(join(d.state, "journal")).records.filter((r) => r.type === RecordType.mutation);
      expect(recs.length).toBe(10000);
      recs.forEach((r, i) => {
        const m = decodeMutationRecord(r.payload);
        expect([m.tensor, m.elementOffset, Array.from(m.values)]).toEqual([muts[i]![0], muts[i]![1], Array.from(Float32Array.from(muts[i]![2]))]);
      });
    } finally {
      await c.kill();
    }
  }, 120000);

  test("rejects a mutation for each CTRM rule with its reason code, and changes nothing", async () => {
    const d = dirsFor("gate");
    const c = await startConsumer(d.state, d.run);
    try {
      const out = await runPython(
        `
import sys, json
from vector_boot_evolution import Client
cases = [
  ("pixel.w", 0, [1.0], 0.8),              # LOW_CONFIDENCE: exactly 0.8
  ("pixel.w", 0, [1.0], 0.5),              # LOW_CONFIDENCE
  ("pixel.w", 0, [1.0], float("nan")),     # LOW_CONFIDENCE: NaN is not > 0.8
  ("no.such.tensor", 0, [1.0], 0.9),       # UNKNOWN_TENSOR
  ("kernel.irq_threshold", 0, [0.0], 0.99),# PROTECTED_TENSOR
  ("pixel.w", 4095, [1.0, 2.0], 0.9),      # OUT_OF_RANGE: one past the end
  ("pixel.bias", 2**40, [1.0], 0.9),       # OUT_OF_RANGE: huge offset
  ("pixel.w", 0, [float("inf")], 0.9),     # NON_FINITE
  ("pixel.w", 0, [float("nan")], 0.9),     # NON_FINITE
  ("pixel.w", 0, [1e6], 0.9),              # MAGNITUDE
  ("pixel.q8", 0, [1.0], 0.9),             # UNSUPPORTED_DTYPE
]
with Client(sys.argv[1]) as c:
    print(json.dumps([c.mutate(*m).status_name for m in cases]))
    try:
        c.submit("pixel.w", 0, [0.0] * 101, 0.9)
        print("no error")
    except ValueError as e:
        print("ValueError")
    ok = c.mutate("pixel.w", 4094, [1.0, 2.0], 0.8000001)
    print(json.dumps([ok.status_name, ok.journal_seq]))
`,
        [c.socket],
      );
      expect(JSON.parse(out[0]!)).toEqual([
        "LOW_CONFIDENCE", "LOW_CONFIDENCE", "LOW_CONFIDENCE", "UNKNOWN_TENSOR", "PROTECTED_TENSOR", "OUT_OF_RANGE",
        "OUT_OF_RANGE", "NON_FINITE", "NON_FINITE", "MAGNITUDE", "UNSUPPORTED_DTYPE",
      ]);
      expect(out[1]).toBe("ValueError");
      expect(JSON.parse(out[2]!)).toEqual(["ACCEPTED", 1]); // the only journal record is the valid one at the very end of the tensor
      const s = await c.ask("stats");
      const expected = loadStandIn(null);
      expected.applyMutation("pixel.w", 4094, Float32Array.from([1, 2]));
      expect(s.checksum).toBe(expected.checksum());
      expect(s.stats.rejected).toEqual({ LOW_CONFIDENCE: 3, UNKNOWN_TENSOR: 1, PROTECTED_TENSOR: 1, OUT_OF_RANGE: 2, NON_FINITE: 2, MAGNITUDE: 1, UNSUPPORTED_DTYPE: 1 });
    } finally {
      await c.kill();
    }
  }, 60000);

  test("serves two concurrent producers on separate rings and refuses a third when rings run out", async () => {
    const d = dirsFor("multi");
    const c = await startConsumer(d.state, d.run, ["--rings", "2"]);
    try {
      // Barriers (files), not sleeps: both hold a ring before either tries a third session, and
      // neither lets its ring go before the other has tried (Python may start slowly on a loaded host).
      const script = `
import os, sys, json, time
from vector_boot_evolution import Client, ChannelError
me, other, d = sys.argv[2], "1" if sys.argv[2] == "0" else "0", sys.argv[3]
def barrier(name):
    open(os.path.join(d, name + me), "w").close()
    end = time.time() + 30
    while not os.path.exists(os.path.join(d, name + other)):
        if time.time() > end:
            raise SystemExit("barrier %s timed out" % name)
        time.sleep(0.005)
with Client(sys.argv[1]) as c:
    done = c.submit_batch([("cortex.w", (i * 11 + int(me)) % 1000, [0.5], 0.9) for i in range(500)])
    barrier("in")
    try:
        Client(sys.argv[1]); print("third got in")
    except ChannelError as e:
        print("busy" if "busy" in str(e) else str(e))
    barrier("tried")
    print(json.dumps([c.ring, sum(d.accepted for d in done)]))
`;
      const [a, b] = await Promise.all([runPython(script, [c.socket, "0", d.run]), runPython(script, [c.socket, "1", d.run])]);
      expect(a[0]).toBe("busy");
      expect(b[0]).toBe("busy");
      const ra = JSON.parse(a[1]!);
      const rb = JSON.parse(b[1]!);
      expect(new Set([ra[0], rb[0]])).toEqual(new Set([0, 1]));
      expect(ra[1] + rb[1]).toBe(1000);
      expect((await c.ask("stats")).stats.journalNextSeq).toBe(1001);
    } finally {
      await c.kill();
    }
  }, 60000);

  test("the CLI submits one mutation and exits non-zero on a rejection", async () => {
    const d = dirsFor("cli");
    const c = await startConsumer(d.state, d.run);
    try {
      const run = async (args: string[]) => {
        const p = Bun.spawn([python, "-m", "vector_boot_evolution", "--socket", c.socket, ...args], {
          env: { ...process.env, PYTHONPATH: join(import.meta.dir, "../../python") },
          stdout: "pipe",
        });
        return [await p.exited, (await new Response(p.stdout).text()).trim()] as const;
      };
      const [okCode, okOut] = await run(["mutate", "pixel.bias", "3", "0.5,-0.5", "--confidence", "0.95"]);
      expect(okCode).toBe(0);
      expect(JSON.parse(okOut)).toEqual({ status: "ACCEPTED", journal_seq: 1, text: "" });
      const [badCode, badOut] = await run(["mutate", "kernel.irq_threshold", "0", "1", "--confidence", "0.95"]);
      expect(badCode).toBe(1);
      expect(JSON.parse(badOut).status).toBe("PROTECTED_TENSOR");
    } finally {
      await c.kill();
    }
  }, 30000);
});
