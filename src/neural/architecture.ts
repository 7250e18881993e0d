// The vectorland architecture: metadata keys, tensor names, and the load-time check of a model against them.
import { lazy } from "../util/lazy.ts";
import { z } from "../util/zod-mini.ts";
import { ModelError } from "../errors.ts";
import { type Activation, activationNames } from "./activations.ts";
import { isKernelType, rowBytes } from "./matvec.ts";

export const ARCHITECTURE = "vectorland";
export const SPEC_VERSION = 1;

/** Every metadata key of the architecture (values: GGUF types in the comments). */
export const Keys = {
  architecture: "general.architecture", // string, "vectorland"
  name: "general.name", // string, optional
  version: "vectorland.version", // u32, 1
  layerCount: (h: HeadName) => `vectorland.${h}.layer_count`, // u32 >= 1
  widths: (h: HeadName) => `vectorland.${h}.widths`, // u32[layer_count + 1]: input, hidden..., output
  activations: (h: HeadName) => `vectorland.${h}.activations`, // string[layer_count]
  maxPixels: "vectorland.pixel.max_pixels", // u32: pixels per execution; 3 * max_pixels <= pixel input width
  inputScale: "vectorland.pixel.input_scale", // f32: channel value (0..255) * scale = input
  cortexInputLayout: "vectorland.cortex.input_layout", // string[cortex input width]: hw.mmio field per input
  cortexOutputNames: "vectorland.cortex.output_names", // string[cortex output width]: interrupt per output
  ctrmCaseNames: "vectorland.ctrm.case_names", // string[n_cases], optional: name of each safety case
} as const;

export type HeadName = "pixel" | "cortex";
export const headNames: readonly HeadName[] = ["pixel", "cortex"];

/** Tensor names. Weight ne = [inputs, outputs] (ggml order), bias ne = [outputs]. */
export const TensorNames = {
  weight: (h: HeadName, i: number) => `${h}.${i}.weight`,
  bias: (h: HeadName, i: number) => `${h}.${i}.bias`,
  threshold: "kernel.cortex.threshold", // [n_out] score at or above which the interrupt is raised
  hysteresis: "kernel.cortex.hysteresis", // [n_out] >= 0; the interrupt clears below threshold - hysteresis
  inputMin: "kernel.cortex.input_min", // [n_in] the cortex input is clamped to [input_min, input_max]
  inputMax: "kernel.cortex.input_max", // [n_in]
  ctrmCases: "kernel.ctrm.cases", // [n_in, n_cases], optional: cortex input vector of each safety case
  ctrmExpect: "kernel.ctrm.expect", // [n_out, n_cases], optional: Expect code per interrupt and case
} as const;

/** Tensors whose names start with this are safety-critical: never mutated at run time. */
export const KERNEL_PREFIX = "kernel.";
/** Tensors under this prefix are carried but ignored by the runtime (e.g. padding for packaging tests). */
export const EXTRA_PREFIX = "extra.";

/** What the architecture needs from a parsed GGUF: metadata and tensor infos with data views. */
export interface ModelTensorInfo {
  readonly name: string;
  readonly type: number;
  readonly ne: readonly (number | bigint)[];
  readonly data: Uint8Array;
}
export interface ModelParts {
  readonly metadata: ReadonlyMap<string, unknown>;
  readonly tensors: readonly ModelTensorInfo[];
}

export interface LayerSpec {
  readonly weight: string;
  readonly bias: string;
  readonly inputs: number;
  readonly outputs: number;
  readonly activation: Activation;
}
export interface HeadSpec {
  readonly name: HeadName;
  readonly widths: readonly number[];
  readonly layers: readonly LayerSpec[];
}
export interface VectorlandSpec {
  readonly modelName: string;
  readonly pixel: HeadSpec & { readonly maxPixels: number; readonly inputScale: number };
  readonly cortex: HeadSpec & { readonly inputLayout: readonly string[]; readonly outputNames: readonly string[] };
  /** Names of the model's safety cases (`kernel.ctrm.*`); null: the model carries none. */
  readonly ctrmCaseNames: readonly string[] | null;
}

/** zod/mini schemas of the metadata: built once, on the first model (not at module load, not per key). */
const schemas = lazy(() => {
  const u32 = z.pipe(
    z.union([z.number(), z.bigint()]).check(
      z.refine(
        (v) => {
          const n = Number(v);
          return Number.isSafeInteger(n) && n >= 0 && n <= 0xffffffff;
        },
        { error: (iss) => `not an unsigned 32-bit integer: ${String(iss.input)}` },
      ),
    ),
    z.transform((v) => Number(v)),
  );
  const width = u32.check(z.refine((n) => n >= 1 && n <= 1 << 24, "width must be between 1 and 16777216"));
  return {
    u32,
    width,
    layerCount: u32.check(z.refine((v) => v >= 1 && v <= 64, "layer count must be 1..64")),
    widths: z.array(width),
    activations: z.array(z.enum(activationNames)),
    text: z.string(),
    inputScale: z.number().check(z.refine((v) => Number.isFinite(v) && v > 0, "must be finite and > 0")),
    names: z.array(z.string().check(z.minLength(1), z.maxLength(128))),
  };
});

