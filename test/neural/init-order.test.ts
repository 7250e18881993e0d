// Overlapping init() / initSync() / cleanup() calls: the last call decides what is loaded, whatever each one had to wait for.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { RuntimeInitError } from "../../src/errors.ts";
import { NeuralRuntime } from "../../src/neural/runtime.ts";

const root = resolve(import.meta.dir, "../..");
let dir = "";
const a = () => join(dir, "a.gguf");
const b = () => join(dir, "b.gguf");

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vb-init-order-"));
  for (const [path, name] of [[a(), "model-a"], [b(), "model-b"]] as const) {
    const r = Bun.spawnSync([process.execPath, join(root, "scripts/gen-vectorland.ts"), "-o", path, "--name", name], { stderr: "pipe", timeout: 60_000 });
    if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  }
}, 90_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("init(path A) then init(bytes B): A loaded after B (a path waits to be mapped, bytes do not), so the earlier call won", async () => {
  const rt = new NeuralRuntime({ threads: 1 });
  const first = rt.init(a());
  const second = rt.init(new Uint8Array(readFileSync(b())));
  expect((await first).name).toBe("model-a");
  expect((await second).name).toBe("model-b");
  expect(rt.info().name).toBe("model-b");
  rt.cleanup();
});

test("init(path A) then initSync(bytes B): A replaced B once mapped; the pending init is now refused instead", async () => {
  const rt = new NeuralRuntime({ threads: 1 });
  const first = rt.init(a());
  expect(rt.initSync(new Uint8Array(readFileSync(b()))).name).toBe("model-b");
  const err = await first.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RuntimeInitError);
  expect(String(err)).toMatch(/superseded by a later initSync\(\) or cleanup\(\)/);
  expect(rt.info().name).toBe("model-b");
  rt.cleanup();
});

test("init(path) then cleanup(): the model was loaded after the cleanup, and stayed loaded", async () => {
  const rt = new NeuralRuntime({ threads: 1 });
  const pending = rt.init(a());
  rt.cleanup();
  await expect(pending).rejects.toThrow(RuntimeInitError);
  expect(rt.loaded).toBe(false);
  expect(rt.getStats().bytesMapped).toBe(0);
  // The runtime stays usable.
  expect((await rt.init(b())).name).toBe("model-b");
  rt.cleanup();
});
