// The vectorland architecture check refuses wrong architectures, inconsistent shapes and missing tensors at load.
import { describe, expect, test } from "bun:test";
import { ModelError } from "../../src/errors.ts";
import { gv } from "../../src/gguf/index.ts";
import { Keys, parseVectorland } from "../../src/neural/architecture.ts";
import { assembleModel } from "../../src/neural/model.ts";
import { built, sourceOf } from "./helpers.ts";

function refuses(mutate: (b: ReturnType<typeof built>) => void, message: RegExp): void {
  const b = built();
  mutate(b);
  expect(() => assembleModel(sourceOf(b))).toThrow(ModelError);
  expect(() => assembleModel(sourceOf(b))).toThrow(message);
}

describe("vectorland architecture check", () => {
  test("accepts the default model and reports its declared shape", () => {
    const spec = parseVectorland(sourceOf(built()));
    expect(spec.pixel.widths).toEqual([96, 64, 16]);
    expect(spec.cortex.inputLayout.length).toBe(spec.cortex.widths[0]!);
    expect(spec.cortex.outputNames).toContain("memory_pressure");
  });

  test("rejects a model whose general.architecture is not vectorland", () => {
    refuses((b) => b.metadata.set(Keys.architecture, gv.str("llama")), /architecture is "llama"/);
  });

  test("rejects a model without general.architecture", () => {
    refuses((b) => b.metadata.delete(Keys.architecture), /general.architecture is missing/);
  });

  test("rejects a spec version this runtime does not read", () => {
    refuses((b) => b.metadata.set(Keys.version, gv.u32(2)), /vectorland.version is 2/);
  });

  test("rejects widths whose count does not match the layer count", () => {
    refuses((b) => b.metadata.set(Keys.widths("pixel"), gv.u32s([96, 16])), /widths has 2 entries, layer_count 2 needs 3/);
  });

  test("rejects a weight whose shape disagrees with the declared widths", () => {
    refuses((b) => b.metadata.set(Keys.widths("pixel"), gv.u32s([96, 65, 16])), /pixel.0.weight has shape \[96, 64\].*needs \[96, 65\]/);
  });

  test("rejects a missing bias tensor, naming it", () => {
    refuses((b) => (b.tensors = b.tensors.filter((t) => t.name !== "cortex.1.bias")), /tensor cortex.1.bias .* is missing/);
  });

  test("rejects a missing kernel threshold tensor", () => {
    refuses((b) => (b.tensors = b.tensors.filter((t) => t.name !== "kernel.cortex.threshold")), /kernel.cortex.threshold .* is missing/);
  });

  test("rejects an unknown activation name", () => {
    refuses((b) => b.metadata.set(Keys.activations("cortex"), gv.strs(["relu", "swish9"])), /activations/);
  });

  test("rejects a cortex input layout whose length differs from the cortex input width", () => {
    refuses((b) => b.metadata.set(Keys.cortexInputLayout, gv.strs(["cpu.total"])), /names 1 inputs, the cortex head takes 32/);
  });

  test("rejects a cortex input layout naming a field twice", () => {
    const layout = Array.from({ length: 32 }, (_, i) => `f${i}`);
    layout[5] = "f4";
    refuses((b) => b.metadata.set(Keys.cortexInputLayout, gv.strs(layout)), /names an input twice/);
  });

  test("rejects max_pixels larger than the pixel input width allows", () => {
    refuses((b) => b.metadata.set(Keys.maxPixels, gv.u32(33)), /max_pixels 33 needs a pixel input width of at least 99/);
  });

  test("rejects a tensor of a head outside its declared layers", () => {
    refuses((b) => b.tensors.push({ ...b.tensors.find((t) => t.name === "pixel.1.bias")!, name: "pixel.2.bias" }), /pixel.2.bias is not part of the 2 declared pixel layers/);
  });

  test("rejects a tensor that belongs to no part of the architecture", () => {
    refuses((b) => b.tensors.push({ ...b.tensors.find((t) => t.name === "pixel.1.bias")!, name: "token_embd.weight" }), /token_embd.weight belongs to no part/);
  });

  test("rejects a tensor whose data is shorter than its shape needs", () => {
    refuses((b) => {
      const t = b.tensors.find((x) => x.name === "cortex.0.weight")!;
      t.data = t.data.subarray(0, t.data.length - 4);
    }, /cortex.0.weight has \d+ data bytes/);
  });

  test("rejects a tensor of a type without a kernel (Q5_K)", () => {
    refuses((b) => (b.tensors.find((x) => x.name === "pixel.0.weight")!.type = 13), /ggml type 13/);
  });

  test("rejects a Q4_K weight whose rows (96 wide) are not whole 256-value super-blocks", () => {
    refuses((b) => (b.tensors.find((x) => x.name === "pixel.0.weight")!.type = 12), /Q4_K row of 96 elements/);
  });

  test("rejects a negative hysteresis", () => {
    refuses((b) => {
      const t = b.tensors.find((x) => x.name === "kernel.cortex.hysteresis")!;
      new DataView(t.data.buffer, t.data.byteOffset).setFloat32(0, -0.5, true);
    }, /hysteresis\[0\] \(cpu_pressure\) is -0.5/);
  });

  test("rejects input limits with min above max", () => {
    refuses((b) => {
      const t = b.tensors.find((x) => x.name === "kernel.cortex.input_min")!;
      new DataView(t.data.buffer, t.data.byteOffset).setFloat32(0, 2, true);
    }, /cortex input 0 \(cpu.total\) has limits \[2, 1\]/);
  });

  test("accepts other sizes: a 3-layer pixel head, 4 pixels, 40-wide cortex layout", () => {
    const inputs = Array.from({ length: 40 }, (_, i) => ({ name: `in.${i}`, unit: "x", min: 0, max: 1 }));
    const b = built({ maxPixels: 4, pixelHidden: [32, 8], pixelOutputs: 3, cortexInputs: inputs, interrupts: [{ name: "a", terms: [{ input: "in.3", fireAt: 0.5, scale: 0.1 }], threshold: 0.5, hysteresis: 0.1 }], cortexHidden: 7 });
    const m = assembleModel(sourceOf(b));
    expect(m.spec.pixel.widths).toEqual([32, 32, 8, 3]);
    expect(m.cortex.forward(new Float32Array(40)).length).toBe(1);
  });
});

test("a numeric metadata array of 4 Mi entries (a head's widths; the GGUF reader keeps numeric arrays compact, outside its item budget) was made into JS values and validated item by item, one issue each, before its length was checked: refused at once, naming its size", () => {
  const src = sourceOf(built());
  src.metadata.set(Keys.widths("pixel"), new Uint8Array(1 << 22));
  // Work counted, not timed: no JS array is made of the 4 Mi entries (Array.from was the first step of the item-by-item check).
  const from = Array.from;
  const sizes: number[] = [];
  Array.from = ((items: ArrayLike<unknown>, ...rest: []) => (sizes.push(items?.length ?? 0), from(items, ...rest))) as typeof Array.from;
  try {
    expect(() => parseVectorland(src)).toThrow(ModelError);
    expect(() => parseVectorland(src)).toThrow(/vectorland\.pixel\.widths: a numeric array of 4194304 entries \(at most 65: a head's widths, layer_count \+ 1\)/);
  } finally {
    Array.from = from;
  }
  expect(sizes.filter((n) => n > 65)).toEqual([]);
});
