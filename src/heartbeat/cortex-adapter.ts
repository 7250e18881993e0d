// Binds a model's cortex head to hw.mmio: maps its input layout onto the vector, refuses unknown fields.
import { ModelError } from "../errors.ts";
import { hwIndex, isReservedInput } from "../hw/hw-mmio-layout.ts";

/** What the heartbeat needs from a model (NeuralRuntime satisfies it). */
export interface CortexModel {
  runCortex(input: Float32Array): Float32Array;
  cortexInputLayout(): readonly string[];
  kernelParameters(): { readonly outputNames: readonly string[]; readonly thresholds: Float32Array; readonly hysteresis: Float32Array };
}

export interface Attribution {
  input: string;
  value: number;
  /** Score drop when this input is set to 0, plus the rise when it alone is present. */
  weight: number;
}

export class CortexBinding {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly thresholds: Float32Array;
  readonly hysteresis: Float32Array;
  /** hw.mmio index per cortex input (-1: reserved, always 0). */
  readonly map: Int32Array;
  readonly input: Float32Array;
  readonly scores: Float32Array;

  constructor(readonly model: CortexModel) {
    this.inputNames = [...model.cortexInputLayout()];
    const k = model.kernelParameters();
    this.outputNames = [...k.outputNames];
    this.thresholds = k.thresholds.slice();
    this.hysteresis = k.hysteresis.slice();
    if (this.thresholds.length !== this.outputNames.length || this.hysteresis.length !== this.outputNames.length) {
      throw new ModelError(`cortex: ${this.outputNames.length} outputs but ${this.thresholds.length} thresholds and ${this.hysteresis.length} hysteresis values`);
    }
    const unknown: string[] = [];
    this.map = Int32Array.from(this.inputNames, (n) => {
      if (isReservedInput(n)) return -1;
      const i = hwIndex(n);
      if (i < 0) unknown.push(n);
      return i;
    });
    if (unknown.length > 0) {
      throw new ModelError(`the model's cortex input layout disagrees with hw.mmio: no field ${unknown.map((u) => JSON.stringify(u)).join(", ")} (see docs/hw-mmio.md)`);
    }
    this.input = new Float32Array(this.inputNames.length);
    this.scores = new Float32Array(this.outputNames.length);
  }

  /** Gathers the cortex input from hw.mmio `values`, runs the head, copies the scores into `scores`. */
  run(values: Float64Array): Float32Array {
    const x = this.input;
    for (let i = 0; i < x.length; i++) {
      const j = this.map[i]!;
      x[i] = j < 0 ? 0 : values[j]!;
    }
    const out = this.model.runCortex(x);
    if (out.length < this.scores.length) throw new ModelError(`cortex returned ${out.length} scores, expected ${this.scores.length}`);
    this.scores.set(out.subarray(0, this.scores.length));
    return this.scores;
  }

  /**
   * The inputs that caused output `k`'s score, top `n`: for each non-zero input, the score drop when
   * it alone is set to 0, plus the score rise when it alone is present (all others 0). The drop
   * alone failed when two inputs each saturate the score: each one's drop is 0 and the list was
   * arbitrary (a memory interrupt was put down to CPU inputs and acted on top_cpu). Two extra head
   * runs per input, only when an interrupt is raised.
   */
  attribute(k: number, n = 3): Attribution[] {
    const base = this.input.slice();
    const ref = this.model.runCortex(base)[k]!;
    const zeros = new Float32Array(base.length);
    const none = this.model.runCortex(zeros)[k]!;
    const out: Attribution[] = [];
    for (let i = 0; i < base.length; i++) {
      if (base[i] === 0) continue;
      const without = base.slice();
      without[i] = 0;
      const drop = ref - this.model.runCortex(without)[k]!;
      const alone = new Float32Array(base.length);
      alone[i] = base[i]!;
      const rise = this.model.runCortex(alone)[k]! - none;
      out.push({ input: this.inputNames[i]!, value: base[i]!, weight: drop + rise });
    }
    this.input.set(base);
    return out.sort((a, b) => b.weight - a.weight).slice(0, n);
  }
}
