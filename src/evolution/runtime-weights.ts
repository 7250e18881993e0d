// Adapts the NeuralRuntime (src/neural) to the evolution consumer's weights interface.
import { JournalError } from "../errors.ts";
import type { NeuralRuntime } from "../neural/runtime.ts";
import type { CheckpointableWeights, TensorInfo } from "./weights.ts";

/** Produces the complete model as GGUF bytes with `extra` (u64) metadata added: the GGUF writer's job. */
export type GgufExporter = (extra: Record<string, bigint>) => Iterable<Uint8Array>;

/**
 * The runtime as evolution weights. Mutations go through `runtime.applyMutation` (copy-on-write of
 * the touched tensor; quantized types re-quantize the touched blocks). Checkpoints need `exportGguf`
 * (until the GGUF writer is wired, `checkpoint()` fails with a clear JournalError and the journal
 * alone carries every mutation).
 */
export function runtimeWeights(runtime: NeuralRuntime, exportGguf?: GgufExporter): CheckpointableWeights {
  return {
    tensorInfo(name: string): TensorInfo | undefined {
      const d = runtime.tensor(name);
      return d ? { type: d.typeName, nElements: d.elements } : undefined;
    },
    applyMutation(name: string, elementOffset: number, values: Float32Array): void {
      runtime.applyMutation(name, elementOffset, values);
    },
    ggufChunks(extra: Record<string, bigint>): Iterable<Uint8Array> {
      if (!exportGguf) throw new JournalError("checkpoint needs a GGUF exporter for the runtime (none configured)");
      return exportGguf(extra);
    },
  };
}
