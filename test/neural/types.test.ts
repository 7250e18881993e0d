// The same model stored in each weight type gives outputs close to F32; the default cortex fires where documented.
import { describe, expect, test } from "bun:test";
import { assembleModel } from "../../src/neural/model.ts";
import { defaultCortexInputs, defaultInterrupts } from "../../src/neural/default-cortex.ts";
import { mulberry32 } from "../../src/neural/vectorland-builder.ts";
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
