// The CTRM gate's safety rule: cortex mutations that break a safety case are refused (SAFETY, naming the case), before the journal.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { openEvolution } from "../../src/evolution/evolution.ts";
import { Status, statusName } from "../../src/evolution/reasons.ts";
import { runtimeGgufExporter, runtimeWeights } from "../../src/evolution/runtime-weights.ts";
import { SafetyGate } from "../../src/evolution/safety-gate.ts";
import type { Mutation } from "../../src/evolution/slot-codec.ts";
import { RecordType } from "../../src/journal/format.ts";
import { recoverJournal } from "../../src/journal/recovery.ts";
import { encodeModel } from "../../src/neural/export.ts";
import { NeuralRuntime } from "../../src/neural/runtime.ts";
import { buildVectorland, type BuildOptions } from "../../src/neural/vectorland-builder.ts";
import { python } from "../harness/python.ts";
import { pythonPath, removeDir, tempDir } from "./harness.ts";
import { tsProducer } from "./ts-producer.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function runtime(opts: BuildOptions = {}): NeuralRuntime {
  const b = buildVectorland(opts);
  const rt = new NeuralRuntime({ threads: 1 });
  rt.initSync(new Uint8Array(Buffer.concat([...encodeModel(b.metadata, b.tensors)])));
  return rt;
}

// Default cortex: 32 inputs -> 32 hidden -> 6 outputs; thermal is output 4, fed by hidden unit 8
// (units are numbered term by term: cpu 2, memory 3, io 2, zombies 1, then thermal).
const THERMAL = 4;
const THERMAL_UNIT = 8;
const HIDDEN = 32;
const silenceThermal: Mutation = { tensor: "cortex.1.weight", elementOffset: THERMAL * HIDDEN + THERMAL_UNIT, values: Float32Array.of(0), confidence: 0.95 };
const cpuOnIdle: Mutation = { tensor: "cortex.1.bias", elementOffset: 0, values: Float32Array.of(6), confidence: 0.95 };
/** A dormant hidden unit (zero outgoing weight): its input weights change no interrupt. */
const benign: Mutation = { tensor: "cortex.0.weight", elementOffset: 31 * 32, values: new Float32Array(32).fill(0.25), confidence: 0.95 };

describe("SafetyGate", () => {
  test("refuses a mutation silencing thermal with reason SAFETY naming the thermal case, and one firing cpu_pressure on an idle machine naming case idle", () => {
    const g = new SafetyGate(runtimeWeights(runtime()));
    const a = g.admit(silenceThermal);
    expect(statusName[a.verdict.status]).toBe("SAFETY");
    expect(a.verdict.text).toMatch(/^case thermal\/0@9[15]: thermal must raise/);
    expect(a.ticket).toBe(false);
    const b = g.admit(cpuOnIdle);
    expect(b.verdict.text).toMatch(/^case idle: cpu_pressure must clear/);
    expect(g.stats).toMatchObject({ evaluated: 2, refused: 2 });
  });

  test("accepts a cortex mutation that keeps every case (with a ticket) and does not evaluate a pixel mutation", () => {
    const g = new SafetyGate(runtimeWeights(runtime()));
    expect(g.admit(benign)).toEqual({ verdict: { status: Status.accepted, text: "" }, ticket: true });
    expect(g.admit({ ...benign, tensor: "pixel.0.weight" })).toEqual({ verdict: { status: Status.accepted, text: "" }, ticket: false });
    expect(g.stats.evaluated).toBe(1);
  });

  test("judges a mutation on the weights it will be applied to: after an accepted, not yet applied one that it would break together with", () => {
    // A: a dormant unit always on (its outgoing weights are zero: harmless alone).
    // B: that unit feeds thermal with a negative weight (small while the unit is near 0: harmless alone).
    const a: Mutation = { tensor: "cortex.0.bias", elementOffset: 31, values: Float32Array.of(50), confidence: 0.95 };
    const b: Mutation = { tensor: "cortex.1.weight", elementOffset: THERMAL * HIDDEN + 31, values: Float32Array.of(-0.05), confidence: 0.95 };
    const w = runtimeWeights(runtime());
    expect(new SafetyGate(w).admit(a).verdict.status).toBe(Status.accepted);
    expect(new SafetyGate(w).admit(b).verdict.status).toBe(Status.accepted);
    const g = new SafetyGate(w);
    expect(g.admit(a).ticket).toBe(true);
    const refused = g.admit(b);
    expect(statusName[refused.verdict.status]).toBe("SAFETY");
    expect(refused.verdict.text).toContain("thermal must raise");
    // A applied and settled: B is judged on the live weights, which now hold A.
    w.applyMutation(a.tensor, a.elementOffset, a.values);
    g.settle();
    expect(statusName[g.admit(b).verdict.status]).toBe("SAFETY");
  });

  test("a mutation whose evaluation throws is refused (never journaled unevaluated), and the next one is judged without it", () => {
    const w = runtimeWeights(runtime());
    const real = w.safety!;
    let fail = true;
    const g = new SafetyGate({
      ...w,
      safety: {
        ...real,
        evaluate: (o) => {
          if (fail) throw new Error("boom");
          return real.evaluate(o);
        },
      },
    });
    expect(g.admit(benign).verdict).toEqual({ status: Status.safety, text: "safety evaluation failed" });
    fail = false;
    expect(g.admit(benign)).toEqual({ verdict: { status: Status.accepted, text: "" }, ticket: true });
  });

  test("a model without safety cases: no safety check, every mutation the other rules accept passes", () => {
    const w = runtimeWeights(runtime({ safetyCases: false }));
    expect(w.safety).toBeNull();
    const g = new SafetyGate(w);
    expect(g.admit(silenceThermal)).toEqual({ verdict: { status: Status.accepted, text: "" }, ticket: false });
    expect(g.stats.evaluated).toBe(0);
  });
});

