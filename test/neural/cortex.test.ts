// runCortex for the heartbeat: clamps to kernel limits, reuses its buffer, refuses a wrong width; kernel parameters are copies.
import { describe, expect, test } from "bun:test";
import { InputError } from "../../src/errors.ts";
import { concatChunks, encodeModel } from "../../src/neural/export.ts";
import { NeuralRuntime } from "../../src/neural/runtime.ts";
import { built } from "./helpers.ts";

function runtime(): NeuralRuntime {
  const b = built();
  const rt = new NeuralRuntime();
  rt.initSync(concatChunks(encodeModel(b.metadata, b.tensors)));
  return rt;
}

const zombies = 22; // procs.zombies in the default layout
const cpuTotal = 0;

describe("runCortex", () => {
  test("exposes the input layout and interrupt names from the model's metadata", () => {
    const rt = runtime();
    expect(rt.cortexInputLayout()[zombies]).toBe("procs.zombies");
    expect(rt.cortexInputLayout().length).toBe(32);
    expect(rt.kernelParameters().outputNames).toEqual(["cpu_pressure", "memory_pressure", "io_pressure", "zombies", "thermal", "service_failed"]);
  });

  test("returns the same score buffer every call (no allocation per beat) with fresh values", () => {
    const rt = runtime();
    const x = new Float32Array(32);
    const a = rt.runCortex(x);
    const idle = a[3]!;
    x[zombies] = 20;
    const b = rt.runCortex(x);
    expect(b).toBe(a);
    expect(b[3]!).toBeGreaterThan(0.9);
    expect(idle).toBeLessThan(0.01);
    expect(rt.getStats().cortexRuns).toBe(2);
  });

  test("clamps inputs to kernel.cortex.input_min/max: a huge or NaN cpu.total cannot push the score past the value at 1.0", () => {
    const rt = runtime();
    const x = new Float32Array(32);
    x[cpuTotal] = 1;
    const atMax = rt.runCortex(x)[0]!;
    x[cpuTotal] = 1e30;
    expect(rt.runCortex(x)[0]).toBe(atMax);
    x[cpuTotal] = NaN;
    const nan = rt.runCortex(x)[0]!;
    x[cpuTotal] = 0;
    expect(nan).toBe(rt.runCortex(x)[0]!);
    expect(Number.isFinite(nan)).toBe(true);
  });

  test("rejects an input vector whose width differs from the model's layout", () => {
    const rt = runtime();
    expect(() => rt.runCortex(new Float32Array(31))).toThrow(InputError);
    expect(() => rt.runCortex(new Float32Array(33))).toThrow(/33 values, the model's layout has 32/);
  });

  test("kernel parameters are copies: writing into them changes nothing in the runtime", () => {
    const rt = runtime();
    const k = rt.kernelParameters();
    expect(Array.from(k.thresholds)).toEqual([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    expect(k.hysteresis[0]).toBeCloseTo(0.2, 6);
    k.thresholds[0] = 0;
    expect(rt.kernelParameters().thresholds[0]).toBe(0.5);
  });

  test("refuses a mutation of kernel.* through the runtime", () => {
    const rt = runtime();
    expect(() => rt.applyMutation("kernel.cortex.hysteresis", 0, Float32Array.from([0]))).toThrow(/safety-critical/);
    expect(rt.tensor("kernel.cortex.hysteresis")?.immutable).toBe(true);
    expect(rt.tensor("nope")).toBeNull();
  });

  test("a cortex mutation changes the scores on the next beat", () => {
    const rt = runtime();
    const x = new Float32Array(32);
    const before = rt.runCortex(x)[5]!;
    rt.applyMutation("cortex.1.bias", 5, Float32Array.from([0]));
    expect(rt.runCortex(x)[5]).toBeCloseTo(0.5, 6);
    expect(before).toBeLessThan(0.01);
    expect(rt.getStats().mutations).toBe(1);
  });
});

test("a model with a NaN or infinite cortex weight loaded without a word, and every interrupt score was NaN (none ever rose): refused at load naming the element", () => {
  for (const [name, bad] of [["cortex.1.bias", Number.NaN], ["cortex.0.weight", Number.POSITIVE_INFINITY]] as const) {
    const b = built();
    const tensors = b.tensors.map((t) => {
      if (t.name !== name) return t;
      const data = new Uint8Array(t.data);
      new DataView(data.buffer).setFloat32(4 * 3, bad, true);
      return { ...t, data };
    });
    const rt = new NeuralRuntime();
    expect(() => rt.initSync(concatChunks(encodeModel(b.metadata, tensors)))).toThrow(`vectorland model: ${name}[3] is ${bad}: the cortex head's weights must be finite`);
  }
});
