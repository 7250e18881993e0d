// A CPU taken offline drops out of /proc/stat (only online CPUs have a cpuN line): its slot must not keep its last value.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hwIndex } from "../../src/hw/hw-mmio-layout.ts";
import { ProcSampler } from "../../src/heartbeat/proc-sampler.ts";

const val = (v: Float64Array, name: string) => v[hwIndex(name)]!;
const round = (xs: number[]) => xs.map((x) => Math.round(x * 100) / 100);

/** Per-CPU busy and idle ticks; /proc/stat as the kernel prints it: the `cpu` line sums every CPU, offline ones too; a `cpuN` line per online CPU. */
function procStat(busy: number[], idle: number[], online: boolean[]): string {
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  let text = `cpu  ${sum(busy)} 0 0 ${sum(idle)} 0 0 0 0 0 0\n`;
  busy.forEach((b, c) => {
    if (online[c]) text += `cpu${c} ${b} 0 0 ${idle[c]} 0 0 0 0 0 0\n`;
  });
  return `${text}intr 0\nctxt 0\nprocs_running 1\nprocs_blocked 0\n`;
}

test("CPU 1 taken offline (echo 0 > /sys/devices/system/cpu/cpu1/online) kept cpu.1 at its last value (1.0) for as long as it was offline, and cpu.count read 3 with 2 CPUs online (load per CPU divided by 3)", () => {
  const proc = mkdtempSync(join(tmpdir(), "vb-offline-cpu-"));
  try {
    writeFileSync(join(proc, "loadavg"), "2.00 2.00 2.00 2/100 1\n");
    const s = new ProcSampler({ procRoot: proc, sysRoot: proc, smoothingMs: 250 });
    const busy = [1000, 1000, 1000];
    const idle = [100, 100, 100];
    const seen = { cpu1: [] as number[], cpu2: [] as number[], count: [] as number[], loadPerCpu: [] as number[] };
    // Every 100 ms each online CPU counts 10 ticks: busy, except CPU 1 once it is back online (idle then).
    const steps: { online: boolean[]; cpu1Idle?: boolean }[] = [
      { online: [true, true, true] },
      { online: [true, true, true] },
      { online: [true, false, true] }, // CPU 1 offline: its line is gone, its counters frozen
      { online: [true, false, true] },
      { online: [true, true, true], cpu1Idle: true }, // back online, idle
      { online: [true, true, true], cpu1Idle: true },
      { online: [true, true, false], cpu1Idle: true }, // the highest CPU offline
    ];
    steps.forEach((st, i) => {
      for (let c = 0; c < 3; c++) {
        if (i === 0 || !st.online[c]) continue;
        if (c === 1 && st.cpu1Idle) idle[c]! += 10;
        else busy[c]! += 10;
      }
      writeFileSync(join(proc, "stat"), procStat(busy, idle, st.online));
      const v = s.sample(i * 100);
      seen.cpu1.push(val(v, "cpu.1"));
      seen.cpu2.push(val(v, "cpu.2"));
      seen.count.push(val(v, "cpu.count"));
      seen.loadPerCpu.push(val(v, "load.avg1_per_cpu"));
    });
    expect(seen.count).toEqual([3, 3, 2, 2, 3, 3, 2]);
    // Offline: 0. Back online: 0 until it has two readings, then its first measured value starts the smoothing (idle: 0, not a decay from 1.0).
    expect(round(seen.cpu1)).toEqual([0, 1, 0, 0, 0, 0, 0]);
    expect(round(seen.cpu2)).toEqual([0, 1, 1, 1, 1, 1, 0]);
    expect(round(seen.loadPerCpu)).toEqual([0.67, 0.67, 1, 1, 0.67, 0.67, 1]);
  } finally {
    rmSync(proc, { recursive: true, force: true });
  }
});
