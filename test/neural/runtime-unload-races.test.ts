// The runtime unloaded under a call that is still using it: by cleanup() while init() starts its workers, by the caller's own getter while an input is read; a hand-built matrix whose fields change between check and kernel; weights copied for alignment.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { readGguf, writeGguf } from "../../src/gguf/index.ts";
import { NeuralRuntime } from "../../src/neural/runtime.ts";
import { buildVectorland } from "../../src/neural/vectorland-builder.ts";
import { runAsync } from "../harness/artifact.ts";

const dir = mkdtempSync(join(tmpdir(), "vb-unload-races-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const src = resolve(import.meta.dir, "../../src");
const modelPath = join(dir, "m.gguf");
{
  const b = buildVectorland({ maxPixels: 50, pixelHidden: [96, 33] });
  writeFileSync(modelPath, writeGguf({ metadata: b.metadata, tensors: b.tensors }));
}

/** Runs `body` (TypeScript, top-level await) in a fresh Bun process importing the runtime: its exit code and output (a crash is a signal's 128+N). */
async function script(body: string, timeoutMs = 30_000) {
  const file = join(dir, `s-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(file, `import { NeuralRuntime } from ${JSON.stringify(join(src, "neural/runtime.ts"))};\nimport { matvec, prepareMatrix } from ${JSON.stringify(join(src, "neural/matvec.ts"))};\nconst model = ${JSON.stringify(modelPath)};\n${body}\n`);
  return await runAsync([process.execPath, file], { timeoutMs });
}

test("cleanup() while init() started its mat-vec workers left the pool running (each reload added threads) and the process could never exit: the pool is closed and the process exits", async () => {
  const r = await script(`
const rt = new NeuralRuntime({ threads: 3, parallelMinBytes: 0 });
const init = rt.init(model);
for (let i = 0; i < 500 && !rt.loaded; i++) await Bun.sleep(1);
rt.cleanup();
await init.catch(() => {});
await rt.startWorkers();
console.log("done");
`, 20_000);
  expect({ code: r.code, out: r.out.trim() }).toEqual({ code: 0, out: "done" });
}, 30_000);

test("a getter in executePixels' input (or runCortex's, a Float32Array subclass's length) that called cleanup() crashed the process (SIGSEGV: the forward pass on unmapped pages): the call throws RuntimeInitError", async () => {
  const r = await script(`
const rt = new NeuralRuntime({ threads: 1 });
await rt.init(model);
const px = [[1, 2, 3]];
Object.defineProperty(px, 1, { enumerable: true, get() { rt.cleanup(); return [4, 5, 6]; } });
try { rt.executePixels(px); console.log("returned"); } catch (e) { console.log(e.constructor.name + ": " + e.message); }
await rt.init(model);
const n = rt.info().cortex.inputLayout.length;
class Evil extends Float32Array { get length() { rt.cleanup(); return n; } }
try { rt.runCortex(new Evil(n)); console.log("returned"); } catch (e) { console.log(e.constructor.name + ": " + e.message); }
`);
  expect(r.code).toBe(0);
  expect(r.out.trim().split("\n")).toEqual([
    "RuntimeInitError: the model was unloaded (cleanup() or init()) while this call read its input",
    "RuntimeInitError: the model was unloaded (cleanup() or init()) while this call read its input",
  ]);
}, 30_000);

test("a hand-built matrix whose cols getter answered the shape check with 4 and the C kernel with 2^28 crashed the process (SIGSEGV, a read out of bounds): the values checked are the ones used", async () => {
  const r = await script(`
const real = prepareMatrix(0, 1, 4, new Uint8Array(16));
let reads = 0;
const m = { ...real, get cols() { return ++reads <= 1 ? 4 : 1 << 28; } };
const y = new Float32Array(1);
matvec(m, Float32Array.of(1, 2, 3, 4), y);
console.log("returned " + y[0]);
class Long extends Float32Array { get length() { return 1 << 28; } }
try { matvec(prepareMatrix(0, 1, 1 << 20, new Uint8Array(4 << 20)), new Long(4), y); console.log("returned"); } catch (e) { console.log(e.constructor.name); }
`);
  expect({ code: r.code, out: r.out.trim().split("\n") }).toEqual({ code: 0, out: ["returned 0", "ModelError"] });
}, 30_000);

test("an F32 weight off its 4-byte alignment in the file (general.alignment 1, valid GGUF) was copied to the heap while getStats() said privateBytes 0: the copy is counted", async () => {
  const b = buildVectorland({ maxPixels: 50, pixelHidden: [96, 33] });
  let bytes: Uint8Array | null = null;
  for (const pad of ["", "x", "xx", "xxx"]) {
    b.metadata.set("general.name", { type: 8, value: `vl${pad}` });
    const out = writeGguf({ metadata: b.metadata, tensors: b.tensors, alignment: 1 });
    if (readGguf(out).tensors.find((t) => t.name === "pixel.0.weight")!.data.byteOffset % 4 !== 0) {
      bytes = out;
      break;
    }
  }
  const path = join(dir, "align1.gguf");
  writeFileSync(path, bytes!);
  const rt = new NeuralRuntime({ threads: 1 });
  await rt.init(path);
  try {
    const m = rt.loadedModel().weights.matrix("pixel.0.weight");
    expect(m.bytes.buffer === rt.loadedModel().weights.baseBytes("pixel.0.weight").buffer).toBe(false);
    expect(rt.getStats().privateBytes).toBeGreaterThanOrEqual(m.bytes.byteLength);
  } finally {
    rt.cleanup();
  }
});
