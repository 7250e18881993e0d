// hw.mmio sampling: real /proc, a fake /proc without PSI or thermal zones (flags, defined values), layout checks.
import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { HW_MMIO_FIELDS, HwFlag, hwIndex, hwMmioFields } from "../../src/hw/hw-mmio-layout.ts";
import { createHwMmioBuffer, HwMmioReader, HwMmioWriter } from "../../src/heartbeat/hw-mmio-buffer.ts";
import { ProcSampler } from "../../src/heartbeat/proc-sampler.ts";
import { defaultCortexInputs } from "../../src/neural/default-cortex.ts";

const val = (v: Float64Array, name: string) => v[hwIndex(name)]!;

function fakeRoot(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "vb-hw-"));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, ".."), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return dir;
}

const meminfo = "MemTotal:        1048576 kB\nMemFree:          100000 kB\nMemAvailable:     262144 kB\nDirty:             10240 kB\nSwapTotal:        524288 kB\nSwapFree:         393216 kB\n";
const stat1 = "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 50 0 50 400 0 0 0 0 0 0\ncpu1 50 0 50 400 0 0 0 0 0 0\nprocs_running 3\nprocs_blocked 1\n";
const stat2 = "cpu  200 0 200 1400 100 0 0 100 0 0\ncpu0 150 0 150 500 0 0 0 0 0 0\ncpu1 50 0 50 900 100 0 0 100 0 0\nprocs_running 2\nprocs_blocked 0\n";

test("without PSI, thermal zones, disk and network files sampling works: flags set, fields read their defined values", () => {
  const proc = fakeRoot({ stat: stat1, meminfo, loadavg: "1.50 1.00 0.50 2/100 999\n", "1/stat": "1 (init) S 0 1 1 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 1 1000 100", "2/stat": "2 (a b) c) Z 1 2 2 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0" });
  const sys = fakeRoot({ "class/other/x": "" });
  try {
    const s = new ProcSampler({ procRoot: proc, sysRoot: sys, smoothingMs: 0 });
    const v = s.sample(1000);
    const flags = val(v, "flags");
    for (const f of [HwFlag.psiMissing, HwFlag.thermalMissing, HwFlag.diskMissing, HwFlag.netMissing, HwFlag.firstSample]) expect(flags & f).toBe(f);
    for (const f of [HwFlag.cpuMissing, HwFlag.memMissing, HwFlag.loadMissing, HwFlag.procsMissing]) expect(flags & f).toBe(0);
    expect(val(v, "psi.available")).toBe(0);
    expect(val(v, "psi.memory.some_avg10")).toBe(0);
    expect(val(v, "thermal.available")).toBe(0);
    expect(val(v, "thermal.max_c")).toBe(0);
    expect(val(v, "mem.total_mib")).toBe(1024);
    expect(val(v, "mem.used_frac")).toBeCloseTo(0.75, 9);
    expect(val(v, "mem.dirty_mib")).toBe(10);
    expect(val(v, "swap.used_frac")).toBeCloseTo(0.25, 9);
    expect(val(v, "load.avg1_per_cpu")).toBeCloseTo(0.75, 9);
    expect(val(v, "procs.total")).toBe(2);
    expect(val(v, "procs.zombies")).toBe(1); // command name with spaces and ')' parsed from the last ')'
    expect(val(v, "procs.blocked")).toBe(1);
    for (let i = 0; i < HW_MMIO_FIELDS; i++) expect(Number.isFinite(v[i]!)).toBe(true);
    // Second sample: CPU fractions from the counter deltas (no smoothing): 200 busy of 1000 ticks.
    writeFileSync(join(proc, "stat"), stat2);
    const w = s.sample(1100);
    expect(val(w, "flags") & HwFlag.firstSample).toBe(0);
    expect(val(w, "cpu.total")).toBeCloseTo(200 / 1000, 9);
    expect(val(w, "cpu.iowait")).toBeCloseTo(100 / 1000, 9);
    expect(val(w, "cpu.steal")).toBeCloseTo(100 / 1000, 9);
    expect(val(w, "cpu.0")).toBeCloseTo(200 / 300, 9);
    expect(val(w, "cpu.1")).toBeCloseTo(0, 9);
    expect(val(w, "cpu.count")).toBe(2);
  } finally {
    rmSync(proc, { recursive: true });
    rmSync(sys, { recursive: true });
  }
});

