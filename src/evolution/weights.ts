// What the evolution consumer needs from the weights: tensor lookup, copy-on-write mutation, checkpoint export.

export interface TensorInfo {
  /** ggml type name: "F32", "F16", "BF16", "Q8_0", "Q4_0", ... */
  type: string;
  nElements: number;
}

/** Implemented by the NeuralRuntime (src/neural) and by the stand-in store used in tests. */
export interface MutableWeights {
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
