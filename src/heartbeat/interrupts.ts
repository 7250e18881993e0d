// Neural interrupts: each cortex score against its kernel.* threshold with hysteresis (raise/clear edges).
import { nextInterruptState } from "../neural/interrupt-rule.ts";

export interface InterruptEdge {
  index: number;
  name: string;
  kind: "raised" | "cleared";
  score: number;
}

/**
 * Interrupt i is raised when score >= threshold[i] and cleared when score < threshold[i] -
 * hysteresis[i]; in between it keeps its state. A non-finite score never raises and clears. The rule
 * is `nextInterruptState` (src/neural/interrupt-rule.ts), the one the CTRM gate's safety cases use.
 */
export class InterruptBank {
  readonly active: Uint8Array;
  readonly raisedAt: Float64Array;
  /** Times each interrupt was raised. */
  readonly counts: Uint32Array;
  private readonly edges: InterruptEdge[] = [];

  constructor(
    readonly names: readonly string[],
    readonly thresholds: Float32Array,
    readonly hysteresis: Float32Array,
  ) {
    this.active = new Uint8Array(names.length);
    this.raisedAt = new Float64Array(names.length);
    this.counts = new Uint32Array(names.length);
  }

  /** Updates every interrupt from `scores`; returns the edges of this update (array reused). */
  update(scores: Float32Array, nowMs: number): readonly InterruptEdge[] {
    this.edges.length = 0;
    for (let i = 0; i < this.names.length; i++) {
      const s = scores[i]!;
      const on = this.active[i] === 1;
      const next = nextInterruptState(on, s, this.thresholds[i]!, this.hysteresis[i]!);
      if (!on && next) {
        this.active[i] = 1;
        this.raisedAt[i] = nowMs;
        this.counts[i]!++;
        this.edges.push({ index: i, name: this.names[i]!, kind: "raised", score: s });
      } else if (on && !next) {
        this.active[i] = 0;
        this.edges.push({ index: i, name: this.names[i]!, kind: "cleared", score: s });
      }
    }
    return this.edges;
  }

  activeNames(): string[] {
    return this.names.filter((_, i) => this.active[i] === 1);
  }
}