test("PSI, thermal zones, disk and network sources are parsed into fractions, degrees and MiB/s", () => {
  const psi = (some: number, full: number) => `some avg10=${some} avg60=1.00 avg300=0.00 total=1\nfull avg10=${full} avg60=0.00 avg300=0.00 total=1\n`;
  const disk = (r: number, w: number) => `   8       0 sda 1 0 ${r} 0 1 0 ${w} 0 0 0 0\n   8       1 sda1 1 0 ${r} 0 1 0 ${w} 0 0 0 0\n   7       0 loop0 1 0 999999 0 1 0 999999 0 0 0 0\n`;
  const net = (rx: number, tx: number) => `Inter-|   Receive |  Transmit\n face |bytes packets|bytes\n    lo: 999999 1 0 0 0 0 0 0 999999 1 0 0 0 0 0 0\n  eth0: ${rx} 1 0 0 0 0 0 0 ${tx} 1 0 0 0 0 0 0\n`;
  const proc = fakeRoot({ stat: stat1, meminfo, loadavg: "0 0 0 1/1 1\n", "pressure/cpu": "some avg10=50.00 avg60=10.00 avg300=0.00 total=1\n", "pressure/memory": psi(20, 5), "pressure/io": psi(30, 10), diskstats: disk(0, 0), "net/dev": net(0, 0) });
  const sys = fakeRoot({ "class/thermal/thermal_zone0/temp": "45000\n", "class/thermal/thermal_zone1/temp": "91500\n", "class/thermal/cooling_device0/type": "fan\n" });
  try {
    const s = new ProcSampler({ procRoot: proc, sysRoot: sys, smoothingMs: 0 });
    s.sample(0);
    writeFileSync(join(proc, "diskstats"), disk(2048 * 10, 2048 * 5)); // sectors: 10 MiB read, 5 MiB written
    writeFileSync(join(proc, "net/dev"), net(2 * 1048576, 1048576));
    const v = s.sample(500);
    expect(val(v, "flags") & (HwFlag.psiMissing | HwFlag.thermalMissing | HwFlag.diskMissing | HwFlag.netMissing)).toBe(0);
    expect(val(v, "psi.available")).toBe(1);
    expect(val(v, "psi.cpu.some_avg10")).toBeCloseTo(0.5, 9);
    expect(val(v, "psi.cpu.some_avg60")).toBeCloseTo(0.1, 9);
    expect(val(v, "psi.memory.some_avg10")).toBeCloseTo(0.2, 9);
    expect(val(v, "psi.memory.full_avg10")).toBeCloseTo(0.05, 9);
    expect(val(v, "psi.io.full_avg10")).toBeCloseTo(0.1, 9);
    expect(val(v, "thermal.available")).toBe(1);
    expect(val(v, "thermal.zones")).toBe(2);
    expect(val(v, "thermal.0")).toBe(45);
    expect(val(v, "thermal.max_c")).toBe(91.5);
    expect(val(v, "disk.read_mib_s")).toBeCloseTo(20, 9); // partitions and loop devices not counted twice
    expect(val(v, "disk.write_mib_s")).toBeCloseTo(10, 9);
    expect(val(v, "net.rx_mib_s")).toBeCloseTo(4, 9); // loopback excluded
    expect(val(v, "net.tx_mib_s")).toBeCloseTo(2, 9);
  } finally {
    rmSync(proc, { recursive: true });
    rmSync(sys, { recursive: true });
  }
});

