// Safety cases (kernel.ctrm.*): the default model's cases, the evaluator on scratch copies, malformed and absent cases.
import { describe, expect, test } from "bun:test";
import { ModelError } from "../../src/errors.ts";
import { gv } from "../../src/gguf/index.ts";
import { defaultInterrupts } from "../../src/neural/default-cortex.ts";
import { Expect, meetsExpectation } from "../../src/neural/interrupt-rule.ts";
import { assembleModel } from "../../src/neural/model.ts";
import { NeuralRuntime } from "../../src/neural/runtime.ts";
import { encodeModel } from "../../src/neural/export.ts";
import { InterruptBank } from "../../src/heartbeat/interrupts.ts";
import { built, sourceOf } from "./helpers.ts";

function runtime(opts: Parameters<typeof built>[0] = {}): NeuralRuntime {
  const b = built(opts);
  const bytes = new Uint8Array(Buffer.concat([...encodeModel(b.metadata, b.tensors)]));
  const rt = new NeuralRuntime({ threads: 1 });
  rt.initSync(bytes);
  return rt;
}

/** Element of cortex.1.weight (ne [hidden, outputs]) linking hidden unit `unit` to interrupt `out`. */
const outWeight = (rt: NeuralRuntime, out: number, unit: number) => out * rt.info().cortex.widths[1]! + unit;
/** The hand-set hidden unit of interrupt `name`'s first term (units are numbered term by term). */
function termUnit(name: string): number {
  let u = 0;
  for (const k of defaultInterrupts) {
    if (k.name === name) return u;
    u += k.terms.length;
  }
  throw new Error(name);
}

describe("safety cases of the default model", () => {
  const rt = runtime();
  const probe = rt.safetyProbe()!;
  const names = rt.info().cortex.outputNames;

  test("cover each of the six interrupts on both sides of its threshold, and an idle machine where all stay clear", () => {
    const c = probe.cases;
    expect(names.length).toBe(6);
    for (const [k, name] of names.entries()) {
      const own = c.names.map((n, i) => [n, i] as const).filter(([n]) => n.startsWith(`${name}/`));
      const codes = own.map(([, i]) => c.expect[i * c.nOut + k]);
      expect(codes).toContain(Expect.raise);
      expect(codes).toContain(Expect.quiet);
      expect(codes).toContain(Expect.clear);
    }
    const idle = c.names.indexOf("idle");
    expect(Array.from(c.expect.subarray(idle * c.nOut, idle * c.nOut + c.nOut))).toEqual(names.map(() => Expect.clear));
    const t95 = c.names.indexOf("thermal/0@95");
    const t89 = c.names.indexOf("thermal/0@89");
    expect(c.expect[t95 * c.nOut + names.indexOf("thermal")]).toBe(Expect.raise);
    expect(c.expect[t89 * c.nOut + names.indexOf("thermal")]).toBe(Expect.quiet);
  });

  test("the base weights pass every case", () => {
    expect(probe.evaluate()).toBeNull();
  });

  test("silencing thermal (its output weight zeroed) fails a thermal case that must raise, and the live weights are untouched", () => {
    const name = "cortex.1.weight";
    const live = rt.loadedModel().weights;
    const before = live.bytes(name).slice();
    const gen = live.generation;
    const off = outWeight(rt, names.indexOf("thermal"), termUnit("thermal"));
    expect(rt.readTensor(name, off, 1)[0]).toBe(6);
    const scratch = probe.scratch(name, off, Float32Array.of(0));
    const f = probe.evaluate(new Map([[name, scratch]]));
    expect(f).toMatchObject({ interrupt: "thermal", expected: "raise" });
    expect(f && "caseName" in f ? f.caseName : null).toMatch(/^thermal\/0@9[15]$/);
    expect(live.bytes(name)).toEqual(before);
    expect(live.generation).toBe(gen);
    expect(live.describe(name).mutated).toBe(false);
    expect(probe.evaluate()).toBeNull(); // the overrides are gone with the next evaluation
  });

  test("a bias making cpu_pressure fire on an idle machine fails case idle", () => {
    const scratch = probe.scratch("cortex.1.bias", names.indexOf("cpu_pressure"), Float32Array.of(6));
    expect(probe.evaluate(new Map([["cortex.1.bias", scratch]]))).toMatchObject({ caseName: "idle", interrupt: "cpu_pressure", expected: "clear" });
  });

  test("an interrupt stuck in the hysteresis band on an idle machine (score between threshold - hysteresis and threshold) fails case idle", () => {
    // sigmoid(-0.2) = 0.45: never raised from quiet, but never cleared once raised.
    const scratch = probe.scratch("cortex.1.bias", names.indexOf("zombies"), Float32Array.of(-0.2));
    expect(probe.evaluate(new Map([["cortex.1.bias", scratch]]))).toMatchObject({ caseName: "idle", interrupt: "zombies", expected: "clear" });
  });

  test("a mutation of a dormant hidden unit passes every case; a pixel tensor is not guarded", () => {
    const hidden = rt.info().cortex.widths[1]!;
    const dormant = hidden - 1;
    const scratch = probe.scratch("cortex.0.weight", dormant * rt.info().cortex.widths[0]!, new Float32Array(32).fill(0.7));
    expect(probe.evaluate(new Map([["cortex.0.weight", scratch]]))).toBeNull();
    expect(probe.guards("cortex.0.weight")).toBe(true);
    expect(probe.guards("cortex.1.bias")).toBe(true);
    expect(probe.guards("pixel.0.weight")).toBe(false);
  });

  for (const type of ["F16", "BF16", "Q8_0", "Q4_0"] as const) {
    test(`${type}: the built weights pass their own cases, and a silencing mutation (re-quantized in the scratch copy) fails`, () => {
      const q = runtime({ type });
      const p = q.safetyProbe()!;
      expect(p.evaluate()).toBeNull();
      const off = outWeight(q, names.indexOf("thermal"), termUnit("thermal"));
      expect(p.evaluate(new Map([["cortex.1.weight", p.scratch("cortex.1.weight", off, Float32Array.of(0))]]))?.interrupt).toBe("thermal");
    });
  }
});

