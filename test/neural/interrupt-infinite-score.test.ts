// A non-finite cortex score never raises an interrupt and clears a raised one: +Infinity compared above every threshold.
import { expect, test } from "bun:test";
import { InterruptBank } from "../../src/heartbeat/interrupts.ts";
import { Expect, meetsExpectation, nextInterruptState } from "../../src/neural/interrupt-rule.ts";

test("a score of +Infinity (a cortex whose last layer overflowed, identity or relu) raised a quiet interrupt, kept a raised one raised and met a safety case's `raise`: it never raises and clears, as NaN does", () => {
  for (const score of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN]) {
    expect({ score, quiet: nextInterruptState(false, score, 0.5, 0.1), raised: nextInterruptState(true, score, 0.5, 0.1) }).toEqual({ score, quiet: false, raised: false });
    expect({ score, raise: meetsExpectation(Expect.raise, score, 0.5, 0.1), clear: meetsExpectation(Expect.clear, score, 0.5, 0.1) }).toEqual({ score, raise: false, clear: true });
  }
  const bank = new InterruptBank(["hot"], Float32Array.of(0.5), Float32Array.of(0.1));
  expect(bank.update(Float32Array.of(Number.POSITIVE_INFINITY), 1).map((e) => e.kind)).toEqual([]);
  expect(bank.update(Float32Array.of(0.9), 2).map((e) => e.kind)).toEqual(["raised"]);
  expect(bank.update(Float32Array.of(Number.POSITIVE_INFINITY), 3).map((e) => e.kind)).toEqual(["cleared"]);
});
