// /proc/stat counters that go backwards (the kernel documents it for iowait) must not make CPU fractions leave 0..1.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hwIndex } from "../../src/hw/hw-mmio-layout.ts";
import { ProcSampler } from "../../src/heartbeat/proc-sampler.ts";

const val = (v: Float64Array, name: string) => v[hwIndex(name)]!;
// user nice system idle iowait irq softirq steal
const line = (id: string, user: number, idle: number, iowait: number) => `${id} ${user} 0 100 ${idle} ${iowait} 0 0 0\n`;
const stat = (user: number, idle: number, iowait: number) => line("cpu ", user, idle, iowait) + line("cpu0", user, idle, iowait);

test("an iowait counter that went backwards (proc(5): 'the value in this field may decrease') made a CPU 30/80 busy read cpu.total 1.0 and cpu.iowait -1.67", () => {
  const proc = mkdtempSync(join(tmpdir(), "vb-iowait-"));
  try {
    writeFileSync(join(proc, "stat"), stat(100, 800, 200));
    const s = new ProcSampler({ procRoot: proc, sysRoot: proc, smoothingMs: 0 });
    s.sample(0);
    // 80 ticks went by: 30 busy, 50 idle; 50 ticks once counted as iowait are no longer counted there.
    writeFileSync(join(proc, "stat"), stat(130, 850, 150));
    const v = s.sample(800);
    const cpu = { total: val(v, "cpu.total"), core0: val(v, "cpu.0"), iowait: val(v, "cpu.iowait") };
    expect(cpu.total).toBeCloseTo(30 / 80, 9);
    expect(cpu.core0).toBeCloseTo(30 / 80, 9);
    expect(cpu.iowait).toBe(0);
  } finally {
    rmSync(proc, { recursive: true });
  }
});
