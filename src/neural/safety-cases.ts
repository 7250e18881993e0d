// The model's safety cases (kernel.ctrm.*): canonical cortex inputs and what each interrupt must do on them.
import { ModelError } from "../errors.ts";
import { TensorNames } from "./architecture.ts";
import { Expect, expectName, meetsExpectation } from "./interrupt-rule.ts";

export interface SafetyCases {
  readonly names: readonly string[];
  /** Case c's cortex input (model layout) is inputs[c * nIn .. (c + 1) * nIn). */
  readonly inputs: Float32Array;
  /** Case c's expectation of interrupt k is expect[c * nOut + k] (an `Expect` code). */
  readonly expect: Uint8Array;
  readonly nIn: number;
  readonly nOut: number;
}

/** The first case an interrupt fails, in words (the CTRM gate's `safety` refusal). */
export interface SafetyFailure {
  readonly caseName: string;
  readonly interrupt: string;
  readonly expected: string;
  readonly score: number;
}

/** An interrupt score that is NaN or infinite on a probe input (the CTRM gate's `nonFiniteOutput` refusal). */
export interface NonFiniteScore {
  readonly nonFinite: true;
  /** "idle", "all-min", "all-max" or "case <name>". */
  readonly probe: string;
  readonly interrupt: string;
  readonly score: number;
}

/** Checks decoded `kernel.ctrm.*` values: finite inputs, expectations among the Expect codes. */
export function readSafetyCases(names: readonly string[], inputs: Float32Array, expect: Float32Array, nIn: number, nOut: number): SafetyCases {
  const codes = new Uint8Array(expect.length);
  for (let i = 0; i < expect.length; i++) {
    const e = expect[i]!;
    if (!(Number.isInteger(e) && e >= Expect.any && e <= Expect.clear)) {
      throw new ModelError(`vectorland model: ${TensorNames.ctrmExpect}[${i}] is ${e}; expectations are 0 (any), 1 (raise), 2 (quiet), 3 (clear)`);
    }
    codes[i] = e;
  }
  for (let i = 0; i < inputs.length; i++) {
    if (!Number.isFinite(inputs[i]!)) throw new ModelError(`vectorland model: ${TensorNames.ctrmCases}[${i}] (case ${names[Math.floor(i / nIn)]}) is not finite`);
  }
  return { names, inputs, expect: codes, nIn, nOut };
}

/**
 * Runs every case through `score` (the cortex head, inputs clamped as the heartbeat clamps them) and
 * returns the first expectation that fails, or null. Interrupts and thresholds are the model's.
 */
export function firstFailingCase(
  cases: SafetyCases,
  k: { readonly outputNames: readonly string[]; readonly thresholds: Float32Array; readonly hysteresis: Float32Array },
  score: (input: Float32Array) => Float32Array,
): SafetyFailure | null {
  const { nIn, nOut } = cases;
  for (let c = 0; c < cases.names.length; c++) {
    const out = score(cases.inputs.subarray(c * nIn, (c + 1) * nIn));
    for (let i = 0; i < nOut; i++) {
      const e = cases.expect[c * nOut + i]!;
      if (!meetsExpectation(e, out[i]!, k.thresholds[i]!, k.hysteresis[i]!)) {
        return { caseName: cases.names[c]!, interrupt: k.outputNames[i]!, expected: expectName[e]!, score: out[i]! };
      }
    }
  }
  return null;
}

/** "case thermal/0@95: thermal must raise, score 0.012"; "thermal score NaN on all-max" */
export function describeFailure(f: SafetyFailure | NonFiniteScore): string {
  if ("nonFinite" in f) return `${f.interrupt} score ${f.score} on ${f.probe}`;
  return `case ${f.caseName}: ${f.interrupt} must ${f.expected}, score ${Number.isFinite(f.score) ? f.score.toFixed(3) : f.score}`;
}