describe("the rule shared with the heartbeat", () => {
  test("an expectation holds exactly when the heartbeat's InterruptBank would reach that state", () => {
    const thr = Float32Array.of(0.5);
    const hyst = Float32Array.of(0.2);
    for (const s of [0, 0.29, 0.3, 0.31, 0.49, 0.5, 0.51, 1, Number.NaN]) {
      const fromQuiet = new InterruptBank(["i"], thr, hyst);
      fromQuiet.update(Float32Array.of(s), 0);
      const fromRaised = new InterruptBank(["i"], thr, hyst);
      fromRaised.update(Float32Array.of(1), 0);
      fromRaised.update(Float32Array.of(s), 1);
      // The bank holds scores, thresholds and hysteresis as float32: compare on the same values.
      const f = Math.fround(s);
      expect(meetsExpectation(Expect.raise, f, thr[0]!, hyst[0]!)).toBe(fromQuiet.active[0] === 1);
      expect(meetsExpectation(Expect.quiet, f, thr[0]!, hyst[0]!)).toBe(fromQuiet.active[0] === 0);
      expect(meetsExpectation(Expect.clear, f, thr[0]!, hyst[0]!)).toBe(fromRaised.active[0] === 0);
    }
  });
});

describe("models without cases, and malformed cases", () => {
  test("a model without kernel.ctrm.* loads and has no safety probe (no safety check)", () => {
    const rt = runtime({ safetyCases: false });
    expect(rt.safetyProbe()).toBeNull();
    expect(rt.tensorNames().some((n) => n.startsWith("kernel.ctrm."))).toBe(false);
  });

  test("cases without their expectations are refused at load, naming the missing part", () => {
    const b = built();
    b.tensors = b.tensors.filter((t) => t.name !== "kernel.ctrm.expect");
    expect(() => assembleModel(sourceOf(b))).toThrow(/safety cases need all of/);
  });

  test("an expectation code outside 0..3 is refused at load", () => {
    const b = built();
    const e = b.tensors.find((t) => t.name === "kernel.ctrm.expect")!;
    const f = new Float32Array(e.data.slice().buffer);
    f[7] = 4;
    e.data = new Uint8Array(f.buffer);
    expect(() => assembleModel(sourceOf(b))).toThrow(ModelError);
  });

  test("case names that disagree with the case tensor's shape are refused at load", () => {
    const b = built();
    const names = (b.metadata.get("vectorland.ctrm.case_names")!.value as string[]).slice(1);
    b.metadata.set("vectorland.ctrm.case_names", gv.strs(names));
    expect(() => assembleModel(sourceOf(b))).toThrow(/kernel.ctrm.cases has shape/);
  });
});
