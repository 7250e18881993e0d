// A mutation made while the worker pool is still starting: the workers must not compute the mutated weight's rows from the old bytes.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { NeuralRuntime } from "../../src/neural/runtime.ts";
import { generatedModel, SPLIT_ACROSS_WORKERS } from "./generated-model.ts";
import { seedPixels } from "./helpers.ts";

let dir = "";
let model = "";

beforeAll(() => {
  ({ dir, model } = generatedModel("vb-pool-start-", "big.gguf", SPLIT_ACROSS_WORKERS));
}, 90_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a mutation while startWorkers() was under way: the pool registered the old bytes and the workers computed their rows from them (mixed, wrong outputs)", async () => {
  const file = readFileSync(model);
  const one = new NeuralRuntime({ threads: 1 });
  one.initSync(new Uint8Array(file));
  const sab = new Uint8Array(new SharedArrayBuffer(file.byteLength));
  sab.set(file);
  const par = new NeuralRuntime({ threads: 3, parallelMinBytes: 1000 });
  par.initSync(sab);
  const values = Float32Array.from({ length: 512 * 256 }, (_, i) => ((i % 29) - 14) / 200);
  const starting = par.startWorkers();
  par.applyMutation("pixel.1.weight", 0, values);
  one.applyMutation("pixel.1.weight", 0, values);
  await starting;
  // A pool was started for the weights that did not change, so this checks the pooled path, not one thread.
  expect(par.getStats().workers).toBe(2);
  const px = seedPixels.map((p) => [...p] as [number, number, number]);
  const want = one.executePixels(px).output;
  const got = par.executePixels(px).output;
  expect(Array.from(got)).toEqual(Array.from(want));
  par.cleanup();
  one.cleanup();
});
