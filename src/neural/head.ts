// One feed-forward head (pixel or cortex): preallocated buffers, allocation-free forward pass.
import type { HeadSpec } from "./architecture.ts";
import { applyActivation } from "./activations.ts";
import type { PreparedMatrix } from "./matvec.ts";

/** Supplies a head with its weights; `generation` changes whenever any tensor data changes. */
export interface WeightSource {
  readonly generation: number;
  matrix(name: string): PreparedMatrix;
  vector(name: string): Float32Array;
  /** y = m x for the weight `name` (may split rows across worker threads). */
  multiply(name: string, m: PreparedMatrix, x: Float32Array, y: Float32Array): void;
}

interface BoundLayer {
  w: PreparedMatrix;
  b: Float32Array;
}

export class Head {
  readonly inputs: number;
  readonly outputs: number;
  private readonly buffers: Float32Array[];
  private bound: BoundLayer[] = [];
  private boundGeneration = -1;

  constructor(
    readonly spec: HeadSpec,
    private readonly weights: WeightSource,
  ) {
    this.inputs = spec.widths[0]!;
    this.outputs = spec.widths[spec.widths.length - 1]!;
    this.buffers = spec.layers.map((l) => new Float32Array(l.outputs));
    this.bind();
  }

  /** Re-reads the prepared matrices and bias vectors (after a mutation). */
  private bind(): void {
    this.bound = this.spec.layers.map((l) => ({ w: this.weights.matrix(l.weight), b: this.weights.vector(l.bias) }));
    this.boundGeneration = this.weights.generation;
  }

  /**
   * Runs the head on `x` (at least `inputs` entries). Returns the head's own output buffer, valid
   * until the next call: copy it to keep it. Allocates nothing.
   */
  forward(x: Float32Array): Float32Array {
    if (this.boundGeneration !== this.weights.generation) this.bind();
    let input = x;
    const layers = this.spec.layers;
    for (let i = 0; i < layers.length; i++) {
      const l = layers[i]!;
      const { w, b } = this.bound[i]!;
      const y = this.buffers[i]!;
      this.weights.multiply(l.weight, w, input, y);
      for (let r = 0; r < l.outputs; r++) y[r] = y[r]! + b[r]!;
      applyActivation(l.activation, y, l.outputs);
      input = y;
    }
    return input;
  }
}
