// A finite but huge cortex weight that made every interrupt score NaN under load passed the CTRM gate (and the safety cases): refused now, NON_FINITE_OUTPUT.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Status, statusName } from "../../src/evolution/reasons.ts";
import { runtimeWeights } from "../../src/evolution/runtime-weights.ts";
import { SafetyGate } from "../../src/evolution/safety-gate.ts";
import type { Mutation } from "../../src/evolution/slot-codec.ts";
import { encodeModel } from "../../src/neural/export.ts";
import { NeuralRuntime } from "../../src/neural/runtime.ts";
import { buildVectorland } from "../../src/neural/vectorland-builder.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";
import { controlMutate, pythonMutate } from "./shipped-cli.ts";

afterEach(killLeftovers);

function runtime(): NeuralRuntime {
  const b = buildVectorland();
  const rt = new NeuralRuntime({ threads: 1 });
  rt.initSync(new Uint8Array(Buffer.concat([...encodeModel(b.metadata, b.tensors)])));
  return rt;
}

// Default cortex: hidden unit 31 is dormant (its outgoing weights are 0). Its weights from inputs 0
// and 1 (cpu.total, cpu.iowait, each in [0, 1]) set to 2e38: each alone keeps the unit finite (every
// safety case moves one input), both near 1 overflow it to Infinity, and 0 * Infinity makes every
// interrupt score NaN: thermal no longer rises at 95 °C on a busy machine.
const HUGE: Mutation = { tensor: "cortex.0.weight", elementOffset: 31 * 32, values: Float32Array.of(2e38, 2e38), confidence: 0.95 };

describe("CTRM gate: non-finite cortex output", () => {
  test("a finite 2e38 cortex weight that makes every interrupt score NaN under load was admitted by the safety cases: refused with NON_FINITE_OUTPUT naming the probe", () => {
    // What it would do: on a busy, overheating machine every score is NaN (no interrupt can rise).
    const applied = runtime();
    applied.applyMutation(HUGE.tensor, HUGE.elementOffset, HUGE.values);
    const layout = applied.cortexInputLayout();
    const x = new Float32Array(layout.length);
    x[0] = 0.9;
    x[1] = 0.9;
    const scores = applied.runCortex(x);
    expect(Array.from(scores).every(Number.isNaN)).toBe(true);

    const g = new SafetyGate(runtimeWeights(runtime()));
    const v = g.admit(HUGE);
    expect(statusName[v.verdict.status]).toBe("NON_FINITE_OUTPUT");
    expect(v.verdict.status).toBe(Status.nonFiniteOutput);
    expect(v.verdict.text).toBe("cpu_pressure score NaN on all-max");
    expect(v.ticket).toBe(false);
    expect(g.stats).toMatchObject({ evaluated: 1, refused: 1 });
    // The dormant unit's ordinary weights are still accepted.
    expect(g.admit({ ...HUGE, values: Float32Array.of(0.25, 0.5) }).verdict.status).toBe(Status.accepted);
  });

  test("the shipped init accepted a 2e38 cortex weight (max_magnitude 3e38) that silences every interrupt under load: refused with NON_FINITE_OUTPUT over the control socket and from the Python client", async () => {
    const dir = tempDir();
    const cfg = writeJson(dir, "config.json", { state_dir: join(dir, "state"), run_dir: join(dir, "run"), evolution: { checkpoint_every_s: 0, max_magnitude: 3e38 } });
    const boot = start(["boot", "--config", cfg]);
    await waitFor(() => boot.log().includes("phase heartbeat"), 30_000, "boot up");
    const viaControl = controlMutate(join(dir, "run/control"), ["cortex.0.weight", String(31 * 32), "--values", "2e38,2e38", "--confidence", "0.99"]);
    expect(viaControl.json).toMatchObject({ statusName: "NON_FINITE_OUTPUT", journalSeq: 0, text: "cpu_pressure score NaN on all-max" });
    expect(viaControl.code).toBe(65);
    const viaChannel = pythonMutate(join(dir, "run/evolution.sock"), ["cortex.0.weight", String(31 * 32), "2e38,2e38", "--confidence", "0.99"]);
    expect(viaChannel.json).toMatchObject({ status: "NON_FINITE_OUTPUT", journal_seq: 0 });
    expect(viaChannel.code).toBe(1);
    process.kill(boot.proc.pid, "SIGTERM");
    const r = await boot.result(30_000);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("mutation refused: an interrupt score would not be finite");
  }, 120_000);
});
