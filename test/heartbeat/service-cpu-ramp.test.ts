// A service's smoothed CPU starts from its first measured value, as cpu.total does, not from a 0 fed for its new process.
import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hwIndex } from "../../src/hw/hw-mmio-layout.ts";
import { ProcSampler } from "../../src/heartbeat/proc-sampler.ts";

const val = (v: Float64Array, name: string) => v[hwIndex(name)]!;
const round = (xs: number[]) => xs.map((x) => Math.round(x * 100) / 100);
/** /proc/<pid>/stat with `ticks` of user time (field 14). */
const pidStat = (pid: number, ticks: number) => `${pid} (spin) R 1 ${pid} ${pid} 0 -1 4194560 0 0 0 0 ${ticks} 0 0 0 20 0 1 0 100 1000000 256 18446744073709551615\n`;
/** /proc/stat of one CPU with `busy` user ticks and `idle` idle ticks. */
const stat = (busy: number, idle: number) => `cpu  ${busy} 0 0 ${idle} 0 0 0 0\ncpu0 ${busy} 0 0 ${idle} 0 0 0 0\n`;

test("a service using one full core read svc.0.cpu 0, 0.33, 0.55, 0.70, 0.80, 0.86 (smoothing 250 ms, a sample every 100 ms) at its first process and after every restart: its integrator was fed a 0 for the new process, while cpu.total reads 1.0 at its first change", () => {
  const proc = mkdtempSync(join(tmpdir(), "vb-svc-ramp-"));
  try {
    const s = new ProcSampler({ procRoot: proc, sysRoot: proc, smoothingMs: 250 });
    const cpu: number[] = [];
    const total: number[] = [];
    // One core, busy all the time; the service's process uses all of it (10 ticks of 10 ms per 100 ms).
    let t = 0;
    let ticks = 0;
    const run = (pid: number, samples: number) => {
      mkdirSync(join(proc, String(pid)), { recursive: true });
      s.setServices([{ name: "spin", pid, state: "running", restarts: pid === 42 ? 0 : 1, throttled: false }]);
      for (let i = 0; i < samples; i++, t += 100) {
        writeFileSync(join(proc, String(pid), "stat"), pidStat(pid, i * 10));
        writeFileSync(join(proc, "stat"), stat(1000 + (ticks += 10), 500));
        const v = s.sample(t);
        cpu.push(val(v, "svc.0.cpu"));
        total.push(val(v, "cpu.total"));
      }
    };
    run(42, 6);
    run(43, 6); // restarted: a new process, from its first tick
    // The first sample of each process has no difference yet (0); the first measured one starts the integrator.
    expect(round(total)).toEqual([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(round(cpu)).toEqual([0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1]);
  } finally {
    rmSync(proc, { recursive: true, force: true });
  }
});

test("a service's CPU smoothing, once its first measured value started it, still smooths: from 1 core to none it decays by e^-0.4 per 100 ms, not straight to 0", () => {
  const proc = mkdtempSync(join(tmpdir(), "vb-svc-ramp-"));
  try {
    mkdirSync(join(proc, "42"));
    const s = new ProcSampler({ procRoot: proc, sysRoot: proc, smoothingMs: 250 });
    s.setServices([{ name: "spin", pid: 42, state: "running", restarts: 0, throttled: false }]);
    const cpu: number[] = [];
    for (const [t, ticks] of [[0, 0], [100, 10], [200, 20], [300, 20], [400, 20]] as const) {
      writeFileSync(join(proc, "42/stat"), pidStat(42, ticks));
      cpu.push(val(s.sample(t), "svc.0.cpu"));
    }
    const a = Math.exp(-100 / 250);
    expect(cpu[0]).toBe(0);
    expect(cpu[1]).toBeCloseTo(1, 9);
    expect(cpu[2]).toBeCloseTo(1, 9);
    expect(cpu[3]).toBeCloseTo(a, 9);
    expect(cpu[4]).toBeCloseTo(a * a, 9);
  } finally {
    rmSync(proc, { recursive: true, force: true });
  }
});
