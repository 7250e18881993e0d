// Safety cases derived from a cortex design: an idle machine, and boundary values both sides of every interrupt term.
import { type CortexInput, type InterruptSpec } from "./default-cortex.ts";
import { Expect, meetsExpectation } from "./interrupt-rule.ts";

export interface DesignedCases {
  names: string[];
  /** [n_cases][n_in], flattened (the `kernel.ctrm.cases` tensor). */
  inputs: Float32Array;
  /** [n_cases][n_out], flattened Expect codes (the `kernel.ctrm.expect` tensor). */
  expect: Float32Array;
}

/** Distance the design score must keep from a decision boundary for an expectation to be asserted. */
const MARGIN = 0.05;

/** Where each case puts the term's input, in units of the term's scale from its fireAt. */
const offsets = [-0.5, -0.1, 0.1, 0.5] as const;

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
const clamp = (v: number, c: CortexInput) => Math.min(c.max, Math.max(c.min, v));

/** The design's score of interrupt `k` (what the built head computes, up to rounding). */
function designScore(k: InterruptSpec, x: Float32Array, col: ReadonlyMap<string, number>): number {
  let h = 0;
  for (const t of k.terms) h += Math.max(0, (x[col.get(t.input)!]! - t.fireAt) / t.scale + 1);
  return sigmoid(6 * (h - 1));
}

/** The strongest expectation the score meets with MARGIN to spare (raise, clear, quiet), else any. */
function classify(s: number, threshold: number, hysteresis: number): number {
  if (meetsExpectation(Expect.raise, s - MARGIN, threshold, hysteresis)) return Expect.raise;
  if (meetsExpectation(Expect.clear, s + MARGIN, threshold, hysteresis)) return Expect.clear;
  if (meetsExpectation(Expect.quiet, s + MARGIN, threshold, hysteresis)) return Expect.quiet;
  return Expect.any;
}

const short = (v: number) => String(Number(v.toPrecision(6)));

/**
 * Cases `idle` (every input 0, clamped to its limits) and, for term j of interrupt k, four cases
 * named `<k>/<j>@<value>`: idle but the term's input at fireAt - scale/2, fireAt - scale/10,
 * fireAt + scale/10 and fireAt + scale/2 (clamped). Every interrupt's expectation on each case is
 * the design's own score classified against its threshold and hysteresis (with a margin: too close
 * to a boundary asserts nothing). Thermal (fireAt 90, scale 10): 85 and 89 stay quiet, 91 and 95 raise.
 */
export function designSafetyCases(inputs: readonly CortexInput[], interrupts: readonly InterruptSpec[]): DesignedCases {
  const col = new Map(inputs.map((c, i) => [c.name, i]));
  const idle = Float32Array.from(inputs, (c) => clamp(0, c));
  const vectors: { name: string; x: Float32Array }[] = [{ name: "idle", x: idle }];
  interrupts.forEach((k) =>
    k.terms.forEach((t, j) => {
      const i = col.get(t.input)!;
      for (const o of offsets) {
        const x = idle.slice();
        x[i] = clamp(t.fireAt + o * t.scale, inputs[i]!);
        const name = `${k.name}/${j}@${short(x[i]!)}`;
        if (!vectors.some((v) => v.name === name)) vectors.push({ name, x });
      }
    }),
  );
  const nIn = inputs.length;
  const nOut = interrupts.length;
  const out: DesignedCases = { names: vectors.map((v) => v.name), inputs: new Float32Array(vectors.length * nIn), expect: new Float32Array(vectors.length * nOut) };
  vectors.forEach((v, c) => {
    out.inputs.set(v.x, c * nIn);
    interrupts.forEach((k, o) => {
      out.expect[c * nOut + o] = classify(designScore(k, v.x, col), k.threshold, k.hysteresis);
    });
  });
  return out;
}
