// Builds a vectorland model (metadata + tensors) deterministically from a seed and sizes; gen-vectorland writes it.
import { mulberry32 } from "../util/prng.ts";
import { InputError } from "../errors.ts";
import { type GgufValue, gv } from "../gguf/index.ts";
import { type Activation } from "./activations.ts";
import { ARCHITECTURE, type HeadName, Keys, SPEC_VERSION, TensorNames } from "./architecture.ts";
import { checkBuildOptions, checkBuildWeights } from "./build-options.ts";
import { encodeElements } from "./codec.ts";
import { type CortexInput, defaultCortexInputs, defaultInterrupts, type InterruptSpec } from "./default-cortex.ts";
import { KernelType, rowBytes } from "./matvec.ts";
import { assembleModel } from "./model.ts";
import { quantizeBlocks } from "./quantizer.ts";
import { designSafetyCases, type ExtraCase } from "./safety-case-design.ts";
import { describeFailure } from "./safety-cases.ts";
import { SafetyProbe } from "./safety-probe.ts";

export type WeightTypeName = "F32" | "F16" | "BF16" | "Q8_0" | "Q4_0";
export const weightTypes: Record<WeightTypeName, number> = { F32: 0, F16: 1, BF16: 30, Q8_0: 8, Q4_0: 2 };

export interface BuildOptions {
  seed?: number;
  name?: string;
  /** ggml type of every weight matrix (biases and kernel.* stay F32). */
  type?: WeightTypeName;
  maxPixels?: number;
  pixelHidden?: readonly number[];
  pixelOutputs?: number;
  /** Hidden width of the cortex head (at least one unit per interrupt term). */
  cortexHidden?: number;
  cortexInputs?: readonly CortexInput[];
  interrupts?: readonly InterruptSpec[];
  /** Adds an `extra.padding` F32 tensor of this many MiB (pseudo-random, incompressible). */
  padMib?: number;
  /** Safety cases (`kernel.ctrm.*`) derived from the cortex design (default true; false: a model without cases). */
  safetyCases?: boolean;
  /** Hand-written safety cases added to the derived ones. */
  extraCases?: readonly ExtraCase[];
}

export interface BuiltTensor {
  name: string;
  type: number;
  ne: number[];
  data: Uint8Array;
}
export interface BuiltModel {
  metadata: Map<string, GgufValue>;
  tensors: BuiltTensor[];
}

export { mulberry32 };

const roundUp32 = (n: number) => Math.ceil(n / 32) * 32;

function encode(type: number, values: Float32Array, ne: number[]): Uint8Array {
  const rows = ne.slice(1).reduce((a, b) => a * b, 1);
  const out = new Uint8Array(rows * rowBytes(type, ne[0]!));
  encodeElements(type, out, 0, values, quantizeBlocks);
  return out;
}

function headMetadata(md: Map<string, GgufValue>, h: HeadName, widths: number[], acts: Activation[]): void {
  md.set(Keys.layerCount(h), gv.u32(acts.length));
  md.set(Keys.widths(h), gv.u32s(widths));
  md.set(Keys.activations(h), gv.strs(acts));
}

/** Dense layer with Xavier-uniform weights W[out][in] and small biases. */
function randomLayer(r: () => number, inputs: number, outputs: number): { w: Float32Array; b: Float32Array } {
  const lim = Math.sqrt(6 / (inputs + outputs));
  const w = new Float32Array(inputs * outputs);
  for (let i = 0; i < w.length; i++) w[i] = (r() * 2 - 1) * lim;
  const b = new Float32Array(outputs);
  for (let i = 0; i < outputs; i++) b[i] = (r() * 2 - 1) * 0.05;
  return { w, b };
}

/**
 * The cortex head: layer 0 (ReLU) has one hand-set unit per interrupt term, h = relu((x - fireAt) /
 * scale + 1); the remaining hidden units are seeded random features with zero outgoing weight
 * (dormant until evolution enables them). Layer 1 (sigmoid): score = sigmoid(6 * (sum h - 1)).
 */
function cortexLayers(r: () => number, inputs: readonly CortexInput[], ints: readonly InterruptSpec[], hidden: number) {
  const nIn = inputs.length;
  const index = new Map(inputs.map((c, i) => [c.name, i]));
  const nTerms = ints.reduce((a, k) => a + k.terms.length, 0);
  if (hidden < nTerms) throw new InputError(`cortex hidden width ${hidden} is smaller than the ${nTerms} interrupt terms`);
  const l0 = randomLayer(r, nIn, hidden);
  for (let i = 0; i < l0.w.length; i++) l0.w[i] = l0.w[i]! * 0.1;
  const l1w = new Float32Array(hidden * ints.length);
  const l1b = new Float32Array(ints.length);
  let unit = 0;
  ints.forEach((k, o) => {
    l1b[o] = -6;
    for (const t of k.terms) {
      const col = index.get(t.input);
      if (col === undefined) throw new InputError(`interrupt ${k.name}: input ${t.input} is not in the cortex layout`);
      if (!(t.scale > 0)) throw new InputError(`interrupt ${k.name}: term scale must be > 0`);
      l0.w.fill(0, unit * nIn, (unit + 1) * nIn);
      l0.w[unit * nIn + col] = 1 / t.scale;
      l0.b[unit] = 1 - t.fireAt / t.scale;
      l1w[o * hidden + unit] = 6;
      unit++;
    }
  });
  return [l0, { w: l1w, b: l1b }];
}

