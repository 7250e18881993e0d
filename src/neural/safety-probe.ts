// Runs the safety cases on the cortex head with some tensors replaced by scratch copies: the live weights stay untouched.
import { clampCortexInput, type LoadedModel } from "./model.ts";
import { decodeElements } from "./codec.ts";
import { Head, type WeightSource } from "./head.ts";
import { matvec, type PreparedMatrix, prepareMatrix } from "./matvec.ts";
import { firstFailingCase, type SafetyCases, type SafetyFailure } from "./safety-cases.ts";
import type { WeightStore } from "./weights.ts";

/** The live weights with some tensors' bytes overridden (prepared views cached per byte array). */
class OverlayWeights implements WeightSource {
  generation = 0;
  private overrides: ReadonlyMap<string, Uint8Array> = new Map();
  private readonly matrices = new WeakMap<Uint8Array, PreparedMatrix>();
  private readonly vectors = new WeakMap<Uint8Array, Float32Array>();

  constructor(private readonly store: WeightStore) {}

  /** New overrides: heads bound to this source re-bind at their next forward pass. */
  set(overrides: ReadonlyMap<string, Uint8Array>): void {
    this.overrides = overrides;
    this.generation++;
  }

  matrix(name: string): PreparedMatrix {
    const b = this.overrides.get(name);
    if (!b) return this.store.matrix(name);
    let m = this.matrices.get(b);
    if (!m) {
      const ne = this.store.describe(name).ne;
      m = prepareMatrix(this.store.describe(name).type, ne.slice(1).reduce((a, d) => a * d, 1), ne[0]!, b);
      this.matrices.set(b, m);
    }
    return m;
  }

  vector(name: string): Float32Array {
    const b = this.overrides.get(name);
    if (!b) return this.store.vector(name);
    let v = this.vectors.get(b);
    if (!v) {
      const d = this.store.describe(name);
      v = new Float32Array(d.elements);
      decodeElements(d.type, b, 0, v);
      this.vectors.set(b, v);
    }
    return v;
  }

  /** Always on this thread: the worker pool holds the live matrices only. */
  multiply(_name: string, m: PreparedMatrix, x: Float32Array, y: Float32Array): void {
    matvec(m, x, y);
  }
}

/** The CTRM gate's view of a model with safety cases (NeuralRuntime.safetyProbe()). */
export class SafetyProbe {
  readonly cases: SafetyCases;
  private readonly overlay: OverlayWeights;
  private readonly head: Head;
  private readonly x: Float32Array;
  private readonly guarded: ReadonlySet<string>;

  constructor(private readonly model: Pick<LoadedModel, "spec" | "weights" | "kernel"> & { readonly safety: SafetyCases }) {
    this.cases = model.safety;
    this.overlay = new OverlayWeights(model.weights);
    this.head = new Head(model.spec.cortex, this.overlay);
    this.x = new Float32Array(model.spec.cortex.widths[0]!);
    this.guarded = new Set(model.spec.cortex.layers.flatMap((l) => [l.weight, l.bias]));
  }

  /** Whether a mutation of `tensor` can change an interrupt (a tensor of the cortex head). */
  guards(tensor: string): boolean {
    return this.guarded.has(tensor);
  }

  /** The tensor's bytes with the mutation written over `from` (default: the live bytes), in a fresh copy. */
  scratch(tensor: string, elementOffset: number, values: Float32Array, from?: Uint8Array): Uint8Array {
    return this.model.weights.mutatedCopy(tensor, elementOffset, values, from);
  }

  /**
   * Runs every case on the cortex with `overrides` in place of the live tensors, each input clamped
   * as the heartbeat clamps it; the first failing expectation, or null when all hold.
   */
  evaluate(overrides: ReadonlyMap<string, Uint8Array> = new Map()): SafetyFailure | null {
    // Its head may hold prepared views of weights unmapped since (cleanup, another init): SIGSEGV.
    this.model.weights.assertLoaded();
    this.overlay.set(overrides);
    return firstFailingCase(this.cases, this.model.kernel, (input) => {
      clampCortexInput(this.model.kernel, input, this.x);
      return this.head.forward(this.x);
    });
  }
}
