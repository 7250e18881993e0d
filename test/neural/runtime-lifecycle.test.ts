// The runtime's lifecycle with worker threads (overlapping inits, reloads) and what its API hands out: no leaked pool, mapping or shared result.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { InputError } from "../../src/errors.ts";
import { NeuralRuntime } from "../../src/neural/runtime.ts";
import { generatedModel, SPLIT_ACROSS_WORKERS } from "./generated-model.ts";
import { seedPixels } from "./helpers.ts";

const root = resolve(import.meta.dir, "../..");
let dir = "";
let model = "";

beforeAll(() => {
  ({ dir, model } = generatedModel("vb-lifecycle-", "big.gguf", SPLIT_ACROSS_WORKERS));
}, 90_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Mappings of this process that show the model's bytes: the file itself, or the sealed memfd copy of it. */
function modelMappings(): number {
  return readFileSync("/proc/self/maps", "utf8").split("\n").filter((l) => l.includes(model) || l.includes("memfd:")).length;
}

async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

test("two overlapping init() calls each started a worker pool for the last model; cleanup closed one, and the other kept the process alive for ever", () => {
  const script = join(dir, "overlap.ts");
  writeFileSync(
    script,
    `import { NeuralRuntime } from ${JSON.stringify(join(root, "src/neural/runtime.ts"))};
const rt = new NeuralRuntime({ threads: 2, parallelMinBytes: 1024 });
await Promise.all([rt.init(${JSON.stringify(model)}), rt.init(${JSON.stringify(model)})]);
await rt.startWorkers(); // a second start for the same model: one pool per model
rt.executePixels([[1, 2, 3]]);
rt.cleanup();
console.log("cleaned up");
`,
  );
  const r = Bun.spawnSync([process.execPath, script], { stdout: "pipe", stderr: "pipe", timeout: 20_000 });
  expect(r.stdout.toString()).toContain("cleaned up");
  expect({ exit: r.exitCode, signal: r.signalCode ?? null }).toEqual({ exit: 0, signal: null });
}, 30_000);

test("each cleanup with worker threads left the workers' mappings of the weights behind (terminated before they unmapped): reloads grew without bound", async () => {
  const base = modelMappings();
  const rt = new NeuralRuntime({ threads: 2, parallelMinBytes: 1024 });
  for (let i = 0; i < 5; i++) {
    await rt.init(model);
    expect(rt.getStats().workers).toBe(1);
    rt.executePixels(seedPixels);
    rt.cleanup();
  }
  // The workers unmap, say so, and are then terminated: back to what the process mapped before.
  // At most what it mapped before: mappings an earlier test's runtime left may go meanwhile (once in CI
  // the count fell from 4 to 0 during the loop, and an exact comparison failed).
  await waitFor("the workers' mappings to go", () => modelMappings() <= base, 15_000);
  expect(modelMappings()).toBeLessThanOrEqual(base);
}, 60_000);

test("the result of executePixels and getResult was the runtime's own object: a caller writing into it changed what the next getResult returned", async () => {
  const rt = new NeuralRuntime({ threads: 1 });
  await rt.init(model);
  try {
    const r = rt.executePixels(seedPixels);
    const first = r.output[0]!;
    r.output[0] = 12345;
    expect(rt.getResult()!.output[0]).toBe(first);
    const g = rt.getResult()!;
    g.output[1] = 54321;
    expect(rt.getResult()!.output[1]).toBe(r.output[1]!);
  } finally {
    rt.cleanup();
  }
});

test("a channel read through a getter was checked as 1 and then read again as NaN for the head: each value is read once", async () => {
  const rt = new NeuralRuntime({ threads: 1 });
  await rt.init(model);
  try {
    const clean = rt.executePixels([[1, 0, 0]]).output;
    const tricky: number[] = [0, 0, 0];
    let reads = 0;
    Object.defineProperty(tricky, 0, { get: () => (reads++ === 0 ? 1 : Number.NaN) });
    expect(Array.from(rt.executePixels([tricky]).output)).toEqual(Array.from(clean));
    expect(reads).toBe(1);
  } finally {
    rt.cleanup();
  }
});

test("RuntimeOptions were not checked: threads NaN started a pool of NaN workers, threads '3' was taken", () => {
  for (const threads of [Number.NaN, 0, -1, 1.5, 65, "3" as unknown as number]) {
    expect(() => new NeuralRuntime({ threads })).toThrow(InputError);
  }
  for (const parallelMinBytes of [Number.NaN, -1, 0.5]) {
    expect(() => new NeuralRuntime({ parallelMinBytes })).toThrow(InputError);
  }
  expect(() => new NeuralRuntime({ threads: 1, parallelMinBytes: 0 })).not.toThrow();
});
