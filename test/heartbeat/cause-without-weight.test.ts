// `target: "cause"` took the first svc.N input among the top three causes whatever its weight: an input with no part in the score filled the list, and the restart went to a service that had done nothing.
import { expect, test } from "bun:test";
import { heartbeatConfigSchema } from "../../src/config/heartbeat-schema.ts";
import { CortexBinding } from "../../src/heartbeat/cortex-adapter.ts";
import { InterruptDispatcher } from "../../src/heartbeat/interrupt-dispatch.ts";
import type { MetabolicDaemon } from "../../src/heartbeat/metabolic-daemon.ts";
import { HW_MMIO_FIELDS, hwIndexOf } from "../../src/hw/hw-mmio-layout.ts";

test("a score made of cpu.total alone, with two running services: the restart goes to the busiest (top_cpu), not to the first service whose zero-weight input filled the causes", async () => {
  const layout = ["cpu.total", "svc.0.running", "svc.1.running", "svc.0.cpu", "svc.1.cpu"];
  // cpu_pressure = 0.6 * cpu.total: no svc.* input has any weight in it.
  const model = {
    cortexInputLayout: () => layout,
    kernelParameters: () => ({ outputNames: ["cpu_pressure"], thresholds: Float32Array.of(0.5), hysteresis: Float32Array.of(0.1) }),
    runCortex: (x: Float32Array) => Float32Array.of(0.6 * x[0]!),
  };
  const binding = new CortexBinding(model as unknown as ConstructorParameters<typeof CortexBinding>[0]);
  const cfg = heartbeatConfigSchema.parse({ watchdog: false, interrupts: { cpu_pressure: { action: "restart", target: "cause" } } });
  const restarted: string[] = [];
  const services = { list: () => [], restart: (n: string) => void restarted.push(n), stop: () => {} };
  const metabolic = { unthrottle() {}, isThrottled: () => false, throttledPid: () => null, throttledGroups: () => [] } as unknown as MetabolicDaemon;
  const d = new InterruptDispatcher(binding, cfg, metabolic, services as never, null);
  const v = new Float64Array(HW_MMIO_FIELDS);
  v[hwIndexOf("cpu.total")] = 0.99;
  v[hwIndexOf("svc.0.running")] = 1;
  v[hwIndexOf("svc.1.running")] = 1;
  v[hwIndexOf("svc.0.cpu")] = 0.01;
  v[hwIndexOf("svc.1.cpu")] = 1.9;
  const scores = binding.run(v);
  // The causes list does hold the zero-weight service inputs (what the old code took).
  expect(binding.attribute(0).some((c) => c.input.startsWith("svc.") && c.weight === 0)).toBe(true);
  const list = [
    { name: "idle-db", pid: 100, state: "running", restarts: 0 },
    { name: "hog", pid: 200, state: "running", restarts: 0 },
  ];
  d.onEdges([{ index: 0, name: "cpu_pressure", kind: "raised", score: scores[0]! }], v, list as never, 0);
  await Bun.sleep(10);
  expect(restarted).toEqual(["hog"]);
});
