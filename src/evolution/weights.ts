// What the evolution consumer needs from the weights: tensor lookup, copy-on-write mutation, checkpoint export.

export interface TensorInfo {
  /** ggml type name: "F32", "F16", "BF16", "Q8_0", "Q4_0", ... */
  type: string;
  nElements: number;
}

/**
 * The model's safety cases as the CTRM gate evaluates them (the NeuralRuntime's SafetyProbe). Tensor
 * bytes are scratch copies: evaluating never touches the live weights.
 */
export interface SafetyEvaluator {
  /** Number of safety cases. */
  readonly cases: number;
  /** Whether a mutation of `tensor` can change an interrupt (only those are evaluated). */
  guards(tensor: string): boolean;
  /** The tensor's bytes with the mutation written over `from` (default: the live bytes), in a fresh copy. */
  scratch(tensor: string, elementOffset: number, values: Float32Array, from?: Uint8Array): Uint8Array;
  /**
   * Runs the cases with `overrides` in place of the live tensors: the first failure, or null.
   * `nonFinite`: an interrupt score was NaN or infinite (on a fixed probe input or a case).
   */
  evaluate(overrides?: ReadonlyMap<string, Uint8Array>): { caseName: string; text: string; nonFinite?: boolean } | null;
}

/** Implemented by the NeuralRuntime (src/neural) and by the stand-in store used in tests. */
export interface MutableWeights {
  /** The safety cases of the loaded model; null or absent: the model carries none (no safety check). */
  readonly safety?: SafetyEvaluator | null;
  tensorInfo(name: string): TensorInfo | undefined;
  /**
   * Writes `values` into tensor `name` from element `elementOffset`, on a private copy of the
   * tensor (the mapped base stays read-only). The CTRM gate has already checked name, range and values.
   */
  applyMutation(tensorName: string, elementOffset: number, values: Float32Array): void;
}

/** Weights that can be saved as a complete GGUF (checkpoints). */
export interface CheckpointableWeights extends MutableWeights {
  /**
   * The complete model as GGUF bytes (chunks in file order), with `extra` added to its metadata.
   * A snapshot: later mutations must not change the returned chunks (copy private tensors; the
   * read-only base views may be returned as they are). The file is written asynchronously.
   */
  ggufChunks(extra: Record<string, bigint>): Uint8Array[];
}
