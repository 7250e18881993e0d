// scripts/gen-vectorland.ts as a process: options, padding, custom cortex designs, refusals.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { readGguf } from "../../src/gguf/index.ts";
import { NeuralRuntime } from "../../src/neural/runtime.ts";

const root = resolve(import.meta.dir, "../..");
let dir = "";
// Each test spawns the generator a few times: seconds on a loaded 2-core machine.
setDefaultTimeout(30_000);

function gen(args: string[]) {
  const r = Bun.spawnSync([process.execPath, join(root, "scripts/gen-vectorland.ts"), ...args], { stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  return { code: r.exitCode, err: r.stderr.toString() };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vb-gen-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("gen-vectorland", () => {
  test("--pad-mib 1 makes a file of at least 1 MiB whose padding the runtime carries but ignores", () => {
    const out = join(dir, "pad.gguf");
    expect(gen(["-o", out, "--pad-mib", "1"]).code).toBe(0);
    expect(statSync(out).size).toBeGreaterThanOrEqual(1 << 20);
    const rt = new NeuralRuntime({ threads: 1 });
    rt.initSync(new Uint8Array(readFileSync(out)));
    expect(rt.tensor("extra.padding")?.elements).toBe(262144);
    expect(rt.executePixels([[72, 101, 108]]).pixels).toBe(1);
  });

  test("another seed gives other weights; the same seed the same bytes", () => {
    const a = join(dir, "s1.gguf");
    const b = join(dir, "s2.gguf");
    const c = join(dir, "s1b.gguf");
    expect(gen(["-o", a, "--seed", "1"]).code).toBe(0);
    expect(gen(["-o", b, "--seed", "2"]).code).toBe(0);
    expect(gen(["-o", c, "--seed", "1"]).code).toBe(0);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(false);
    expect(readFileSync(a).equals(readFileSync(c))).toBe(true);
  });

  test("sizes and type options end up in the metadata and tensors", () => {
    const out = join(dir, "sized.gguf");
    expect(gen(["-o", out, "--type", "q4_0", "--max-pixels", "8", "--pixel-hidden", "64,32", "--pixel-outputs", "5", "--cortex-hidden", "64"]).code).toBe(0);
    const f = readGguf(new Uint8Array(readFileSync(out)));
    expect(Array.from(f.meta("vectorland.pixel.widths") as Uint32Array)).toEqual([32, 64, 32, 5]);
    expect(f.tensorByName("pixel.1.weight")?.typeName).toBe("Q4_0");
    expect(f.tensorByName("cortex.0.weight")?.ne).toEqual([32, 64]);
  });

  test("--cortex-spec replaces the interrupts: one that fires when cpu.total reaches 0.3", () => {
    const spec = join(dir, "spec.json");
    writeFileSync(spec, JSON.stringify({ interrupts: [{ name: "busy", threshold: 0.5, hysteresis: 0.1, terms: [{ input: "cpu.total", fireAt: 0.3, scale: 0.1 }] }] }));
    const out = join(dir, "spec.gguf");
    expect(gen(["-o", out, "--cortex-spec", spec]).code).toBe(0);
    const rt = new NeuralRuntime({ threads: 1 });
    rt.initSync(new Uint8Array(readFileSync(out)));
    expect(rt.kernelParameters().outputNames).toEqual(["busy"]);
    const x = new Float32Array(32);
    x[0] = 0.29;
    expect(rt.runCortex(x)[0]).toBeLessThan(0.5);
    x[0] = 0.31;
    expect(rt.runCortex(x)[0]).toBeGreaterThanOrEqual(0.5);
  });

  test("--cortex-spec generates safety cases for the custom design, plus hand-written ones; the weights pass them and a silencing mutation fails", () => {
    const spec = join(dir, "spec-cases.json");
    writeFileSync(
      spec,
      JSON.stringify({
        interrupts: [{ name: "busy", threshold: 0.5, hysteresis: 0.1, terms: [{ input: "cpu.total", fireAt: 0.3, scale: 0.1 }] }],
        cases: [{ name: "saturated", inputs: { "cpu.total": 1 }, expect: { busy: "raise" } }],
      }),
    );
    const out = join(dir, "spec-cases.gguf");
    expect(gen(["-o", out, "--cortex-spec", spec]).code).toBe(0);
    const rt = new NeuralRuntime({ threads: 1 });
    rt.initSync(new Uint8Array(readFileSync(out)));
    const probe = rt.safetyProbe()!;
    expect(probe.cases.names).toEqual(["idle", "busy/0@0.25", "busy/0@0.29", "busy/0@0.31", "busy/0@0.35", "saturated"]);
    expect(Array.from(probe.cases.expect)).toEqual([3, 3, 2, 1, 1, 1]);
    expect(probe.evaluate()).toBeNull();
    const silenced = probe.scratch("cortex.1.bias", 0, Float32Array.of(-60));
    expect(probe.evaluate(new Map([["cortex.1.bias", silenced]]))).toMatchObject({ caseName: "busy/0@0.31", interrupt: "busy", expected: "raise" });
   });

  test("a hand-written case the design contradicts is refused, naming it; --no-safety-cases writes none", () => {
    const spec = join(dir, "spec-wrong.json");
    writeFileSync(
      spec,
      JSON.stringify({
        interrupts: [{ name: "busy", threshold: 0.5, hysteresis: 0.1, terms: [{ input: "cpu.total", fireAt: 0.3, scale: 0.1 }] }],
        cases: [{ name: "wrong", inputs: { "cpu.total": 0.1 }, expect: { busy: "raise" } }],
      }),
    );
    const bad = gen(["-o", join(dir, "wrong.gguf"), "--cortex-spec", spec]);
    expect(bad.code).toBe(65);
    expect(bad.err).toContain("case wrong: busy must raise");
    const out = join(dir, "nocases.gguf");
    expect(gen(["-o", out, "--no-safety-cases"]).code).toBe(0);
    expect(readGguf(new Uint8Array(readFileSync(out))).tensorByName("kernel.ctrm.cases")).toBeUndefined();
   });

  test("refuses bad options with a message and a non-zero exit, writing nothing", () => {
    const out = join(dir, "never.gguf");
    const a = gen(["-o", out, "--type", "Q5_K"]);
    expect(a.code).toBe(64);
    expect(a.err).toMatch(/type/);
    const b = gen(["-o", out, "--type", "Q8_0", "--pixel-hidden", "50"]);
    expect(b.code).toBe(65);
    expect(b.err).toMatch(/multiple of 32/);
    const spec = join(dir, "bad.json");
    writeFileSync(spec, JSON.stringify({ interrupts: [{ name: "x", threshold: 0.5, hysteresis: 0.1, terms: [{ input: "no.such.field", fireAt: 1, scale: 1 }] }] }));
    const c = gen(["-o", out, "--cortex-spec", spec]);
    expect(c.code).toBe(65);
    expect(c.err).toMatch(/no.such.field is not in the cortex layout/);
    expect(gen([]).code).toBe(64);
    expect(() => statSync(out)).toThrow();
  });
});
