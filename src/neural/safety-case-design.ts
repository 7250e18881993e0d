// Safety cases derived from a cortex design: an idle machine, and boundary values both sides of every interrupt term.
import { InputError } from "../errors.ts";
import { type CortexInput, type InterruptSpec } from "./default-cortex.ts";
import { Expect, meetsExpectation } from "./interrupt-rule.ts";

/** A case written by hand (gen-vectorland --cortex-spec "cases"): inputs not named are idle. */
export interface ExtraCase {
  readonly name: string;
  readonly inputs: Readonly<Record<string, number>>;
  /** Interrupts not named get the design's own expectation. */
  readonly expect: Readonly<Record<string, keyof typeof Expect>>;
}

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
 * `extra` cases follow, with the expectations they state.
 */
export function designSafetyCases(inputs: readonly CortexInput[], interrupts: readonly InterruptSpec[], extra: readonly ExtraCase[] = []): DesignedCases {
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
  const stated = new Map<string, Readonly<Record<string, keyof typeof Expect>>>();
  for (const e of extra) {
    if (vectors.some((v) => v.name === e.name)) throw new InputError(`safety case ${JSON.stringify(e.name)} is named twice`);
    const x = idle.slice();
    for (const [field, v] of Object.entries(e.inputs)) {
      const i = col.get(field);
      if (i === undefined) throw new InputError(`safety case ${e.name}: input ${field} is not in the cortex layout`);
      x[i] = clamp(v, inputs[i]!);
    }
    for (const k of Object.keys(e.expect)) {
      if (!interrupts.some((n) => n.name === k)) throw new InputError(`safety case ${e.name}: no interrupt ${k}`);
    }
    vectors.push({ name: e.name, x });
    stated.set(e.name, e.expect);
  }
  const nIn = inputs.length;
  const nOut = interrupts.length;
  const out: DesignedCases = { names: vectors.map((v) => v.name), inputs: new Float32Array(vectors.length * nIn), expect: new Float32Array(vectors.length * nOut) };
  vectors.forEach((v, c) => {
    out.inputs.set(v.x, c * nIn);
    interrupts.forEach((k, o) => {
      const own = stated.get(v.name)?.[k.name];
      out.expect[c * nOut + o] = own !== undefined ? Expect[own] : classify(designScore(k, v.x, col), k.threshold, k.hysteresis);
    });
  });
  return out;
}
