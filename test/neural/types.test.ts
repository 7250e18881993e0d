// The same model stored in each weight type gives outputs close to F32; the default cortex fires where documented.
import { describe, expect, test } from "bun:test";
import { assembleModel } from "../../src/neural/model.ts";
import { defaultCortexInputs, defaultInterrupts } from "../../src/neural/default-cortex.ts";
import { mulberry32 } from "../../src/neural/vectorland-builder.ts";
import { encodeElements } from "../../src/neural/codec.ts";
import { rowBytes } from "../../src/neural/matvec.ts";
import { quantizeBlocks } from "../../src/neural/quantizer.ts";
import { built, sourceOf } from "./helpers.ts";

const tolerance = { F16: 2e-3, BF16: 3e-2, Q8_0: 1e-2, Q4_0: 6e-2 } as const;

describe("weight types against F32", () => {
  const ref = assembleModel(sourceOf(built({ type: "F32" })));
  const r = mulberry32(99);
  const pixelInputs = Array.from({ length: 8 }, () => Float32Array.from({ length: 96 }, () => (r() < 0.5 ? r() : 0)));
  const cortexInputs = Array.from({ length: 8 }, () => Float32Array.from({ length: 32 }, () => r()));
  for (const [type, tol] of Object.entries(tolerance)) {
    test(`${type}: pixel and cortex outputs within ${tol} of F32 for 8 seeded inputs`, () => {
      const m = assembleModel(sourceOf(built({ type: type as keyof typeof tolerance })));
      for (const x of pixelInputs) {
        const a = ref.pixel.forward(x).slice();
        const b = m.pixel.forward(x);
        for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(tol);
      }
      for (const x of cortexInputs) {
        const a = ref.cortex.forward(x).slice();
        const b = m.cortex.forward(x);
        for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(tol);
      }
    });
  }
});

describe("default cortex interrupts", () => {
  const m = assembleModel(sourceOf(built()));
  const col = new Map(defaultCortexInputs.map((c, i) => [c.name, i]));
  for (const [o, k] of defaultInterrupts.entries()) {
    for (const t of k.terms) {
      test(`${k.name} rises past its threshold when ${t.input} reaches ${t.fireAt}, and clears well below`, () => {
        const thr = m.kernel.thresholds[o]!;
        const hys = m.kernel.hysteresis[o]!;
        const x = new Float32Array(32);
        expect(m.cortex.forward(x)[o]!).toBeLessThan(thr - hys);
        x[col.get(t.input)!] = t.fireAt + 0.02 * t.scale;
        expect(m.cortex.forward(x)[o]!).toBeGreaterThanOrEqual(thr);
        x[col.get(t.input)!] = t.fireAt - 0.5 * t.scale;
        expect(m.cortex.forward(x)[o]!).toBeLessThan(thr - hys);
        // No other interrupt moves with this input.
        const scores = m.cortex.forward(x);
        for (let j = 0; j < scores.length; j++) if (j !== o) expect(scores[j]!).toBeLessThan(m.kernel.thresholds[j]! - m.kernel.hysteresis[j]!);
      });
    }
  }
});

describe("any supported type for any tensor", () => {
  test("biases and kernel.* stored as F16 / BF16 / Q8_0 (where the width allows) load and run close to the all-F32 model", () => {
    const b = built({ pixelOutputs: 32 });
    const ref = assembleModel(sourceOf(b));
    const types = [1, 30, 8];
    b.tensors = b.tensors.map((t, i) => {
      if (t.type !== 0) return t;
      const n = t.ne.reduce((a, c) => a * c, 1);
      const v = new Float32Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + n * 4));
      // input_max holds 1e6..1e9: beyond F16 and beyond a Q8_0 block scale; BF16 has the range.
      let type = t.name.startsWith("kernel.cortex.input_") ? 30 : types[i % 3]!;
      if (type === 8 && t.ne[0]! % 32 !== 0) type = 1;
      const data = new Uint8Array(rowBytes(type, t.ne[0]!) * (n / t.ne[0]!));
      encodeElements(type, data, 0, v, quantizeBlocks);
      return { ...t, type, data };
    });
    expect(new Set(b.tensors.map((t) => t.type)).size).toBeGreaterThanOrEqual(3);
    const m = assembleModel(sourceOf(b));
    const x = Float32Array.from({ length: 96 }, (_, i) => (i % 5) / 5);
    const a = ref.pixel.forward(x).slice();
    const y = m.pixel.forward(x);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - y[i]!)).toBeLessThanOrEqual(0.01);
    expect(Array.from(m.kernel.thresholds)).toEqual(Array.from(ref.kernel.thresholds));
  });

  test("a one-layer head (layer_count 1) runs", () => {
    const m = assembleModel(sourceOf(built({ pixelHidden: [], pixelOutputs: 4 })));
    expect(m.spec.pixel.layers.length).toBe(1);
    const out = m.pixel.forward(new Float32Array(96).fill(0.5));
    expect(out.length).toBe(4);
    expect(out.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
  });
});
