// Runs the safety cases on the cortex head with some tensors replaced by scratch copies: the live weights stay untouched.
import { clampCortexInput, type LoadedModel } from "./model.ts";
import { decodeElements } from "./codec.ts";
import { Head, type WeightSource } from "./head.ts";
import { matvec, type PreparedMatrix, prepareMatrix } from "./matvec.ts";
import { firstFailingCase, type NonFiniteScore, type SafetyCases, type SafetyFailure } from "./safety-cases.ts";
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
  /** Fixed probe inputs (clamped like any): every input idle (0), at its lower limit, at its upper limit. */
  private readonly probes: readonly { name: string; input: Float32Array }[];

  constructor(private readonly model: Pick<LoadedModel, "spec" | "weights" | "kernel"> & { readonly safety: SafetyCases }) {
    this.cases = model.safety;
    this.overlay = new OverlayWeights(model.weights);
    this.head = new Head(model.spec.cortex, this.overlay);
    this.x = new Float32Array(model.spec.cortex.widths[0]!);
    this.guarded = new Set(model.spec.cortex.layers.flatMap((l) => [l.weight, l.bias]));
    const n = this.x.length;
    this.probes = [
      { name: "idle", input: new Float32Array(n) },
      { name: "all-min", input: model.kernel.inputMin.slice(0, n) },
      { name: "all-max", input: model.kernel.inputMax.slice(0, n) },
    ];
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
   * Runs the cortex with `overrides` in place of the live tensors, each input clamped as the
   * heartbeat clamps it: first on the fixed probes, then on every case. The first NaN or infinite
   * score (on a probe, or on a case run before a failing one), else the first failing
   * expectation, else null.
   */
  evaluate(overrides: ReadonlyMap<string, Uint8Array> = new Map()): SafetyFailure | NonFiniteScore | null {
    // Its head may hold prepared views of weights unmapped since (cleanup, another init): SIGSEGV.
    this.model.weights.assertLoaded();
    this.overlay.set(overrides);
    const names = this.model.kernel.outputNames;
    let bad: NonFiniteScore | null = null;
    const score = (input: Float32Array, probe: () => string): Float32Array => {
      clampCortexInput(this.model.kernel, input, this.x);
      const out = this.head.forward(this.x);
      if (bad === null) {
        for (let i = 0; i < out.length; i++) {
          if (!Number.isFinite(out[i]!)) {
            bad = { nonFinite: true, probe: probe(), interrupt: names[i]!, score: out[i]! };
            break;
          }
        }
      }
      return out;
    };
    for (const p of this.probes) {
      score(p.input, () => p.name);
      if (bad) return bad;
    }
    let c = 0;
    const failure = firstFailingCase(this.cases, this.model.kernel, (input) => {
      const at = c++;
      return score(input, () => `case ${this.cases.names[at] ?? at}`);
    });
    return bad ?? failure;
  }
}