describe("evolution with safety cases (channel and direct path, real runtime, real journal)", () => {
  test("a refused mutation is never journaled and leaves the live weights as they were; a benign one is journaled and applied; cheaper rules answer first", async () => {
    const d = tempDir("vb-evo-safety-");
    dirs.push(d);
    const rt = runtime();
    const evo = await openEvolution({ stateDir: join(d, "state"), runDir: join(d, "run"), loadWeights: () => runtimeWeights(rt, runtimeGgufExporter(rt)) });
    try {
      const before = rt.readTensor("cortex.1.weight");
      const direct = await evo.submit(silenceThermal);
      expect(direct).toMatchObject({ statusName: "SAFETY", journalSeq: 0 });
      expect(direct.text).toMatch(/^case thermal\/0@9[15]/);
      // Magnitude is checked before the cases (the cheap rules first).
      expect((await evo.submit({ ...silenceThermal, values: Float32Array.of(5000) })).statusName).toBe("MAGNITUDE");
      const p = await tsProducer(evo.socketPath);
      const res = await p.submit([silenceThermal, cpuOnIdle, benign]);
      p.close();
      expect(res.map((c) => statusName[c.status])).toEqual(["SAFETY", "SAFETY", "ACCEPTED"]);
      expect(res[0]!.text).toMatch(/^case thermal\/0@9[15]/); // the 32-byte completion text still names the case
      expect(res[1]!.text).toMatch(/^case idle/);
      expect(rt.readTensor("cortex.1.weight")).toEqual(before);
      expect(rt.readTensor("cortex.1.bias")[0]).not.toBe(6);
      expect(Array.from(rt.readTensor("cortex.0.weight", 31 * 32, 32))).toEqual(Array.from(benign.values));
      expect(evo.stats().rejected).toEqual({ SAFETY: 3, MAGNITUDE: 1 });
      expect(evo.stats().safety).toMatchObject({ evaluated: 4, refused: 3 });
    } finally {
      await evo.close();
    }
    const recs = recoverJournal(join(d, "state/journal")).records.filter((r) => r.type === RecordType.mutation);
    expect(recs.length).toBe(1);
  });
});

test("the Python client names every status code as the consumer does, SAFETY included", () => {
  const r = Bun.spawnSync([python, "-c", "import json; from vector_boot_evolution import STATUS_NAMES; print(json.dumps(STATUS_NAMES))"], {
    env: { ...process.env, PYTHONPATH: pythonPath },
    stdout: "pipe",
    stderr: "pipe",
    timeout: 30_000,
  });
  expect(r.exitCode).toBe(0);
  expect(JSON.parse(r.stdout.toString())).toEqual(Object.fromEntries(Object.entries(statusName)));
  expect(statusName[Status.safety]).toBe("SAFETY");
});
