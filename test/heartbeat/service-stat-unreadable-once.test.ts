// A service whose /proc/<pid>/stat cannot be read in one sample, its process the same: the next CPU reading covers both intervals.
import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HwFlag, hwIndex } from "../../src/hw/hw-mmio-layout.ts";
import { ProcSampler } from "../../src/heartbeat/proc-sampler.ts";

const val = (v: Float64Array, name: string) => v[hwIndex(name)]!;
const round = (xs: number[]) => xs.map((x) => Math.round(x * 100) / 100);
/** /proc/<pid>/stat with `ticks` of user time (field 14) and 256 pages of RSS. */
const pidStat = (pid: number, ticks: number) => `${pid} (spin) R 1 ${pid} ${pid} 0 -1 4194560 0 0 0 0 ${ticks} 0 0 0 20 0 1 0 100 1000000 256 18446744073709551615\n`;

test("a service's /proc/<pid>/stat unreadable in one sample (its pid unchanged) made the next svc.0.cpu read 2 cores for a process using 1: two intervals' ticks divided by one interval", () => {
  const proc = mkdtempSync(join(tmpdir(), "vb-svc-stat-once-"));
  try {
    mkdirSync(join(proc, "42"));
    writeFileSync(join(proc, "stat"), "cpu  1000 0 0 1000 0 0 0 0\ncpu0 1000 0 0 1000 0 0 0 0\n");
    const s = new ProcSampler({ procRoot: proc, sysRoot: proc, smoothingMs: 0 });
    s.setServices([{ name: "spin", pid: 42, state: "running", restarts: 0, throttled: false }]);
    const cpu: number[] = [];
    const missing: boolean[] = [];
    const rss: number[] = [];
    // A sample every 100 ms; the process uses one full core (10 ticks of 10 ms per 100 ms); its stat cannot be read at sample 2.
    for (let i = 0; i < 6; i++) {
      if (i === 2) rmSync(join(proc, "42", "stat"), { force: true });
      else writeFileSync(join(proc, "42", "stat"), pidStat(42, i * 10));
      const v = s.sample(i * 100);
      cpu.push(val(v, "svc.0.cpu"));
      missing.push((val(v, "flags") & HwFlag.servicePidMissing) !== 0);
      rss.push(val(v, "svc.0.rss_mib"));
    }
    expect(missing).toEqual([false, false, true, false, false, false]);
    // The missing sample reads 0 (the defined value); the next one is the process's CPU over both intervals: 1 core, not 2.
    expect(round(cpu)).toEqual([0, 1, 0, 1, 1, 1]);
    expect(rss).toEqual([1, 1, 0, 1, 1, 1]);
  } finally {
    rmSync(proc, { recursive: true, force: true });
  }
});