test("the real /proc gives CPU, memory, load and process counts, and a service's RSS and CPU", async () => {
  const s = new ProcSampler({ smoothingMs: 0 });
  s.setServices([{ name: "self", pid: process.pid, state: "running", restarts: 2, throttled: false }, { name: "gone", pid: null, state: "failed", restarts: 5, throttled: false }]);
  const t0 = performance.now();
  const u0 = process.cpuUsage();
  s.sample(t0);
  const end = t0 + 300;
  while (performance.now() < end) {} // burn CPU in this (the "service") process
  const t1 = performance.now();
  const used = process.cpuUsage(u0);
  const v = s.sample(t1);
  // What the process really used in that interval (however much CPU a loaded host gave it), in cores.
  const cores = (used.user + used.system) / 1000 / (t1 - t0);
  const flags = val(v, "flags");
  expect(flags & (HwFlag.cpuMissing | HwFlag.memMissing | HwFlag.loadMissing | HwFlag.procsMissing | HwFlag.firstSample)).toBe(0);
  expect(val(v, "cpu.count")).toBe(cpus().length);
  expect(val(v, "mem.total_mib")).toBeGreaterThan(0);
  expect(val(v, "procs.total")).toBeGreaterThan(1);
  expect(val(v, "svc.0.running")).toBe(1);
  expect(val(v, "svc.0.rss_mib")).toBeGreaterThan(1);
  expect(cores).toBeGreaterThan(0.05);
  expect(Math.abs(val(v, "svc.0.cpu") - cores)).toBeLessThan(0.1); // /proc/<pid>/stat counts 10 ms ticks
  expect(val(v, "svc.0.restarts")).toBe(2);
  expect(val(v, "svc.1.running")).toBe(0);
  expect(val(v, "services.total")).toBe(2);
  expect(val(v, "services.failed")).toBe(1);
  expect(val(v, "services.restarts")).toBe(7);
});

test("every input of the default model is an hw.mmio field with the same unit and limits", () => {
  for (const c of defaultCortexInputs) {
    if (c.name.startsWith("reserved.")) continue;
    const i = hwIndex(c.name);
    expect(i, c.name).toBeGreaterThanOrEqual(0);
    expect({ name: c.name, unit: hwMmioFields[i]!.unit, min: hwMmioFields[i]!.min, max: hwMmioFields[i]!.max }).toEqual({ name: c.name, unit: c.unit, min: c.min, max: c.max });
  }
});

test("the seqlock buffer hands the reader the writer's sample, and a new writer closes a seqlock left odd by a dead one", () => {
  const sab = createHwMmioBuffer();
  const w = new HwMmioWriter(sab);
  const r = new HwMmioReader(sab);
  const values = Float64Array.from({ length: HW_MMIO_FIELDS }, (_, i) => i * 1.5);
  w.publish(values, 42);
  expect(r.read()).toBe(true);
  expect([...r.values]).toEqual([...values]);
  expect(r.sampleMs).toBe(42);
  Atomics.add(new Int32Array(sab, 0, 1), 0, 1); // a writer died mid-sample
  expect(r.read()).toBe(false);
  expect(r.torn).toBe(1);
  new HwMmioWriter(sab);
  expect(r.read()).toBe(true);
  expect(r.generation).toBe(2);
});

test("a worker that died inside a publish left its half-written sample behind the seqlock the next writer closed: the beat read it as a consistent measurement; it is marked a first sample (not measured) until the new worker publishes", () => {
  const sab = createHwMmioBuffer();
  const w = new HwMmioWriter(sab);
  const r = new HwMmioReader(sab);
  w.publish(new Float64Array(HW_MMIO_FIELDS), 1);
  expect(r.read()).toBe(true);
  expect(r.measured).toBe(true);
  // The dying writer: the seqlock opened, part of a new vector written (its flags say a measurement).
  Atomics.add(new Int32Array(sab, 0, 1), 0, 1);
  const f64 = new Float64Array(sab, 16 * 4, 1 + HW_MMIO_FIELDS);
  f64.fill(7e9, 1, 1 + HW_MMIO_FIELDS / 2);
  f64[1 + hwIndex("flags")] = 0;
  new HwMmioWriter(sab);
  expect(r.read()).toBe(true);
  expect(r.measured).toBe(false);
  expect(r.values[hwIndex("flags")]! & HwFlag.firstSample).toBe(HwFlag.firstSample);
});

