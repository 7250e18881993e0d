// Model bytes outliving their mapping: what the runtime hands out (a safety probe, an exportGguf iterator) and mappings handed to it again: errors, not SIGSEGV.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { generatedModel } from "./generated-model.ts";

const root = resolve(import.meta.dir, "../..");
let dir = "";
let model = "";

beforeAll(() => {
  ({ dir, model } = generatedModel("vb-stale-", "vectorland.gguf"));
}, 90_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `body` in a fresh process after `rt.init(model)` (a mapped file); returns its exit, signal and output. */
function run(name: string, body: string) {
  const script = join(dir, `${name}.ts`);
  writeFileSync(
    script,
    `import { NeuralRuntime } from ${JSON.stringify(join(root, "src/neural/runtime.ts"))};
import { setLogLevel } from ${JSON.stringify(join(root, "src/log.ts"))};
setLogLevel("error");
const rt = new NeuralRuntime({ threads: 1 });
await rt.init(${JSON.stringify(model)});
const tryIt = (what: string, f: () => unknown) => {
  try {
    f();
    console.log(what, "ok");
  } catch (e) {
    console.log(what, (e as Error).constructor.name, (e as Error).message);
  }
};
${body}
console.log("done");
`,
  );
  const r = Bun.spawnSync([process.execPath, script], { stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  return { exit: r.exitCode, signal: r.signalCode ?? null, stdout: r.stdout.toString() };
}

test("a safety probe or an exportGguf iterator used after cleanup() or a later init() read the unmapped model: the process died of SIGSEGV; now a RuntimeInitError", () => {
  const r = run(
    "stale",
    `const probe = rt.safetyProbe()!;
const chunks = rt.exportGguf()[Symbol.iterator]();
chunks.next(); // the header: heap bytes
rt.cleanup();
tryIt("probe after cleanup", () => probe.evaluate());
tryIt("scratch after cleanup", () => probe.scratch("cortex.0.bias", 0, new Float32Array([1])));
tryIt("export after cleanup", () => { for (let c = chunks.next(); !c.done; c = chunks.next()) c.value.reduce((a, b) => a + b, 0); });
await rt.init(${JSON.stringify(model)});
const probe2 = rt.safetyProbe()!;
const chunks2 = rt.exportGguf();
await rt.init(${JSON.stringify(model)}); // another init unmaps the first mapping
tryIt("probe after init", () => probe2.evaluate());
tryIt("export after init", () => { for (const c of chunks2) c.reduce((a, b) => a + b, 0); });
// The runtime's own, asked again, work on the model now loaded.
tryIt("new probe", () => rt.safetyProbe()!.evaluate());
tryIt("new export", () => { for (const c of rt.exportGguf()) c.reduce((a, b) => a + b, 0); });`,
  );
  expect({ exit: r.exit, signal: r.signal }).toEqual({ exit: 0, signal: null });
  const lines = r.stdout.trim().split("\n");
  const unloaded = "RuntimeInitError this model was unloaded (cleanup() or a later init())";
  for (const what of ["probe after cleanup", "scratch after cleanup", "export after cleanup", "probe after init", "export after init"]) {
    expect(lines.find((l) => l.startsWith(`${what} `))).toStartWith(`${what} ${unloaded}`);
  }
  expect(lines.slice(-3)).toEqual(["new probe ok", "new export ok", "done"]);
}, 60_000);

test("a mapping loaded again after the runtime unmapped it (initSync(base) after init(other)), given to a second runtime, or reloaded as a view of itself: SIGSEGV; now the view reloads and the others are RuntimeInitErrors", () => {
  const r = run(
    "mappings",
    `import { openModelSource } from ${JSON.stringify(join(root, "src/rts/model-source.ts"))};
const base = openModelSource({ path: ${JSON.stringify(model)} });
const b = new NeuralRuntime({ threads: 1 });
b.initSync(base, true);
tryIt("view of the loaded mapping", () => b.initSync(base.bytes));
tryIt("pixels on the view", () => b.executePixels([[1, 2, 3]]));
tryIt("second runtime", () => rt.initSync(base, true));
tryIt("second runtime, a view", () => rt.initSync(base.bytes));
tryIt("pixels of the first runtime", () => rt.executePixels([[1, 2, 3]]));
await b.init(${JSON.stringify(model)}); // another model: b unmaps base
tryIt("base after init", () => b.initSync(base, true));
tryIt("pixels after the refusal", () => b.executePixels([[1, 2, 3]]));
b.cleanup();
const heap = new Uint8Array(await Bun.file(${JSON.stringify(model)}).arrayBuffer());
tryIt("heap bytes in two runtimes", () => { b.initSync(heap); rt.initSync(heap); });`,
  );
  expect({ exit: r.exit, signal: r.signal }).toEqual({ exit: 0, signal: null });
  const line = (what: string) => r.stdout.split("\n").find((l) => l.startsWith(`${what} `));
  for (const what of ["view of the loaded mapping", "pixels on the view", "pixels of the first runtime", "pixels after the refusal", "heap bytes in two runtimes"]) {
    expect(line(what)).toBe(`${what} ok`);
  }
  expect(line("second runtime")).toStartWith("second runtime RuntimeInitError initSync(source): these bytes are a mapping that another NeuralRuntime has loaded");
  expect(line("second runtime, a view")).toStartWith("second runtime, a view RuntimeInitError initSync(source): these bytes are a mapping that another NeuralRuntime has loaded");
  expect(line("base after init")).toStartWith("base after init RuntimeInitError initSync(source): these bytes were unmapped when a NeuralRuntime let go of them");
  expect(r.stdout.trim().split("\n").at(-1)).toBe("done");
}, 60_000);
