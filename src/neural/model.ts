// A loaded vectorland model: parsed GGUF, checked spec, weight store, both heads, kernel parameters.
import { ModelError } from "../errors.ts";
import { type GgufFile, readGguf } from "../gguf/index.ts";
import { EXTRA_PREFIX, type ModelParts, parseVectorland, TensorNames, type VectorlandSpec } from "./architecture.ts";
import { Head } from "./head.ts";
import { quantizeBlocks } from "./quantizer.ts";
import type { ModelInfo } from "./runtime-types.ts";
import { readSafetyCases, type SafetyCases } from "./safety-cases.ts";
import { WeightStore } from "./weights.ts";

/** The safety-critical parameters of the cortex head (copies: the model's own stay immutable). */
export interface KernelParameters {
  /** Interrupt name per cortex output. */
  readonly outputNames: readonly string[];
  /** Score at or above which interrupt i is raised. */
  readonly thresholds: Float32Array;
  /** Interrupt i clears when its score falls below thresholds[i] - hysteresis[i]. */
  readonly hysteresis: Float32Array;
  /** hw.mmio field per cortex input, and the limits every input is clamped to before the head runs. */
  readonly inputLayout: readonly string[];
  readonly inputMin: Float32Array;
  readonly inputMax: Float32Array;
}

export interface LoadedModel {
  readonly file: GgufFile;
  readonly spec: VectorlandSpec;
  readonly weights: WeightStore;
  readonly pixel: Head;
  readonly cortex: Head;
  readonly kernel: KernelParameters;
  /** The model's safety cases (`kernel.ctrm.*`), or null when it carries none. */
  readonly safety: SafetyCases | null;
}

/** Clamps a cortex input to the kernel limits into `out` (NaN becomes the lower limit): what the head sees. */
export function clampCortexInput(k: KernelParameters, input: Float32Array, out: Float32Array): void {
  const lo = k.inputMin;
  const hi = k.inputMax;
  for (let i = 0; i < out.length; i++) {
    const v = input[i]!;
    out[i] = v >= lo[i]! ? (v <= hi[i]! ? v : hi[i]!) : lo[i]!;
  }
}

function checkKernel(k: KernelParameters): void {
  for (let i = 0; i < k.thresholds.length; i++) {
    if (!Number.isFinite(k.thresholds[i]!)) throw new ModelError(`vectorland model: ${TensorNames.threshold}[${i}] (${k.outputNames[i]}) is not finite`);
    const h = k.hysteresis[i]!;
    if (!Number.isFinite(h) || h < 0) throw new ModelError(`vectorland model: ${TensorNames.hysteresis}[${i}] (${k.outputNames[i]}) is ${h}, must be finite and >= 0`);
  }
  for (let i = 0; i < k.inputMin.length; i++) {
    const lo = k.inputMin[i]!;
    const hi = k.inputMax[i]!;
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) {
      throw new ModelError(`vectorland model: cortex input ${i} (${k.inputLayout[i]}) has limits [${lo}, ${hi}]; need finite min <= max`);
    }
  }
}

/**
 * The cortex head decides the machine's interrupts: one NaN or infinite weight there made every score
 * NaN, no interrupt ever rose, and the model loaded without a word (the pixel head's outputs are
 * checked at each run). Read in chunks of 64 Ki elements: no copy of a large head is kept.
 */
function checkCortexFinite(spec: VectorlandSpec, weights: WeightStore): void {
  const chunk = 1 << 16;
  for (const l of spec.cortex.layers) {
    for (const name of [l.weight, l.bias]) {
      const n = weights.describe(name).elements;
      for (let at = 0; at < n; at += chunk) {
        const v = weights.read(name, at, Math.min(chunk, n - at));
        for (let i = 0; i < v.length; i++) {
          if (!Number.isFinite(v[i]!)) throw new ModelError(`vectorland model: ${name}[${at + i}] is ${v[i]}: the cortex head's weights must be finite (its scores raise the interrupts)`);
        }
      }
    }
  }
}

/**
 * Parses and checks `bytes` as a vectorland GGUF. Everything that could fail at first use is checked
 * here: architecture, shapes, types, byte sizes, kernel parameters. Tensor data stays zero-copy.
 */
export function loadModel(bytes: Uint8Array): LoadedModel {
  const file = readGguf(bytes);
  if (!file.littleEndian) throw new ModelError("big-endian GGUF: the neural runtime computes on little-endian tensor data only");
  const metadata = new Map<string, unknown>();
  for (const [k, v] of file.metadata) metadata.set(k, v.value);
  return { file, ...assembleModel({ metadata, tensors: file.tensors }) };
}

/** Checks parsed metadata and tensors against the architecture and builds the heads (no file needed). */
export function assembleModel(src: ModelParts): Omit<LoadedModel, "file"> {
  const spec = parseVectorland(src);
  const weights = new WeightStore(src.tensors, quantizeBlocks);
  const kernel: KernelParameters = {
    outputNames: Object.freeze([...spec.cortex.outputNames]),
    thresholds: weights.vector(TensorNames.threshold).slice(),
    hysteresis: weights.vector(TensorNames.hysteresis).slice(),
    inputLayout: Object.freeze([...spec.cortex.inputLayout]),
    inputMin: weights.vector(TensorNames.inputMin).slice(),
    inputMax: weights.vector(TensorNames.inputMax).slice(),
  };
  checkKernel(kernel);
  const nIn = spec.cortex.widths[0]!;
  const nOut = kernel.outputNames.length;
  const safety = spec.ctrmCaseNames
    ? readSafetyCases(spec.ctrmCaseNames, weights.vector(TensorNames.ctrmCases).slice(), weights.vector(TensorNames.ctrmExpect), nIn, nOut)
    : null;
  checkCortexFinite(spec, weights);
  // Decode every bias and prepare every matrix now, so nothing can fail at first use.
  const pixel = new Head(spec.pixel, weights);
  const cortex = new Head(spec.cortex, weights);
  return { spec, weights, pixel, cortex, kernel, safety };
}

/** What `init` reports about a loaded model of `bytes` bytes. */
export function describeModel(model: LoadedModel, bytes: number): ModelInfo {
  const s = model.spec;
  return {
    name: s.modelName,
    bytes,
    tensors: model.file.tensors.length,
    parameters: model.file.tensors.reduce((a, t) => (t.name.startsWith(EXTRA_PREFIX) ? a : a + t.nElements), 0),
    pixel: { widths: s.pixel.widths, activations: s.pixel.layers.map((l) => l.activation), maxPixels: s.pixel.maxPixels },
    cortex: { widths: s.cortex.widths, activations: s.cortex.layers.map((l) => l.activation), inputLayout: s.cortex.inputLayout, outputNames: s.cortex.outputNames },
  };
}
