// Adapts the NeuralRuntime (src/neural) to the evolution consumer's weights interface.
import { JournalError } from "../errors.ts";
import type { NeuralRuntime } from "../neural/runtime.ts";
import { encodeModel } from "../neural/export.ts";
import { describeFailure } from "../neural/safety-cases.ts";
import type { CheckpointableWeights, SafetyEvaluator, TensorInfo } from "./weights.ts";

/** Produces the complete model as GGUF bytes with `extra` (u64) metadata added (src/gguf's one writer). */
export type GgufExporter = (extra: Record<string, bigint>) => Uint8Array[];

/** Exporter writing the runtime's current weights (private copies included) with the loaded file's metadata. */
export function runtimeGgufExporter(runtime: NeuralRuntime): GgufExporter {
  return (extra) => {
    const m = runtime.loadedModel();
    const md = new Map(m.file.metadata);
    for (const [k, v] of Object.entries(extra)) md.set(k, { type: 10, value: v });
    // Snapshot: private (mutated) tensors are copied, base views are read-only and stay as they are.
    const tensors = m.weights.current().map((t) => (runtime.tensor(t.name)?.mutated ? { ...t, data: t.data.slice() } : t));
    return [...encodeModel(md, tensors, m.file.alignment)];
  };
}

/**
 * The runtime as evolution weights. Mutations go through `runtime.applyMutation` (copy-on-write of
 * the touched tensor; quantized types re-quantize the touched blocks). Checkpoints need `exportGguf`
 * (until the GGUF writer is wired, `checkpoint()` fails with a clear JournalError and the journal
 * alone carries every mutation).
 */
export function runtimeWeights(runtime: NeuralRuntime, exportGguf?: GgufExporter): CheckpointableWeights {
  let cached: { probe: object; evaluator: SafetyEvaluator } | null = null;
  const infos = new Map<string, TensorInfo>();
  let infoModel: object | null = null;
  return {
    get safety(): SafetyEvaluator | null {
      const probe = runtime.safetyProbe();
      if (!probe) return null;
      if (cached?.probe !== probe) {
        const evaluator: SafetyEvaluator = {
          cases: probe.cases.names.length,
          guards: (t) => probe.guards(t),
          scratch: (t, o, v, from) => probe.scratch(t, o, v, from),
          evaluate(overrides) {
            const f = probe.evaluate(overrides);
            if (!f) return null;
            return "nonFinite" in f ? { caseName: f.probe, text: describeFailure(f), nonFinite: true } : { caseName: f.caseName, text: describeFailure(f) };
          },
        };
        cached = { probe, evaluator };
      }
      return cached.evaluator;
    },
    tensorInfo(name: string): TensorInfo | undefined {
      // Asked for every mutation the gate judges: a tensor's type and size are fixed for a loaded
      // model, so they are described once per model (a new model, e.g. a checkpoint, starts over).
      const model = runtime.loadedModel();
      if (model !== infoModel) {
        infos.clear();
        infoModel = model;
      }
      let info = infos.get(name);
      if (info === undefined) {
        const d = runtime.tensor(name);
        if (!d) return undefined; // not remembered: names a producer makes up must not grow the map
        info = { type: d.typeName, nElements: d.elements };
        infos.set(name, info);
      }
      return info;
    },
    applyMutation(name: string, elementOffset: number, values: Float32Array): void {
      runtime.applyMutation(name, elementOffset, values);
    },
    ggufChunks(extra: Record<string, bigint>): Uint8Array[] {
      if (!exportGguf) throw new JournalError("checkpoint needs a GGUF exporter for the runtime (none configured)");
      return exportGguf(extra);
    },
  };
}
