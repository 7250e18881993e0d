// The CTRM gate's safety rule: a cortex mutation is evaluated on the model's safety cases before it is journaled.
import { logger } from "../log.ts";
import type { GateVerdict } from "./ctrm-gate.ts";
import { Status } from "./reasons.ts";
import type { Mutation } from "./slot-codec.ts";
import type { MutableWeights } from "./weights.ts";

const log = logger("evolution");

export interface SafetyStats {
  /** Mutations evaluated on the safety cases, and refused. */
  evaluated: number;
  refused: number;
  /** Time spent evaluating (ms, total). */
  evaluateMs: number;
}

/**
 * Judges each mutation of a guarded (cortex) tensor on the weights it will be applied to: the live
 * weights plus every mutation accepted before it and not yet applied (journal order is application
 * order), each tensor a scratch copy. An admitted mutation holds a ticket until it is applied or
 * failed (`settle`); when none is pending the scratch copies are dropped (the live weights hold them).
 */
export class SafetyGate {
  private readonly pendingBytes = new Map<string, Uint8Array>();
  private pending = 0;
  readonly stats: SafetyStats = { evaluated: 0, refused: 0, evaluateMs: 0 };

  constructor(private readonly weights: MutableWeights) {}

  /** Accepted (ticket: call `settle` once the mutation is applied or failed) or refused with reason `safety` or `nonFiniteOutput`. */
  admit(m: Mutation): { verdict: GateVerdict; ticket: boolean } {
    const safety = this.weights.safety;
    if (!safety || !safety.guards(m.tensor)) return { verdict: { status: Status.accepted, text: "" }, ticket: false };
    const t0 = performance.now();
    const before = this.pendingBytes.get(m.tensor);
    let failure: { caseName: string; text: string; nonFinite?: boolean } | null;
    try {
      this.pendingBytes.set(m.tensor, safety.scratch(m.tensor, m.elementOffset, m.values, before));
      failure = safety.evaluate(this.pendingBytes);
    } catch (err) {
      // Never journal what could not be evaluated (a bug: logged).
      log.error("safety evaluation failed: mutation refused", { tensor: m.tensor, err: String(err) });
      failure = { caseName: "", text: "safety evaluation failed" };
    }
    this.stats.evaluated++;
    this.stats.evaluateMs += performance.now() - t0;
    if (failure) {
      if (before) this.pendingBytes.set(m.tensor, before);
      else this.pendingBytes.delete(m.tensor);
      this.stats.refused++;
      if (this.stats.refused <= 3 || this.stats.refused % 1000 === 0) {
        log.warn(failure.nonFinite ? "mutation refused: an interrupt score would not be finite" : "mutation refused: it fails a safety case", { tensor: m.tensor, offset: m.elementOffset, count: m.values.length, failure: failure.text, refused: this.stats.refused });
      }
      return { verdict: { status: failure.nonFinite ? Status.nonFiniteOutput : Status.safety, text: failure.text }, ticket: false };
    }
    this.pending++;
    return { verdict: { status: Status.accepted, text: "" }, ticket: true };
  }

  /** An admitted mutation was applied (or will never be): the last one drops the scratch copies. */
  settle(): void {
    this.pending = Math.max(0, this.pending - 1);
    if (this.pending === 0) this.pendingBytes.clear();
  }
}

/** Once at boot: whether cortex mutations are evaluated on safety cases, and whether the weights pass them now. */
export function logSafetyCases(weights: MutableWeights): void {
  const safety = weights.safety;
  if (!safety) {
    log.info("no safety cases in this model: cortex mutations pass the CTRM gate's other rules only");
    return;
  }
  const failure = safety.evaluate();
  if (failure) log.error("the weights fail one of their safety cases: a cortex mutation is accepted only if every case holds after it", { failure: failure.text });
  else log.info("safety cases hold", { cases: safety.cases });
}
