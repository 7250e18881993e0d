// A /proc file that cannot be read in a sample: its fields read 0 with their flag, and count afresh once it is back.
import { afterEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HwFlag, hwIndex } from "../../src/hw/hw-mmio-layout.ts";
import { ProcSampler } from "../../src/heartbeat/proc-sampler.ts";

const val = (v: Float64Array, name: string) => v[hwIndex(name)]!;
const round = (xs: number[]) => xs.map((x) => Math.round(x * 100) / 100);
const MiB = 1048576;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fakeProc(): string {
  const dir = mkdtempSync(join(tmpdir(), "vb-unreadable-"));
  dirs.push(dir);
  mkdirSync(join(dir, "net"));
  writeFileSync(join(dir, "loadavg"), "4.00 4.00 4.00 2/100 1\n");
  return dir;
}

/** /proc/stat of 4 CPUs, every one busy for `busy` ticks and idle for 100. */
const procStat = (busy: number) => {
  let text = `cpu  ${4 * busy} 0 0 400 0 0 0 0 0 0\n`;
  for (let c = 0; c < 4; c++) text += `cpu${c} ${busy} 0 0 100 0 0 0 0 0 0\n`;
  return `${text}procs_running 3\nprocs_blocked 1\n`;
};
const diskstats = (sectorsRead: number, sectorsWritten: number) => `   8       0 sda 1 0 ${sectorsRead} 0 1 0 ${sectorsWritten} 0 0 0 0\n`;
const netDev = (rx: number, tx: number) => `Inter-|   Receive |  Transmit\n face |bytes    packets|bytes    packets\n  eth0: ${rx} 1 0 0 0 0 0 0 ${tx} 1 0 0 0 0 0 0\n`;

/** Samples every second; `write(i)` writes (or removes) the files before sample i. */
function run(proc: string, samples: number, write: (i: number) => void): Float64Array[] {
  const s = new ProcSampler({ procRoot: proc, sysRoot: proc, smoothingMs: 250 });
  const out: Float64Array[] = [];
  for (let i = 0; i < samples; i++) {
    write(i);
    out.push(Float64Array.from(s.sample(i * 1000)));
  }
  return out;
}

test("/proc/stat unreadable for two samples kept cpu.total and cpu.0 at their last reading (1.0) with cpuMissing set, and load.avg1_per_cpu read the load divided by 1 (4.0 on 4 CPUs loaded 1.0 each)", () => {
  const proc = fakeProc();
  let busy = 1000;
  const seen = run(proc, 6, (i) => {
    busy += 100; // busy for the whole second: 1.0
    if (i === 2 || i === 3) rmSync(join(proc, "stat"), { force: true });
    else writeFileSync(join(proc, "stat"), procStat(busy));
  });
  expect(seen.map((v) => (val(v, "flags") & HwFlag.cpuMissing) !== 0)).toEqual([false, false, true, true, false, false]);
  // Missing: 0. Back: 0 on its first reading (no previous one), then measured (1.0, not smoothed from a stale value).
  expect(round(seen.map((v) => val(v, "cpu.total")))).toEqual([0, 1, 0, 0, 0, 1]);
  expect(round(seen.map((v) => val(v, "cpu.0")))).toEqual([0, 1, 0, 0, 0, 1]);
  expect(seen.map((v) => val(v, "cpu.count"))).toEqual([4, 4, 0, 0, 4, 4]);
  expect(seen.map((v) => val(v, "procs.running"))).toEqual([3, 3, 0, 0, 3, 3]);
  // The number of CPUs is unknown while /proc/stat is: load per CPU reads 0, not load / 1.
  expect(seen.map((v) => val(v, "load.avg1_per_cpu"))).toEqual([1, 1, 0, 0, 1, 1]);
  expect(seen.map((v) => val(v, "load.avg1"))).toEqual([4, 4, 4, 4, 4, 4]);
});

test("/proc/diskstats unreadable for two samples kept disk.read_mib_s at its last reading (10 MiB/s) with diskMissing set", () => {
  const proc = fakeProc();
  let r = 0;
  const seen = run(proc, 6, (i) => {
    r += 10 * 2048; // 10 MiB read each second
    if (i === 2 || i === 3) rmSync(join(proc, "diskstats"), { force: true });
    else writeFileSync(join(proc, "diskstats"), diskstats(r, r / 2));
  });
  expect(seen.map((v) => (val(v, "flags") & HwFlag.diskMissing) !== 0)).toEqual([false, false, true, true, false, false]);
  expect(round(seen.map((v) => val(v, "disk.read_mib_s")))).toEqual([0, 10, 0, 0, 0, 10]);
  expect(round(seen.map((v) => val(v, "disk.write_mib_s")))).toEqual([0, 5, 0, 0, 0, 5]);
});

test("/proc/net/dev unreadable for two samples kept net.rx_mib_s at its last reading with netMissing set", () => {
  const proc = fakeProc();
  let b = 0;
  const seen = run(proc, 6, (i) => {
    b += 4 * MiB; // 4 MiB received and sent each second
    if (i === 2 || i === 3) rmSync(join(proc, "net/dev"), { force: true });
    else writeFileSync(join(proc, "net/dev"), netDev(b, b / 2));
  });
  expect(seen.map((v) => (val(v, "flags") & HwFlag.netMissing) !== 0)).toEqual([false, false, true, true, false, false]);
  expect(round(seen.map((v) => val(v, "net.rx_mib_s")))).toEqual([0, 4, 0, 0, 0, 4]);
  expect(round(seen.map((v) => val(v, "net.tx_mib_s")))).toEqual([0, 2, 0, 0, 0, 2]);
});
