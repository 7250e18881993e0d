// NeuralRuntime over real GGUF bytes and files: the seed's pixel test, input errors, load refusals, export round trip.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { GgufError, InputError, ModelError, RuntimeInitError } from "../../src/errors.ts";
import { gv, readGguf } from "../../src/gguf/index.ts";
import { concatChunks, encodeModel } from "../../src/neural/export.ts";
import { NeuralRuntime } from "../../src/neural/runtime.ts";
import { built, seedPixels } from "./helpers.ts";

const root = resolve(import.meta.dir, "../..");
const bytesOf = (b: ReturnType<typeof built>) => concatChunks(encodeModel(b.metadata, b.tensors));
let dir = "";
let modelPath = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vb-neural-"));
  // The default model as the build makes it: the real generator script, run as a process.
  modelPath = join(dir, "vectorland.gguf");
  const r = Bun.spawnSync([process.execPath, join(root, "scripts/gen-vectorland.ts"), "-o", modelPath], { stderr: "pipe", timeout: 30_000 });
  if (r.exitCode !== 0) throw new Error(`gen-vectorland failed: ${r.stderr.toString()}`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("seed unit test", () => {
  test("pixels (72,101,108) (101,108,108) (108,111,111) (250,255,0) execute and give a result, from a mapped file", async () => {
    const rt = new NeuralRuntime();
    await rt.init(modelPath);
    for (const p of seedPixels) {
      const r = rt.executePixels([p]);
      expect(r.pixels).toBe(1);
      expect(r.output.length).toBe(16);
      expect(r.output.every((v) => Number.isFinite(v))).toBe(true);
      expect(rt.getResult()).toEqual(r);
    }
    const all = rt.executePixels(seedPixels);
    expect(all.pixels).toBe(4);
    // softmax head: a probability vector
    expect(all.output.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    rt.free();
    expect(rt.getResult()).toBeNull();
    const s = rt.getStats();
    expect(s.loads).toBe(1);
    expect(s.executions).toBe(5);
    expect(s.bytesMapped).toBe(Bun.file(modelPath).size);
    expect(s.executeMs).toBeGreaterThan(0);
    rt.cleanup();
    expect(rt.getStats().loaded).toBe(false);
    expect(() => rt.executePixels([[1, 2, 3]])).toThrow(RuntimeInitError);
  });

  test("different pixel programs give different results (the input reaches the output)", async () => {
    const rt = new NeuralRuntime();
    await rt.init(modelPath);
    const a = rt.executePixels([[72, 101, 108]]).output;
    const b = rt.executePixels([[250, 255, 0]]).output;
    expect(Array.from(a)).not.toEqual(Array.from(b));
    rt.cleanup();
  });

  const bad: [string, unknown, RegExp][] = [
    ["an empty program", [], /no pixels given/],
    ["a channel above 255", [[1, 256, 3]], /pixel 0 channel g: 256 is out of range 0..255/],
    ["a negative channel", [[1, 2, 3], [-1, 0, 0]], /pixel 1 channel r: -1 is out of range/],
    ["a non-integer channel", [[1, 2.5, 3]], /channel g: 2.5 is not an integer/],
    ["NaN", [[1, 2, NaN]], /channel b: NaN is not an integer/],
    ["a pixel with 2 channels", [[1, 2]], /pixel 0 has 2 channels/],
    ["too many pixels", Array.from({ length: 33 }, () => [1, 2, 3]), /too many pixels: 33 given, the model takes at most 32/],
    ["a string", "72,101,108", /must be an array/],
    ["bytes not in triples", new Uint8Array(4), /triples; got 4 bytes/],
  ];
  for (const [what, input, msg] of bad) {
    test(`rejects ${what} with an InputError and keeps the previous result`, async () => {
      const rt = new NeuralRuntime();
      await rt.init(modelPath);
      const prev = rt.executePixels([[1, 2, 3]]);
      expect(() => rt.executePixels(input as never)).toThrow(InputError);
      expect(() => rt.executePixels(input as never)).toThrow(msg);
      expect(rt.getResult()).toEqual(prev);
      rt.cleanup();
    });
  }
});

describe("load-time refusals through real GGUF bytes", () => {
  test("a GGUF of another architecture is refused by init with a ModelError, and the old model stays loaded", async () => {
    const rt = new NeuralRuntime();
    await rt.init(modelPath);
    const b = built();
    b.metadata.set("general.architecture", gv.str("llama"));
    expect(() => rt.initSync(bytesOf(b))).toThrow(/architecture is "llama"/);
    expect(rt.executePixels([[1, 2, 3]]).pixels).toBe(1);
    rt.cleanup();
  });

  test("inconsistent shapes and missing tensors are refused at init, not at first use", () => {
    const rt = new NeuralRuntime();
    const b = built();
    b.metadata.set("vectorland.cortex.widths", gv.u32s([32, 32, 7]));
    expect(() => rt.initSync(bytesOf(b))).toThrow(ModelError);
    const c = built();
    c.tensors = c.tensors.filter((t) => t.name !== "pixel.0.bias");
    expect(() => rt.initSync(bytesOf(c))).toThrow(/pixel.0.bias .* is missing/);
    expect(rt.loaded).toBe(false);
  });

  test("a truncated file is refused with the GGUF reader's typed error", () => {
    const good = bytesOf(built());
    expect(() => new NeuralRuntime().initSync(good.subarray(0, good.length - 100))).toThrow(GgufError);
  });

  test("a big-endian GGUF (gguf-py fixture) is refused with a ModelError saying so", async () => {
    const rt = new NeuralRuntime({ threads: 1 });
    await expect(rt.init(resolve(root, "../shared/fixtures/gguf/ref-s1-big-endian.gguf"))).rejects.toThrow(/big-endian GGUF/);
    expect(rt.loaded).toBe(false);
  });

  test("a llama.cpp vocab GGUF (another architecture, no tensors) is refused at load", async () => {
    await expect(new NeuralRuntime({ threads: 1 }).init(resolve(root, "../shared/fixtures/gguf/llama.cpp-vocab-gpt-2.gguf"))).rejects.toThrow(/model architecture is "gpt2", this runtime runs "vectorland"/);
  });

  test("a missing file is a RuntimeInitError naming it", async () => {
    await expect(new NeuralRuntime().init(join(dir, "nope.gguf"))).rejects.toThrow(/nope.gguf does not exist/);
  });
});

describe("copy-on-write over a mapped file", () => {
  // Elements 0 and 1 weigh pixel 0's r and g into hidden unit 0: large values make the unit fire.
  test("a mutation through the runtime changes the live weights while the mapped file keeps its bytes", async () => {
    const before = new Uint8Array(await Bun.file(modelPath).arrayBuffer());
    const rt = new NeuralRuntime({ threads: 1 });
    await rt.init(modelPath);
    const old = rt.readTensor("pixel.0.weight", 0, 2);
    const out0 = rt.executePixels([[72, 101, 108]]).output;
    rt.applyMutation("pixel.0.weight", 0, Float32Array.from([5, 5]));
    expect(Array.from(rt.readTensor("pixel.0.weight", 0, 2))).toEqual([5, 5]);
    expect(Array.from(rt.executePixels([[72, 101, 108]]).output)).not.toEqual(Array.from(out0));
    expect(rt.tensor("pixel.0.weight")).toMatchObject({ mutated: true, typeName: "F32", ne: [96, 64], elements: 6144 });
    expect(rt.getStats().privateBytes).toBe(96 * 64 * 4);
    expect(old).not.toEqual(rt.readTensor("pixel.0.weight", 0, 2));
    rt.cleanup();
    expect(new Uint8Array(await Bun.file(modelPath).arrayBuffer())).toEqual(before);
    const again = new NeuralRuntime({ threads: 1 });
    await again.init(modelPath);
    expect(again.readTensor("pixel.0.weight", 0, 2)).toEqual(old);
    again.cleanup();
  });
});

describe("export round trip", () => {
  for (const type of ["F32", "Q8_0", "Q4_0"] as const) {
    test(`${type}: an exported GGUF (after mutations) loads and gives the same outputs as the runtime it came from`, () => {
      const src = bytesOf(built({ type }));
      const a = new NeuralRuntime();
      a.initSync(src);
      a.applyMutation("pixel.0.weight", 100, Float32Array.from([0.5, -0.25]));
      a.applyMutation("cortex.1.weight", 3, Float32Array.from([2]));
      const out = concatChunks(a.exportGguf({ "vectorland.checkpoint.seq": 42n }));
      const b = new NeuralRuntime();
      b.initSync(out);
      expect(readGguf(out).meta("vectorland.checkpoint.seq")).toBe(42n);
      const px = [[72, 101, 108], [250, 255, 0]] as const;
      expect(Array.from(b.executePixels(px).output)).toEqual(Array.from(a.executePixels(px).output));
      const x = Float32Array.from({ length: 32 }, (_, i) => (i % 7) / 7);
      expect(Array.from(b.runCortex(x))).toEqual(Array.from(a.runCortex(x)));
      for (const name of a.tensorNames()) expect(b.readTensor(name)).toEqual(a.readTensor(name));
    });
  }

  test("exporting an unmutated model reproduces the generator's file byte for byte", async () => {
    const rt = new NeuralRuntime();
    await rt.init(modelPath);
    const again = concatChunks(rt.exportGguf());
    expect(again).toEqual(new Uint8Array(await Bun.file(modelPath).arrayBuffer()));
    rt.cleanup();
  });

  test("the generator writes the same bytes on every run", () => {
    const p2 = join(dir, "again.gguf");
    const r = Bun.spawnSync([process.execPath, join(root, "scripts/gen-vectorland.ts"), "-o", p2], { stderr: "pipe", timeout: 30_000 });
    expect(r.exitCode).toBe(0);
    expect(Bun.spawnSync(["cmp", p2, modelPath]).exitCode).toBe(0);
  });
});
