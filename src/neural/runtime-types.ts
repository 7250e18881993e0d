// Types of the NeuralRuntime API: model sources, options, results and statistics.

/** A model already mapped by the caller (e.g. `openModelSource`); the runtime calls `unmap` at cleanup. */
export interface MappedModel {
  readonly bytes: Uint8Array;
  unmap?(): void;
  /** File the bytes are mapped from and the file offset of bytes[0]: lets worker threads map the same pages. */
  readonly path?: string;
  readonly offset?: number;
  /** Where worker threads map the same bytes when that is not `path` at `offset` (e.g. a sealed copy). */
  readonly mapPath?: string;
  readonly mapOffset?: number;
}

export interface RuntimeOptions {
  /**
   * Threads for large mat-vec products (the caller's plus workers); default: the CPU count, at most 4.
   * Workers start only in `init()` and only for weights of at least `parallelMinBytes` that they can
   * reach without a copy (a mapped file, or bytes in a SharedArrayBuffer). 1 disables them.
   */
  threads?: number;
  /** Smallest weight matrix (bytes) worth splitting; default 1 MiB. */
  parallelMinBytes?: number;
}
/** Model bytes, a path to a .gguf (or .rts) file, or a mapping handed over to the runtime. */
export type ModelInput = Uint8Array | string | MappedModel;

export interface ModelInfo {
  readonly name: string;
  readonly bytes: number;
  readonly tensors: number;
  /** Elements of every tensor except extra.* (padding). */
  readonly parameters: number;
  readonly pixel: { readonly widths: readonly number[]; readonly activations: readonly string[]; readonly maxPixels: number };
  readonly cortex: { readonly widths: readonly number[]; readonly activations: readonly string[]; readonly inputLayout: readonly string[]; readonly outputNames: readonly string[] };
}

export interface PixelResult {
  /** Number of pixels executed. */
  readonly pixels: number;
  /** The pixel head's output vector (a copy owned by the caller). */
  readonly output: Float32Array;
  /** Index and value of the largest output. */
  readonly top: { readonly index: number; readonly value: number };
  readonly elapsedMs: number;
}

export interface RuntimeStats {
  readonly loaded: boolean;
  readonly loads: number;
  readonly loadMs: number;
  /** Pixel programs executed, and time spent in them. */
  readonly executions: number;
  readonly executeMs: number;
  readonly cortexRuns: number;
  readonly cortexMs: number;
  /** Bytes of the current model that are mapped from a file (0 when given as bytes). */
  readonly bytesMapped: number;
  readonly modelBytes: number;
  /** Bytes held in private copies of mutated tensors. */
  readonly privateBytes: number;
  readonly mutations: number;
  readonly errors: number;
  /** Worker threads in use, and products split across them. */
  readonly workers: number;
  readonly parallelRuns: number;
  /** The mat-vec kernels of this thread ("avx512", "avx2", "c" or "typescript"; null with no model loaded) and of each worker in use. */
  readonly matvecKernel: string | null;
  readonly workerKernels: readonly string[];
}
