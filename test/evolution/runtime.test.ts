// The real NeuralRuntime behind the channel: an accepted mutation changes the output for a known input and survives a restart.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { openEvolution } from "../../src/evolution/evolution.ts";
import { statusName } from "../../src/evolution/reasons.ts";
import { runtimeWeights } from "../../src/evolution/runtime-weights.ts";
import { NeuralRuntime } from "../../src/neural/runtime.ts";
import { removeDir, root, tempDir } from "./harness.ts";
import { tsProducer } from "./ts-producer.ts";

const model = process.env.VB_MODEL ?? join(root, "dist/vectorland.gguf");
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

async function boot(stateDir: string, runDir: string) {
  const rt = new NeuralRuntime();
  const evo = await openEvolution({
    stateDir,
    runDir,
    gate: { minConfidence: 0.8, maxMagnitude: 1000, supportedTypes: ["F32", "F16", "BF16", "Q8_0", "Q4_0"], protectedPrefixes: ["kernel."] },
    loadWeights: async (p) => {
      await rt.init(p ?? model);
      return runtimeWeights(rt);
    },
  });
  return { rt, evo };
}

// Runs only where the vectorland model has been built (bun scripts/build.ts); set VB_MODEL to point elsewhere.
describe.skipIf(!existsSync(model))("evolution with the real NeuralRuntime", () => {
  test("a mutation of the last pixel bias changes the output for a known input, a kernel.* one is refused, and replay restores it", async () => {
    const d = tempDir("vb-evo-rt-");
    dirs.push(d);
    const state = join(d, "state");
    const run = join(d, "run");
    let { rt, evo } = await boot(state, run);
    const input = [[255, 0, 0]];
    const before = Array.from(rt.executePixels(input).output);
    const biases = rt.tensorNames().filter((n) => /^pixel\.\d+\.bias$/.test(n)).sort((a, b) => Number(a.split(".")[1]) - Number(b.split(".")[1]));
    const bias = biases.at(-1)!;
    const n = Math.min(rt.tensor(bias)!.elements, 100);
    const kernel = rt.tensorNames().find((x) => x.startsWith("kernel."))!;
    const p = await tsProducer(evo.socketPath);
    const res = await p.submit([
      { tensor: bias, elementOffset: 0, values: Float32Array.from({ length: n }, (_, i) => 3 + i / 8), confidence: 0.95 },
      { tensor: kernel, elementOffset: 0, values: Float32Array.of(0), confidence: 0.99 },
    ]);
    p.close();
    expect(res.map((c) => statusName[c.status])).toEqual(["ACCEPTED", "PROTECTED_TENSOR"]);
    const after = Array.from(rt.executePixels(input).output);
    expect(after).not.toEqual(before);
    await evo.close();
    rt.cleanup();
    ({ rt, evo } = await boot(state, run));
    expect(evo.stats().replayed).toBe(1);
    expect(Array.from(rt.executePixels(input).output)).toEqual(after);
    await evo.close();
    rt.cleanup();
  });
});