/** Builds the model's metadata and tensors. Same options, same bytes. */
export function buildVectorland(opts: BuildOptions = {}): BuiltModel {
  checkBuildOptions(opts);
  const seed = opts.seed ?? 0x5eed;
  const type = weightTypes[opts.type ?? "F32"];
  if (type === undefined) throw new InputError(`unknown weight type ${opts.type}; use one of ${Object.keys(weightTypes).join(", ")}`);
  const quantized = type === KernelType.Q8_0 || type === KernelType.Q4_0;
  const maxPixels = opts.maxPixels ?? 32;
  const pixelWidths = [roundUp32(3 * maxPixels), ...(opts.pixelHidden ?? [64]), opts.pixelOutputs ?? 16];
  const cInputs = opts.cortexInputs ?? defaultCortexInputs;
  const ints = opts.interrupts ?? defaultInterrupts;
  const cortexWidths = [cInputs.length, opts.cortexHidden ?? 32, ints.length];
  for (const [h, ws] of [["pixel", pixelWidths], ["cortex", cortexWidths]] as const) {
    for (let i = 0; i < ws.length; i++) {
      const w = ws[i]!;
      if (!Number.isSafeInteger(w) || w < 1) throw new InputError(`${h} width ${i} must be a positive integer, got ${w}`);
      if (quantized && i < ws.length - 1 && w % 32 !== 0) throw new InputError(`${h} layer input width ${w} must be a multiple of 32 for ${opts.type}`);
    }
  }
  checkBuildWeights(pixelWidths, cortexWidths);
  const r = mulberry32(seed);
  const md = new Map<string, GgufValue>();
  md.set(Keys.architecture, gv.str(ARCHITECTURE));
  md.set(Keys.name, gv.str(opts.name ?? "vectorland-default"));
  md.set(Keys.version, gv.u32(SPEC_VERSION));
  md.set("general.seed", gv.u32(seed >>> 0));
  const pixelActs: Activation[] = [...pixelWidths.slice(2).map((): Activation => "relu"), "softmax"];
  headMetadata(md, "pixel", pixelWidths, pixelActs);
  md.set(Keys.maxPixels, gv.u32(maxPixels));
  md.set(Keys.inputScale, gv.f32(1 / 255));
  headMetadata(md, "cortex", cortexWidths, ["relu", "sigmoid"]);
  md.set(Keys.cortexInputLayout, gv.strs(cInputs.map((c) => c.name)));
  md.set(Keys.cortexOutputNames, gv.strs(ints.map((k) => k.name)));

  const tensors: BuiltTensor[] = [];
  const addLayer = (h: HeadName, i: number, l: { w: Float32Array; b: Float32Array }, inputs: number, outputs: number) => {
    tensors.push({ name: TensorNames.weight(h, i), type, ne: [inputs, outputs], data: encode(type, l.w, [inputs, outputs]) });
    tensors.push({ name: TensorNames.bias(h, i), type: 0, ne: [outputs], data: encode(0, l.b, [outputs]) });
  };
  for (let i = 0; i + 1 < pixelWidths.length; i++) addLayer("pixel", i, randomLayer(r, pixelWidths[i]!, pixelWidths[i + 1]!), pixelWidths[i]!, pixelWidths[i + 1]!);
  cortexLayers(r, cInputs, ints, cortexWidths[1]!).forEach((l, i) => addLayer("cortex", i, l, cortexWidths[i]!, cortexWidths[i + 1]!));
  const vec = (name: string, v: number[]) => tensors.push({ name, type: 0, ne: [v.length], data: encode(0, Float32Array.from(v), [v.length]) });
  vec(TensorNames.threshold, ints.map((k) => k.threshold));
  vec(TensorNames.hysteresis, ints.map((k) => k.hysteresis));
  vec(TensorNames.inputMin, cInputs.map((c) => c.min));
  vec(TensorNames.inputMax, cInputs.map((c) => c.max));
  if (opts.safetyCases !== false) {
    const cases = designSafetyCases(cInputs, ints, opts.extraCases);
    const n = cases.names.length;
    md.set(Keys.ctrmCaseNames, gv.strs(cases.names));
    tensors.push({ name: TensorNames.ctrmCases, type: 0, ne: [cInputs.length, n], data: encode(0, cases.inputs, [cInputs.length, n]) });
    tensors.push({ name: TensorNames.ctrmExpect, type: 0, ne: [ints.length, n], data: encode(0, cases.expect, [ints.length, n]) });
  }

  if (opts.padMib) {
    const n = Math.round(opts.padMib * 262144);
    const u = new Uint32Array(n);
    let x = seed ^ 0x9e3779b9 || 1;
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      u[i] = x & 0x3f7fffff; // finite floats of magnitude below 2
    }
    tensors.push({ name: "extra.padding", type: 0, ne: [n], data: new Uint8Array(u.buffer) });
  }
  if (opts.safetyCases !== false) checkOwnCases(md, tensors);
  return { metadata: md, tensors };
}

/** The built weights must pass the cases derived from their design (rounding of a weight type could break one). */
function checkOwnCases(md: Map<string, GgufValue>, tensors: BuiltTensor[]): void {
  const model = assembleModel({ metadata: new Map([...md].map(([k, v]) => [k, v.value])), tensors });
  const failure = model.safety && new SafetyProbe({ ...model, safety: model.safety }).evaluate();
  if (failure) throw new InputError(`the built model fails its own safety case (${describeFailure(failure)}): the weight type rounds the design too coarsely, or a hand-written case contradicts it`);
}
