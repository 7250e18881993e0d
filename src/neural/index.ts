// Public API of the neural runtime (re-exported by src/index.ts).
export { NeuralRuntime } from "./runtime.ts";
export type { MappedModel, ModelInfo, ModelInput, PixelResult, RuntimeOptions, RuntimeStats } from "./runtime-types.ts";
export type { KernelParameters } from "./model.ts";
export type { TensorDescription } from "./weights.ts";
export type { Pixel, PixelInput } from "./pixel-input.ts";
export { ARCHITECTURE, Keys as VectorlandKeys, TensorNames as VectorlandTensors, KERNEL_PREFIX, parseVectorland, type VectorlandSpec } from "./architecture.ts";
export { activationNames, type Activation } from "./activations.ts";
export { KernelType, matvec, prepareMatrix, type PreparedMatrix } from "./matvec.ts";
export { buildVectorland, type BuildOptions, type BuiltModel, type WeightTypeName } from "./vectorland-builder.ts";
export { defaultCortexInputs, defaultInterrupts, type CortexInput, type InterruptSpec, type InterruptTerm } from "./default-cortex.ts";
