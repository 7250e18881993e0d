// What a NeuralRuntime holds for its loaded model, how it lets go of it, and the caller's copy of a result.
import { logger } from "../log.ts";
import type { MatvecPool } from "./matvec-pool.ts";
import type { LoadedModel } from "./model.ts";
import type { MappedModel, ModelInfo, PixelResult } from "./runtime-types.ts";
import type { SafetyProbe } from "./safety-probe.ts";

const log = logger("neural");

export interface Loaded {
  model: LoadedModel;
  source: Uint8Array | MappedModel;
  pool: MatvecPool | null;
  /** startWorkers is under way for this model (one pool per model). */
  poolStarting: boolean;
  info: ModelInfo;
  unmap: (() => void) | null;
  mappedBytes: number;
  pixelInput: Float32Array;
  cortexInput: Float32Array;
  probe: SafetyProbe | null | undefined;
}

/** Closes the model's worker pool and unmaps its file (a failed unmap is logged, not thrown). */
export function releaseLoaded(c: Loaded): void {
  if (c.pool) {
    c.model.weights.detachPool();
    c.pool.close();
  }
  if (c.unmap) {
    try {
      c.unmap();
    } catch (err) {
      log.warn("unmapping the model failed", { error: String(err) });
    }
  }
}

/** Results are the caller's: writing into one changes neither the runtime's nor another caller's. */
export function copyResult(r: PixelResult): PixelResult {
  return { pixels: r.pixels, output: r.output.slice(), top: { ...r.top }, elapsedMs: r.elapsedMs };
}