/** The longest numeric metadata array a vectorland model has: a head's widths (64 layers + 1). */
const MAX_NUMERIC_ITEMS = 65;

function meta<T extends z.ZodMiniType>(md: ReadonlyMap<string, unknown>, key: string, schema: T, optional = false): z.output<T> | undefined {
  if (!md.has(key)) {
    if (optional) return undefined;
    throw new ModelError(`vectorland model: metadata key ${key} is missing`);
  }
  // A numeric array comes from the GGUF reader as a typed array: validated as the plain array it holds,
  // once its length is known to be sane. The reader keeps numeric arrays compact (its item budget
  // counts only strings and bools), and a 64 Mi-item array made into JS values, then one issue per
  // item, took PID 1's memory at boot. Vectorland's only numeric arrays are a head's widths.
  const v = md.get(key);
  const numbers = ArrayBuffer.isView(v) ? (v as unknown as ArrayLike<unknown>) : null;
  if (numbers && numbers.length > MAX_NUMERIC_ITEMS) {
    throw new ModelError(`vectorland model: metadata key ${key}: a numeric array of ${numbers.length} entries (at most ${MAX_NUMERIC_ITEMS}: a head's widths, layer_count + 1)`);
  }
  const r = schema.safeParse(numbers ? Array.from(numbers) : v);
  if (!r.success) throw new ModelError(`vectorland model: metadata key ${key}: ${r.error.issues.map((i) => i.message).join("; ")}`);
  return r.data;
}

function checkTensor(byName: Map<string, ModelTensorInfo>, name: string, shape: number[], what: string): ModelTensorInfo {
  const t = byName.get(name);
  if (!t) throw new ModelError(`vectorland model: tensor ${name} (${what}) is missing`);
  const ne = t.ne.map(Number);
  const okShape = ne.length >= shape.length && shape.every((d, i) => ne[i] === d) && ne.slice(shape.length).every((d) => d === 1);
  if (!okShape) throw new ModelError(`vectorland model: tensor ${name} has shape [${ne.join(", ")}], ${what} needs [${shape.join(", ")}]`);
  if (!isKernelType(t.type)) throw new ModelError(`vectorland model: tensor ${name} has ggml type ${t.type}; supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K`);
  const rows = shape.slice(1).reduce((a, b) => a * b, 1);
  const need = rows * rowBytes(t.type, shape[0]!);
  if (t.data.byteLength !== need) throw new ModelError(`vectorland model: tensor ${name} has ${t.data.byteLength} data bytes, its shape and type need ${need}`);
  return t;
}

function parseHead(md: ReadonlyMap<string, unknown>, byName: Map<string, ModelTensorInfo>, h: HeadName): HeadSpec {
  const n = meta(md, Keys.layerCount(h), schemas().layerCount)!;
  const widths = meta(md, Keys.widths(h), schemas().widths)!;
  const acts = meta(md, Keys.activations(h), schemas().activations)!;
  if (widths.length !== n + 1) throw new ModelError(`vectorland model: ${Keys.widths(h)} has ${widths.length} entries, layer_count ${n} needs ${n + 1}`);
  if (acts.length !== n) throw new ModelError(`vectorland model: ${Keys.activations(h)} has ${acts.length} entries, layer_count ${n} needs ${n}`);
  const layers: LayerSpec[] = [];
  for (let i = 0; i < n; i++) {
    const inputs = widths[i]!;
    const outputs = widths[i + 1]!;
    checkTensor(byName, TensorNames.weight(h, i), [inputs, outputs], `layer ${i} weight of the ${h} head`);
    checkTensor(byName, TensorNames.bias(h, i), [outputs], `layer ${i} bias of the ${h} head`);
    layers.push({ weight: TensorNames.weight(h, i), bias: TensorNames.bias(h, i), inputs, outputs, activation: acts[i]! });
  }
  // A tensor of this head outside the declared layers means metadata and tensors disagree.
  for (const name of byName.keys()) {
    if (name.startsWith(`${h}.`) && !layers.some((l) => l.weight === name || l.bias === name)) {
      throw new ModelError(`vectorland model: tensor ${name} is not part of the ${n} declared ${h} layers`);
    }
  }
  return { name: h, widths, layers };
}

