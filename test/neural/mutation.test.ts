// Mutations go to private copies (base bytes untouched), re-quantize touched blocks, and refuse kernel.* and bad input.
import { describe, expect, test } from "bun:test";
import { InputError } from "../../src/errors.ts";
import { assembleModel } from "../../src/neural/model.ts";
import type { WeightTypeName } from "../../src/neural/vectorland-builder.ts";
import { dequantize, GgmlType } from "../../src/gguf/index.ts";
import { kquantErrorBound } from "../gguf/helpers.ts";
import { built, kquantBuilt, sourceOf } from "./helpers.ts";

function model(type: WeightTypeName = "F32") {
  const b = built({ type });
  const snapshot = new Map(b.tensors.map((t) => [t.name, t.data.slice()]));
  return { m: assembleModel(sourceOf(b)), b, snapshot };
}

describe("copy-on-write mutation", () => {
  for (const type of ["F32", "F16", "BF16", "Q8_0", "Q4_0"] as const) {
    test(`${type}: a mutation changes the live weights and outputs but leaves the base bytes untouched`, () => {
      const { m, b, snapshot } = model(type);
      const x = new Float32Array(96).fill(0.5);
      const before = m.pixel.forward(x).slice();
      const values = Float32Array.from([0.75, -0.5, 0.25, 1.0]);
      m.weights.applyMutation("pixel.1.weight", 40, values);
      const got = m.weights.read("pixel.1.weight", 40, 4);
      const tol = type === "Q4_0" ? 0.15 : type === "Q8_0" ? 0.01 : type === "F32" ? 0 : 0.005;
      for (let i = 0; i < 4; i++) expect(Math.abs(got[i]! - values[i]!)).toBeLessThanOrEqual(tol);
      const after = m.pixel.forward(x);
      expect(Array.from(after)).not.toEqual(Array.from(before));
      for (const t of b.tensors) expect(t.data).toEqual(snapshot.get(t.name)!);
      expect(m.weights.baseBytes("pixel.1.weight")).toBe(b.tensors.find((t) => t.name === "pixel.1.weight")!.data);
      expect(m.weights.describe("pixel.1.weight").mutated).toBe(true);
      expect(m.weights.privateBytes).toBe(m.weights.bytes("pixel.1.weight").byteLength);
    });
  }

  test("Q8_0: only the touched block is re-quantized; other blocks keep their exact bytes", () => {
    const { m, snapshot } = model("Q8_0");
    m.weights.applyMutation("pixel.0.weight", 64 + 5, Float32Array.from([0.3]));
    const now = m.weights.bytes("pixel.0.weight");
    const base = snapshot.get("pixel.0.weight")!;
    expect(now.subarray(0, 2 * 34)).toEqual(base.subarray(0, 2 * 34));
    expect(now.subarray(3 * 34)).toEqual(base.subarray(3 * 34));
    expect(now.subarray(2 * 34, 3 * 34)).not.toEqual(base.subarray(2 * 34, 3 * 34));
  });

  test("Q4_K / Q6_K: a range crossing a super-block boundary re-quantizes exactly the two super-blocks it touches; the rest keep their bytes, the base is untouched", () => {
    const b = kquantBuilt();
    const snapshot = new Map(b.tensors.map((t) => [t.name, t.data.slice()]));
    const m = assembleModel(sourceOf(b));
    const x = new Float32Array(256).fill(0.5);
    const before = m.pixel.forward(x).slice();
    for (const [name, type, bb] of [["pixel.0.weight", GgmlType.Q4_K, 144], ["pixel.1.weight", GgmlType.Q6_K, 210]] as const) {
      const values = Float32Array.from([0.6, -0.4, 0.3, -0.2]);
      m.weights.applyMutation(name, 3 * 256 + 254, values); // elements 1022..1025: super-blocks 3 and 4
      const now = m.weights.bytes(name);
      const base = snapshot.get(name)!;
      expect(Array.from(now.subarray(0, 3 * bb))).toEqual(Array.from(base.subarray(0, 3 * bb)));
      expect(Array.from(now.subarray(5 * bb))).toEqual(Array.from(base.subarray(5 * bb)));
      for (const blk of [3, 4]) expect(Array.from(now.subarray(blk * bb, (blk + 1) * bb))).not.toEqual(Array.from(base.subarray(blk * bb, (blk + 1) * bb)));
      const wanted = dequantize({ type, data: base.subarray(3 * bb, 5 * bb), nElements: 512 });
      wanted.set(values, 254);
      const got = m.weights.read(name, 3 * 256, 512);
      for (let i = 0; i < 512; i++) expect({ i, within: Math.abs(got[i]! - wanted[i]!) <= kquantErrorBound(type, wanted, i < 256 ? 0 : 256) }).toEqual({ i, within: true });
      expect(Array.from(m.weights.read(name, 0, 768))).toEqual(Array.from(dequantize({ type, data: base.subarray(0, 3 * bb), nElements: 768 })));
      expect(m.weights.describe(name).typeName).toBe(type === GgmlType.Q4_K ? "Q4_K" : "Q6_K");
    }
    expect(Array.from(m.pixel.forward(x))).not.toEqual(Array.from(before));
    for (const t of b.tensors) expect(Array.from(t.data)).toEqual(Array.from(snapshot.get(t.name)!));
  });

  test("a second mutation of the same tensor reuses its private copy", () => {
    const { m } = model();
    m.weights.applyMutation("cortex.0.weight", 0, Float32Array.from([1]));
    const copy = m.weights.bytes("cortex.0.weight");
    m.weights.applyMutation("cortex.0.weight", 1, Float32Array.from([2]));
    expect(m.weights.bytes("cortex.0.weight")).toBe(copy);
    expect(Array.from(m.weights.read("cortex.0.weight", 0, 2))).toEqual([1, 2]);
    expect(m.weights.mutations).toBe(2);
  });

  test("refuses to mutate a kernel.* tensor, and the thresholds stay as they were", () => {
    const { m } = model();
    const before = m.weights.read("kernel.cortex.threshold", 0, 1);
    expect(() => m.weights.applyMutation("kernel.cortex.threshold", 0, Float32Array.from([0.01]))).toThrow(/safety-critical/);
    expect(m.weights.read("kernel.cortex.threshold", 0, 1)).toEqual(before);
  });

  test("refuses an unknown tensor, a range past the end, and non-finite values without changing anything", () => {
    const { m } = model();
    const n = m.weights.describe("pixel.1.bias").elements;
    expect(() => m.weights.applyMutation("nope", 0, Float32Array.from([1]))).toThrow(/no tensor named "nope"/);
    expect(() => m.weights.applyMutation("pixel.1.bias", n - 1, Float32Array.from([1, 2]))).toThrow(InputError);
    expect(() => m.weights.applyMutation("pixel.1.bias", -1, Float32Array.from([1]))).toThrow(/outside tensor/);
    expect(() => m.weights.applyMutation("pixel.1.bias", 0, Float32Array.from([NaN]))).toThrow(/not finite/);
    expect(m.weights.describe("pixel.1.bias").mutated).toBe(false);
    expect(m.weights.mutations).toBe(0);
  });

  test("F16: refuses a value that overflows half precision", () => {
    const { m } = model("F16");
    expect(() => m.weights.applyMutation("pixel.0.weight", 0, Float32Array.from([70000]))).toThrow(/overflows F16/);
    expect(m.weights.describe("pixel.0.weight").mutated).toBe(false);
  });

  test("Q8_0 / Q4_0: refuses a value whose block scale would overflow F16, leaving the tensor as it was", () => {
    for (const type of ["Q8_0", "Q4_0"] as const) {
      const { m } = model(type);
      expect(() => m.weights.applyMutation("pixel.0.weight", 3, Float32Array.from([1e8]))).toThrow(/overflows the F16 block scale/);
      expect(m.weights.describe("pixel.0.weight").mutated).toBe(false);
    }
  });

  test("a bias mutation is seen by the next forward pass (cached vectors are refreshed)", () => {
    const { m } = model();
    const x = new Float32Array(32);
    const before = m.cortex.forward(x)[3]!;
    m.weights.applyMutation("cortex.1.bias", 3, Float32Array.from([6]));
    expect(m.cortex.forward(x)[3]).toBeGreaterThan(before);
    expect(m.cortex.forward(x)[3]).toBeCloseTo(1 / (1 + Math.exp(-6)), 3);
  });
});
