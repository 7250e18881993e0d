// A JavaScript caller's wrong argument (null, a plain array for a Float32Array) gets an error of the one hierarchy naming it, and changes nothing.
import { expect, test } from "bun:test";
import { InputError, RuntimeInitError } from "../../src/errors.ts";
import { concatChunks, encodeModel } from "../../src/neural/export.ts";
import { NeuralRuntime } from "../../src/neural/runtime.ts";
import { built } from "./helpers.ts";

const bytes = concatChunks(encodeModel(built().metadata, built().tensors));
// Arguments a typed caller cannot pass: what a JavaScript caller (or a JSON decoder) may.
const any = (v: unknown) => v as never;

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  return null;
}

test("init(null) and initSync(null) threw a raw TypeError (null is not an object) instead of a RuntimeInitError naming the source", async () => {
  const rt = new NeuralRuntime({ threads: 1 });
  for (const bad of [null, undefined, 42, { bytes: [1, 2, 3] }, { bytes, unmap: "no" }]) {
    const sync = thrown(() => rt.initSync(any(bad)));
    expect(sync).toBeInstanceOf(RuntimeInitError);
    expect((sync as Error).message).toContain("initSync(source): the model source must be");
    const err = await rt.init(any(bad)).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeInitError);
    expect((err as Error).message).toContain("init(source): the model source must be");
  }
  expect(rt.loaded).toBe(false);
  // The runtime still loads a good model afterwards.
  expect(rt.initSync(bytes).name).toBe("vectorland-default");
  rt.cleanup();
}, 20_000);

test("runCortex(null) threw a raw TypeError instead of an InputError naming the input", () => {
  const rt = new NeuralRuntime({ threads: 1 });
  rt.initSync(bytes);
  const n = rt.cortexInputLayout().length;
  for (const bad of [null, undefined, new Array(n).fill(0)]) {
    const err = thrown(() => rt.runCortex(any(bad)));
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain("runCortex(input): input must be a Float32Array");
  }
  expect(rt.runCortex(new Float32Array(n)).length).toBe(rt.info().cortex.outputNames.length);
  rt.cleanup();
}, 20_000);

test("applyMutation given null or a plain array for its Float32Array threw a raw TypeError instead of an InputError, and nothing changed", () => {
  const rt = new NeuralRuntime({ threads: 1 });
  rt.initSync(bytes);
  const before = rt.readTensor("pixel.0.weight", 0, 4);
  for (const bad of [null, undefined, [0.5, 0.25, 0.125, 1], "0.5"]) {
    const err = thrown(() => rt.applyMutation("pixel.0.weight", 0, any(bad)));
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain("mutation of pixel.0.weight: values must be a Float32Array");
  }
  expect(rt.readTensor("pixel.0.weight", 0, 4)).toEqual(before);
  expect(rt.getStats().mutations).toBe(0);
  expect(rt.getStats().privateBytes).toBe(0);
  rt.cleanup();
}, 20_000);

test("new NeuralRuntime(null) threw a raw TypeError (cannot destructure), and readTensor with a string offset said 'element range [1, 12)' (the offset concatenated as text)", () => {
  const noOptions = thrown(() => new NeuralRuntime(any(null)));
  expect(noOptions).toBeInstanceOf(InputError);
  expect((noOptions as Error).message).toContain("RuntimeOptions must be an object, got null");
  const rt = new NeuralRuntime({ threads: 1 });
  rt.initSync(bytes);
  const name = rt.tensorNames().find((n) => n.startsWith("pixel."))!;
  const text = thrown(() => rt.readTensor(name, any("1")));
  expect(text).toBeInstanceOf(InputError);
  expect((text as Error).message).toContain(`element offset and count of tensor ${name} must be whole numbers, got string 1`);
  const mutation = thrown(() => rt.applyMutation(name, any("0"), new Float32Array(1)));
  expect(mutation).toBeInstanceOf(InputError);
  expect((mutation as Error).message).toContain("must be whole numbers, got string 0");
  rt.cleanup();
});

test("exportGguf(null) threw a raw TypeError, a bad metadata value threw only at the first read of the chunks (uncounted), and a Map or a number was silently ignored: each is an InputError at the call naming what was passed, counted in getStats().errors", () => {
  const rt = new NeuralRuntime({ threads: 1 });
  rt.initSync(bytes);
  const cases: [unknown, string][] = [
    [null, "exportGguf(extra): extra must be a plain object of metadata values, got null"],
    [42, "exportGguf(extra): extra must be a plain object of metadata values, got number"],
    ["text", "exportGguf(extra): extra must be a plain object of metadata values, got string"],
    [[1n], "exportGguf(extra): extra must be a plain object of metadata values, got Array"],
    [new Map([["k", 1n]]), "exportGguf(extra): extra must be a plain object of metadata values, got Map"],
    [{ k: null }, 'exportGguf(extra): metadata "k" must be a bigint or a GGUF value ({ type, value }), got null'],
    [{ k: 42 }, 'exportGguf(extra): metadata "k" must be a bigint or a GGUF value ({ type, value }), got number'],
    [{ k: { type: 8, value: 5 } }, 'GGUF writer: metadata "k": not a string'],
    [{ k: { type: 9, itemType: 4, value: null } }, 'GGUF writer: metadata "k": an array value must be an array or typed array, got null'],
  ];
  for (const [bad, message] of cases) {
    const before = rt.getStats().errors;
    const err = thrown(() => rt.exportGguf(any(bad))); // at the call, before any chunk is read
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain(message);
    expect(rt.getStats().errors - before).toBe(1);
  }
  // Good metadata still exports, and a bigint becomes a UINT64 entry.
  const before = rt.getStats().errors;
  const out = concatChunks(rt.exportGguf({ "test.extra": 7n, "test.text": { type: 8, value: "x" } }));
  expect(out.length).toBeGreaterThan(bytes.length);
  expect(concatChunks(rt.exportGguf()).length).toBe(bytes.length);
  expect(rt.getStats().errors).toBe(before);
  rt.cleanup();
}, 20_000);