/**
 * Checks a parsed GGUF against the vectorland architecture and returns its shape. Throws ModelError
 * naming the key or tensor on any mismatch, so a bad model fails at load and never at first use.
 */
export function parseVectorland(src: ModelParts): VectorlandSpec {
  const md = src.metadata;
  const arch = meta(md, Keys.architecture, schemas().text)!;
  if (arch !== ARCHITECTURE) throw new ModelError(`model architecture is "${arch}", this runtime runs "${ARCHITECTURE}"`);
  const version = meta(md, Keys.version, schemas().u32)!;
  if (version !== SPEC_VERSION) throw new ModelError(`vectorland model: ${Keys.version} is ${version}, this runtime reads version ${SPEC_VERSION}`);
  const modelName = meta(md, Keys.name, schemas().text, true) ?? "vectorland";
  const byName = new Map<string, ModelTensorInfo>();
  for (const t of src.tensors) byName.set(t.name, t);

  const pixel = parseHead(md, byName, "pixel");
  const maxPixels = meta(md, Keys.maxPixels, schemas().width)!;
  if (3 * maxPixels > pixel.widths[0]!) {
    throw new ModelError(`vectorland model: ${Keys.maxPixels} ${maxPixels} needs a pixel input width of at least ${3 * maxPixels}, the model has ${pixel.widths[0]}`);
  }
  const inputScale = meta(md, Keys.inputScale, schemas().inputScale)!;

  const cortex = parseHead(md, byName, "cortex");
  const nIn = cortex.widths[0]!;
  const nOut = cortex.widths[cortex.widths.length - 1]!;
  const inputLayout = meta(md, Keys.cortexInputLayout, schemas().names)!;
  if (inputLayout.length !== nIn) throw new ModelError(`vectorland model: ${Keys.cortexInputLayout} names ${inputLayout.length} inputs, the cortex head takes ${nIn}`);
  if (new Set(inputLayout).size !== inputLayout.length) throw new ModelError(`vectorland model: ${Keys.cortexInputLayout} names an input twice`);
  const outputNames = meta(md, Keys.cortexOutputNames, schemas().names)!;
  if (outputNames.length !== nOut) throw new ModelError(`vectorland model: ${Keys.cortexOutputNames} names ${outputNames.length} outputs, the cortex head gives ${nOut}`);
  if (new Set(outputNames).size !== outputNames.length) throw new ModelError(`vectorland model: ${Keys.cortexOutputNames} names an output twice`);

  checkTensor(byName, TensorNames.threshold, [nOut], "interrupt thresholds");
  checkTensor(byName, TensorNames.hysteresis, [nOut], "interrupt hysteresis");
  checkTensor(byName, TensorNames.inputMin, [nIn], "cortex input lower limits");
  checkTensor(byName, TensorNames.inputMax, [nIn], "cortex input upper limits");
  const ctrmCaseNames = parseCtrm(md, byName, nIn, nOut);
  for (const name of byName.keys()) {
    const known = name.startsWith("pixel.") || name.startsWith("cortex.") || name.startsWith(EXTRA_PREFIX) || Object.values(TensorNames).includes(name as never);
    if (!known) throw new ModelError(`vectorland model: tensor ${name} belongs to no part of the architecture (pixel.*, cortex.*, kernel.cortex.*, extra.*)`);
  }
  return { modelName, pixel: { ...pixel, maxPixels, inputScale }, cortex: { ...cortex, inputLayout, outputNames }, ctrmCaseNames };
}

/** The optional safety cases: all three parts (names, inputs, expectations) or none. */
function parseCtrm(md: ReadonlyMap<string, unknown>, byName: Map<string, ModelTensorInfo>, nIn: number, nOut: number): string[] | null {
  const parts = [md.has(Keys.ctrmCaseNames), byName.has(TensorNames.ctrmCases), byName.has(TensorNames.ctrmExpect)];
  if (parts.every((p) => !p)) return null;
  if (!parts.every((p) => p)) throw new ModelError(`vectorland model: safety cases need all of ${Keys.ctrmCaseNames}, ${TensorNames.ctrmCases} and ${TensorNames.ctrmExpect}`);
  const names = meta(md, Keys.ctrmCaseNames, schemas().names)!;
  if (names.length < 1 || new Set(names).size !== names.length) throw new ModelError(`vectorland model: ${Keys.ctrmCaseNames} must name at least one case, each once`);
  checkTensor(byName, TensorNames.ctrmCases, [nIn, names.length], "safety case inputs");
  checkTensor(byName, TensorNames.ctrmExpect, [nOut, names.length], "safety case expectations");
  return names;
}
