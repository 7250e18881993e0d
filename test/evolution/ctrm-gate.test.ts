// CTRM gate rules in isolation: boundaries of confidence, range, magnitude, names and types.
import { describe, expect, test } from "bun:test";
import { evolutionSchema } from "../../src/config/evolution-schema.ts";
import { ctrmGate, defaultGateConfig, GateConfigSchema } from "../../src/evolution/ctrm-gate.ts";
import { statusName } from "../../src/evolution/reasons.ts";
import type { Mutation } from "../../src/evolution/slot-codec.ts";
import type { MutableWeights } from "../../src/evolution/weights.ts";

const weights: MutableWeights = {
  tensorInfo: (n) =>
    ({ "a.w": { type: "F32", nElements: 10 }, "kernel.t": { type: "F32", nElements: 4 }, "q.w": { type: "Q4_0", nElements: 64 }, "h.w": { type: "F16", nElements: 8 }, "k4.w": { type: "Q4_K", nElements: 512 }, "k6.w": { type: "Q6_K", nElements: 256 } })[n],
  applyMutation: () => {
    throw new Error("the gate never applies");
  },
};
const cfg = defaultGateConfig();
const m = (over: Partial<Mutation>): Mutation => ({ tensor: "a.w", elementOffset: 0, values: Float32Array.of(1), confidence: 0.9, ...over });
const verdict = (over: Partial<Mutation>, c = cfg) => statusName[ctrmGate(m(over), weights, c).status];

describe("CTRM gate", () => {
  test("rejects confidence of exactly 0.8, below it, and NaN; accepts the next double above 0.8", () => {
    expect(verdict({ confidence: 0.8 })).toBe("LOW_CONFIDENCE");
    expect(verdict({ confidence: 0.79 })).toBe("LOW_CONFIDENCE");
    expect(verdict({ confidence: Number.NaN })).toBe("LOW_CONFIDENCE");
    expect(verdict({ confidence: 0.8000000000000002 })).toBe("ACCEPTED");
  });
  test("rejects kernel.* tensors whatever else is right, and unknown tensors", () => {
    expect(verdict({ tensor: "kernel.t" })).toBe("PROTECTED_TENSOR");
    expect(verdict({ tensor: "kernel.missing" })).toBe("PROTECTED_TENSOR");
    expect(verdict({ tensor: "a.w2" })).toBe("UNKNOWN_TENSOR");
  });
  test("a library caller's own protectedPrefixes (or an empty list) replaced kernel.* instead of adding to it: kernel.* tensors passed the gate", () => {
    for (const protectedPrefixes of [[], ["a."]]) {
      const cfg = GateConfigSchema.parse({ protectedPrefixes });
      expect(verdict({ tensor: "kernel.t" }, cfg)).toBe("PROTECTED_TENSOR");
    }
    expect(verdict({ tensor: "a.w" }, GateConfigSchema.parse({ protectedPrefixes: ["a."] }))).toBe("PROTECTED_TENSOR");
  });
  test("rejects a range that ends one element past the tensor, accepts one that ends on its last element", () => {
    expect(verdict({ elementOffset: 9, values: Float32Array.of(1, 2) })).toBe("OUT_OF_RANGE");
    expect(verdict({ elementOffset: 8, values: Float32Array.of(1, 2) })).toBe("ACCEPTED");
    expect(verdict({ elementOffset: -1 })).toBe("OUT_OF_RANGE");
    expect(verdict({ elementOffset: 2 ** 60 })).toBe("OUT_OF_RANGE");
  });
  test("rejects NaN and infinities, and magnitudes above the configured bound", () => {
    expect(verdict({ values: Float32Array.of(1, Number.NaN) })).toBe("NON_FINITE");
    expect(verdict({ values: Float32Array.of(-Infinity) })).toBe("NON_FINITE");
    expect(verdict({ values: Float32Array.of(1000) })).toBe("ACCEPTED");
    expect(verdict({ values: Float32Array.of(-1000.5) })).toBe("MAGNITUDE");
    expect(verdict({ values: Float32Array.of(5) }, GateConfigSchema.parse({ maxMagnitude: 4 }))).toBe("MAGNITUDE");
  });
  test("rejects quantized tensors unless the configuration lists their type (the default lists every type the runtime writes)", () => {
    expect(verdict({ tensor: "q.w" }, GateConfigSchema.parse({ supportedTypes: ["F32", "F16", "BF16"] }))).toBe("UNSUPPORTED_DTYPE");
    expect(verdict({ tensor: "q.w" })).toBe("ACCEPTED");
    expect(verdict({ tensor: "h.w" })).toBe("ACCEPTED");
    expect(verdict({ tensor: "q.w" }, GateConfigSchema.parse({ supportedTypes: ["F32", "Q4_0"] }))).toBe("ACCEPTED");
  });
  test("Q4_K/Q6_K tensors were UNSUPPORTED_DTYPE under the shipped config; now its default lists them, and the type, finiteness and magnitude rules still apply to them", () => {
    const shipped = GateConfigSchema.parse({ supportedTypes: evolutionSchema.parse({}).mutable_types });
    expect(shipped.supportedTypes).toEqual(expect.arrayContaining(["Q4_K", "Q6_K"]));
    for (const tensor of ["k4.w", "k6.w"]) {
      expect(verdict({ tensor, elementOffset: 250, values: Float32Array.of(0.5, -2) }, shipped)).toBe("ACCEPTED");
      expect(verdict({ tensor }, GateConfigSchema.parse({ supportedTypes: ["F32", "Q8_0", "Q4_0"] }))).toBe("UNSUPPORTED_DTYPE");
      expect(verdict({ tensor, values: Float32Array.of(Number.NaN) }, shipped)).toBe("NON_FINITE");
      expect(verdict({ tensor, values: Float32Array.of(1001) }, shipped)).toBe("MAGNITUDE");
      expect(verdict({ tensor, elementOffset: 255, values: Float32Array.of(1, 2) }, shipped)).toBe(tensor === "k6.w" ? "OUT_OF_RANGE" : "ACCEPTED");
      // Beyond what the F16 super-scales can hold (the Q4_0 limit, 65504 * 8), even if max_magnitude allows it.
      const wide = GateConfigSchema.parse({ supportedTypes: ["Q4_K", "Q6_K"], maxMagnitude: 1e7 });
      expect(verdict({ tensor, values: Float32Array.of(65504 * 8) }, wide)).toBe("ACCEPTED");
      expect(verdict({ tensor, values: Float32Array.of(65504 * 8 + 8) }, wide)).toBe("MAGNITUDE");
    }
  });
  test("rejects an empty or oversized value list", () => {
    expect(verdict({ values: new Float32Array(0) })).toBe("BAD_LENGTH");
    expect(verdict({ values: new Float32Array(101) })).toBe("BAD_LENGTH");
  });
});
