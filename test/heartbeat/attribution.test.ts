// Which inputs caused an interrupt: the score drop of each input alone was 0 for every one of two inputs that each saturate the score, so the causes were arbitrary.
import { expect, test } from "bun:test";
import { CortexBinding, type CortexModel } from "../../src/heartbeat/cortex-adapter.ts";
import { HW_MMIO_FIELDS, hwIndex } from "../../src/hw/hw-mmio-layout.ts";

test("two memory inputs that each saturate the score (PSI memory some and full at 1.0) got weight 0 each, and the causes listed CPU inputs, so a memory interrupt acted on top_cpu; both now lead the causes", () => {
  const layout = ["cpu.total", "load.avg1_per_cpu", "psi.memory.some_avg10", "psi.memory.full_avg10"];
  // A saturating head: score = min(1, 0.1 * cpu + 0.1 * load + 2 * (some + full)).
  const model: CortexModel = {
    cortexInputLayout: () => layout,
    kernelParameters: () => ({ outputNames: ["memory_pressure"], thresholds: Float32Array.of(0.5), hysteresis: Float32Array.of(0.1) }),
    runCortex: (x) => Float32Array.of(Math.min(1, 0.1 * x[0]! + 0.1 * x[1]! + 2 * (x[2]! + x[3]!))),
  };
  const b = new CortexBinding(model);
  const values = new Float64Array(HW_MMIO_FIELDS);
  const set = (name: string, v: number) => void (values[hwIndex(name)] = v);
  set("cpu.total", 0.6);
  set("load.avg1_per_cpu", 0.7);
  set("psi.memory.some_avg10", 1);
  set("psi.memory.full_avg10", 1);
  expect(b.run(values)[0]).toBe(1);
  const causes = b.attribute(0, 2).map((c) => c.input).sort();
  expect(causes).toEqual(["psi.memory.full_avg10", "psi.memory.some_avg10"]);
});
