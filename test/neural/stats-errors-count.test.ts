// getStats().errors counts every public call that failed with an error, once, whatever the error and the method.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VectorBootError } from "../../src/errors.ts";
import { concatChunks, encodeModel } from "../../src/neural/export.ts";
import { NeuralRuntime } from "../../src/neural/runtime.ts";
import { built, seedPixels } from "./helpers.ts";

const bytes = concatChunks(encodeModel(built().metadata, built().tensors));

/** Runs `call`, which must fail with one of our errors, and returns how much getStats().errors grew. */
async function errorsAdded(rt: NeuralRuntime, call: () => unknown): Promise<number> {
  const before = rt.getStats().errors;
  let err: unknown = null;
  try {
    await call();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(VectorBootError);
  return rt.getStats().errors - before;
}

test("getStats().errors stayed 0 after rejected executePixels/runCortex inputs and a missing or unreadable init path, while a malformed model counted", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vb-stats-errors-"));
  try {
    const rt = new NeuralRuntime({ threads: 1 });
    // Without a model: every call that needs one fails, and counts.
    expect(await errorsAdded(rt, () => rt.executePixels([[1, 2, 3]]))).toBe(1);
    expect(await errorsAdded(rt, () => rt.info())).toBe(1);
    // init: a missing path, a directory, a malformed file, malformed bytes: one each (not two).
    expect(await errorsAdded(rt, () => rt.init(join(dir, "missing.gguf")))).toBe(1);
    expect(await errorsAdded(rt, () => rt.init(dir))).toBe(1);
    const junk = join(dir, "junk.gguf");
    writeFileSync(junk, "not a gguf file at all, just some bytes");
    expect(await errorsAdded(rt, () => rt.init(junk))).toBe(1);
    expect(await errorsAdded(rt, () => rt.initSync(new Uint8Array(64)))).toBe(1);

    rt.initSync(bytes);
    const n = rt.cortexInputLayout().length;
    const ok = rt.getStats().errors;
    // Successful calls count nothing.
    rt.executePixels(seedPixels.map((p) => [...p]));
    rt.runCortex(new Float32Array(n));
    rt.applyMutation("pixel.0.weight", 0, new Float32Array([0.5]));
    rt.readTensor("pixel.0.weight", 0, 2);
    expect(rt.getStats().errors).toBe(ok);
    // Ten rejected calls: ten errors.
    expect(await errorsAdded(rt, () => rt.executePixels([]))).toBe(1);
    expect(await errorsAdded(rt, () => rt.executePixels([[256, 0, 0]]))).toBe(1);
    expect(await errorsAdded(rt, () => rt.runCortex(new Float32Array(n + 1)))).toBe(1);
    expect(await errorsAdded(rt, () => rt.runCortex(new Float32Array(0)))).toBe(1);
    expect(await errorsAdded(rt, () => rt.applyMutation("no.such.tensor", 0, new Float32Array([1])))).toBe(1);
    expect(await errorsAdded(rt, () => rt.applyMutation("kernel.cortex.threshold", 0, new Float32Array([1])))).toBe(1);
    expect(await errorsAdded(rt, () => rt.applyMutation("pixel.0.weight", 0, new Float32Array([Number.NaN])))).toBe(1);
    expect(await errorsAdded(rt, () => rt.readTensor("pixel.0.weight", -1, 2))).toBe(1);
    expect(await errorsAdded(rt, () => rt.readTensor("no.such.tensor"))).toBe(1);
    expect(await errorsAdded(rt, () => rt.init(join(dir, "missing.gguf")))).toBe(1);
    expect(rt.getStats().errors).toBe(ok + 10);
    // The failed init left the loaded model in place.
    expect(rt.loaded).toBe(true);
    expect(rt.getStats().executions).toBe(1);
    expect(rt.getStats().cortexRuns).toBe(1);
    rt.cleanup();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
