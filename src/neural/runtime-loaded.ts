// What a NeuralRuntime holds for its loaded model, how it lets go of it, and the caller's copy of a result.
import { logger } from "../log.ts";
import type { MatvecPool } from "./matvec-pool.ts";
import { describeModel, type LoadedModel } from "./model.ts";
import type { MappedModel, ModelInfo, PixelResult } from "./runtime-types.ts";
import type { SafetyProbe } from "./safety-probe.ts";

const log = logger("neural");

export interface Loaded {
  model: LoadedModel;
  source: Uint8Array | MappedModel;
  /** The source's bytes (the model's tensors are views of them). */
  bytes: Uint8Array;
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

/** The state of a model just loaded from `source` (no worker pool yet). */
export function newLoaded(model: LoadedModel, source: Uint8Array | MappedModel, unmap: (() => void) | null, mappedBytes: number): Loaded {
  const bytes = source instanceof Uint8Array ? source : source.bytes;
  const s = model.spec;
  return {
    model,
    source,
    bytes,
    pool: null,
    poolStarting: false,
    info: describeModel(model, bytes.byteLength),
    unmap,
    mappedBytes,
    pixelInput: new Float32Array(s.pixel.widths[0]!),
    cortexInput: new Float32Array(s.cortex.widths[0]!),
    probe: undefined,
  };
}

/** Closes the model's worker pool and unmaps its file (a failed unmap is logged, not thrown). */
export function releaseLoaded(c: Loaded): void {
  c.model.weights.release(); // a SafetyProbe or export iterator the caller kept must not read the pages unmapped below
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
