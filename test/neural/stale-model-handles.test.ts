// What the runtime hands out (a safety probe, an exportGguf iterator) outliving the model's mapping: an error, not SIGSEGV.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "../..");
let dir = "";
let model = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vb-stale-"));
  model = join(dir, "vectorland.gguf");
  const r = Bun.spawnSync([process.execPath, join(root, "scripts/gen-vectorland.ts"), "-o", model], { stderr: "pipe", timeout: 60_000 });
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
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