test("a service whose work runs in its children (an idle master, a shell waiting for its busy child) read 0 CPU from its main process's ticks, so top_cpu found no busy service; its own cgroup's cpu.stat counts the whole service", () => {
  const pidStat = (ticks: number) => `42 (master) S 1 42 42 0 -1 4194560 0 0 0 0 ${ticks} 0 0 0 20 0 1 0 100 1000000 256 18446744073709551615\n`;
  const root = fakeRoot({
    stat: stat1,
    meminfo,
    "self/cgroup": "0::/init.scope\n",
    "42/stat": pidStat(5),
    "42/cgroup": "0::/services/web\n",
    "43/stat": pidStat(5),
    "43/cgroup": "0::/init.scope\n", // in the init's own cgroup: its process's ticks, as before
  });
  const sys = fakeRoot({ "fs/cgroup/services/web/cpu.stat": "usage_usec 1000000\nuser_usec 900000\nsystem_usec 100000\n" });
  try {
    const s = new ProcSampler({ procRoot: root, sysRoot: sys, smoothingMs: 0 });
    s.setServices([
      { name: "web", pid: 42, state: "running", restarts: 0, throttled: false },
      { name: "plain", pid: 43, state: "running", restarts: 0, throttled: false },
    ]);
    s.sample(1000);
    // One second later: the master's own ticks did not move, its workers used 1.5 s of CPU (1.5 cores); "plain" used 0.5 s itself.
    writeFileSync(join(sys, "fs/cgroup/services/web/cpu.stat"), "usage_usec 2500000\nuser_usec 2300000\nsystem_usec 200000\n");
    writeFileSync(join(root, "43/stat"), pidStat(55));
    const v = s.sample(2000);
    expect(val(v, "svc.0.cpu")).toBeCloseTo(1.5, 6);
    expect(val(v, "svc.1.cpu")).toBeCloseTo(0.5, 6);
  } finally {
    rmSync(root, { recursive: true });
    rmSync(sys, { recursive: true });
  }
});

test("every sample read every /proc/PID/stat (87 % of a sample's CPU): with procsEveryMs the scan runs once per interval, and a new zombie shows at the next one", () => {
  const pid = (n: number, state: string) => `${n} (p${n}) ${state} 1 ${n} ${n} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0`;
  const proc = fakeRoot({ stat: stat1, meminfo, loadavg: "0 0 0 1/1 1\n", "1/stat": pid(1, "S"), "2/stat": pid(2, "S"), "3/stat": pid(3, "R") });
  const sys = fakeRoot({});
  try {
    const every = new ProcSampler({ procRoot: proc, sysRoot: sys, smoothingMs: 0 });
    const spaced = new ProcSampler({ procRoot: proc, sysRoot: sys, smoothingMs: 0, procsEveryMs: 1000 });
    every.sample(0);
    const first = every.filesRead;
    spaced.sample(0);
    expect(spaced.filesRead).toBe(first);
    expect(val(spaced.values, "procs.total")).toBe(3);
    writeFileSync(join(proc, "2/stat"), pid(2, "Z"));
    // 100 ms later: the other sources are read again, the three stat files are not.
    every.sample(100);
    spaced.sample(100);
    expect(every.filesRead).toBe(first);
    expect(spaced.filesRead).toBe(first - 3);
    expect(val(every.values, "procs.zombies")).toBe(1);
    expect(val(spaced.values, "procs.zombies")).toBe(0);
    expect(val(spaced.values, "procs.total")).toBe(3);
    // Once the interval has passed, the next sample scans again.
    spaced.sample(1000);
    expect(spaced.filesRead).toBe(first);
    expect(val(spaced.values, "procs.zombies")).toBe(1);
  } finally {
    rmSync(proc, { recursive: true });
    rmSync(sys, { recursive: true });
  }
});
