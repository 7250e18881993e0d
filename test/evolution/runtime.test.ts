// The real NeuralRuntime behind the channel: a mutation changes the output for a known input, survives a restart and a checkpoint.
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { openEvolution } from "../../src/evolution/evolution.ts";
import { writeGguf } from "../../src/gguf/writer.ts";
import { statusName } from "../../src/evolution/reasons.ts";
import { runtimeGgufExporter, runtimeWeights } from "../../src/evolution/runtime-weights.ts";
import { readGguf } from "../../src/gguf/reader.ts";
import { NeuralRuntime } from "../../src/neural/runtime.ts";
import { buildVectorland } from "../../src/neural/vectorland-builder.ts";
import { removeDir, tempDir } from "./harness.ts";
import { tsProducer } from "./ts-producer.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function baseModel(dir: string, type: "F32" | "Q8_0"): string {
  const b = buildVectorland({ seed: 11, type });
  const path = join(dir, `base-${type}.gguf`);
  writeFileSync(path, writeGguf({ metadata: b.metadata, tensors: b.tensors }));
  return path;
}

async function boot(stateDir: string, runDir: string, model: string) {
  const rt = new NeuralRuntime();
  const evo = await openEvolution({
    stateDir,
    runDir,
    gate: { supportedTypes: ["F32", "F16", "BF16", "Q8_0", "Q4_0"] },
    loadWeights: async (p) => {
      await rt.init(p ?? model);
      return runtimeWeights(rt, runtimeGgufExporter(rt));
    },
  });
  return { rt, evo };
}

const input = [[255, 0, 0], [12, 200, 99]];

describe("evolution with the real NeuralRuntime", () => {
  for (const type of ["F32", "Q8_0"] as const) {
    test(`${type}: a mutation changes the output for a known input, kernel.* is refused, replay and checkpoint restore it`, async () => {
      const d = tempDir("vb-evo-rt-");
      dirs.push(d);
      const model = baseModel(d, type);
      const state = join(d, "state");
      const run = join(d, "run");
      let { rt, evo } = await boot(state, run, model);
      const before = Array.from(rt.executePixels(input).output);
      const weight = rt.tensorNames().find((n) => /^pixel\.0\.weight$/.test(n))!;
      const kernel = rt.tensorNames().find((x) => x.startsWith("kernel."))!;
      const p = await tsProducer(evo.socketPath);
      const res = await p.submit([
        { tensor: weight, elementOffset: 0, values: Float32Array.from({ length: 96 }, (_, i) => ((i % 7) - 3) / 2), confidence: 0.95 },
        { tensor: kernel, elementOffset: 0, values: Float32Array.of(0), confidence: 0.99 },
      ]);
      p.close();
      expect(res.map((c) => statusName[c.status])).toEqual(["ACCEPTED", "PROTECTED_TENSOR"]);
      expect(rt.tensor(weight)!.typeName).toBe(type);
      const after = Array.from(rt.executePixels(input).output);
      expect(after).not.toEqual(before);
      // Restart: base + journal replay.
      await evo.close();
      rt.cleanup();
      ({ rt, evo } = await boot(state, run, model));
      expect(evo.stats().replayed).toBe(1);
      expect(Array.from(rt.executePixels(input).output)).toEqual(after);
      // Checkpoint: a complete GGUF the reader accepts; the next boot starts from it with nothing to replay.
      const ck = await evo.checkpoint();
      await evo.close();
      rt.cleanup();
      const ckBytes = new Uint8Array(await Bun.file(join(state, "checkpoints", ck.file)).arrayBuffer());
      expect(readGguf(ckBytes).meta("vector_boot.journal_seq")).toBe(BigInt(ck.coveredSeq));
      ({ rt, evo } = await boot(state, run, model));
      expect(evo.stats().bootCheckpoint).toContain(ck.file);
      expect(evo.stats().replayed).toBe(0);
      expect(Array.from(rt.executePixels(input).output)).toEqual(after);
      await evo.close();
      rt.cleanup();
    });
  }
});
