// Samples /proc and /sys into the hw.mmio vector (rates from deltas, smoothed); missing sources set flags.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Integrators } from "./integrator.ts";
import { HW_MMIO_FIELDS, HwFlag, hwIndexOf, THERMAL_SLOTS } from "../hw/hw-mmio-layout.ts";
import type { ServiceSlotInfo } from "./service-control.ts";
import { ServiceSample } from "./service-sample.ts";
import { ProcScan } from "./proc-scan.ts";
import { CpuSample } from "./cpu-sample.ts";
import { bytesMoved, type DeviceCounters, parseDiskstats, parseLoadavg, parseMeminfo, parseNetDev, parseProcStat, parsePsi } from "./proc-parsers.ts";

export interface SamplerOptions {
  /** Root of the proc filesystem (default "/proc"); tests point it at a fake tree. */
  procRoot?: string;
  /** Root of sysfs (default "/sys"), for thermal zones. */
  sysRoot?: string;
  /** Time constant of the first-order smoothing of CPU fractions and rates (ms; 0 = none). */
  smoothingMs?: number;
  /** USER_HZ of /proc/<pid>/stat times (100 on every mainstream Linux architecture). */
  clockTicks?: number;
  pageSize?: number;
  /**
   * The process scan (procs.total, procs.zombies: one read of every /proc/PID/stat, 87 % of a
   * sample's CPU with 76 processes) at most this often (ms); 0 or absent: every sample.
   */
  procsEveryMs?: number;
}

const I = (n: string) => hwIndexOf(n);
const ix = {
  la1pc: I("load.avg1_per_cpu"), la5pc: I("load.avg5_per_cpu"), la1: I("load.avg1"), la5: I("load.avg5"), la15: I("load.avg15"),
  memUsed: I("mem.used_frac"), dirtyFrac: I("mem.dirty_frac"), swapUsed: I("swap.used_frac"),
  memTotal: I("mem.total_mib"), memAvail: I("mem.available_mib"), dirty: I("mem.dirty_mib"), swapTotal: I("swap.total_mib"), swapUsedMib: I("swap.used_mib"),
  psiAvail: I("psi.available"), psiCpu: I("psi.cpu.some_avg10"), psiMem: I("psi.memory.some_avg10"), psiMemFull: I("psi.memory.full_avg10"),
  psiIo: I("psi.io.some_avg10"), psiIoFull: I("psi.io.full_avg10"), psiCpu60: I("psi.cpu.some_avg60"), psiMem60: I("psi.memory.some_avg60"), psiIo60: I("psi.io.some_avg60"),
  diskR: I("disk.read_mib_s"), diskW: I("disk.write_mib_s"), netRx: I("net.rx_mib_s"), netTx: I("net.tx_mib_s"),
  thermAvail: I("thermal.available"), thermMax: I("thermal.max_c"), thermZones: I("thermal.zones"), therm0: I("thermal.0"),
  procs: I("procs.total"), running: I("procs.running"), zombies: I("procs.zombies"), blocked: I("procs.blocked"), flags: I("flags"),
};
const MiB = 1024 * 1024;

export class ProcSampler {
  readonly values = new Float64Array(HW_MMIO_FIELDS);
  private readonly procRoot: string;
  private readonly sysRoot: string;
  private readonly smooth: Integrators;
  private prevMs = -1;
  private readonly cpuSample: CpuSample;
  private prevDisk: DeviceCounters | null = null;
  private prevNet: DeviceCounters | null = null;
  private services: ServiceSlotInfo[] = [];
  /** The svc.* slots and services.* (service CPU smoothed by integrators of its own). */
  private readonly serviceSample: ServiceSample;
  private readonly procScan: ProcScan;
  /** Files read in the last sample (cost accounting). */
  filesRead = 0;

  constructor(opts: SamplerOptions = {}) {
    this.procRoot = opts.procRoot ?? "/proc";
    this.sysRoot = opts.sysRoot ?? "/sys";
    const smoothingMs = opts.smoothingMs ?? 250;
    const read = (f: string) => this.read(f);
    this.procScan = new ProcScan(this.procRoot, opts.procsEveryMs ?? 0, read);
    this.serviceSample = new ServiceSample({ procRoot: this.procRoot, sysRoot: this.sysRoot, clockTicks: opts.clockTicks ?? 100, pageSize: opts.pageSize ?? 4096, smoothingMs, read });
    this.smooth = new Integrators(HW_MMIO_FIELDS, smoothingMs);
    this.cpuSample = new CpuSample(this.smooth);
  }

  setSmoothing(ms: number): void {
    this.smooth.setTau(ms);
    this.serviceSample.setSmoothing(ms);
  }

  setServices(list: ServiceSlotInfo[]): void {
    this.services = list;
  }

  private read(path: string): string | null {
    this.filesRead++;
    try {
      return readFileSync(path, "latin1");
    } catch {
      return null;
    }
  }

  /** Takes one sample at monotonic time `nowMs`; returns `values` (overwritten by the next call). */
  sample(nowMs: number): Float64Array {
    const v = this.values;
    const dt = this.prevMs < 0 ? 0 : nowMs - this.prevMs;
    let flags = this.prevMs < 0 ? HwFlag.firstSample : 0;
    this.filesRead = 0;
    const p = (f: string) => join(this.procRoot, f);

    // CPU.
    const statText = this.read(p("stat"));
    const stat = statText === null ? null : parseProcStat(statText);
    const cpu = this.cpuSample.update(v, stat, dt);
    flags |= cpu.flags;
    // Without /proc/stat the number of CPUs is unknown: what is divided by it reads 0 (it was divided by 1).
    const ncpu = stat?.total ? cpu.online || 1 : Number.POSITIVE_INFINITY;
    v[ix.running] = stat?.procsRunning ?? 0;
    v[ix.blocked] = stat?.procsBlocked ?? 0;

    // Load.
    const la = (() => {
      const t = this.read(p("loadavg"));
      return t === null ? null : parseLoadavg(t);
    })();
    if (!la) flags |= HwFlag.loadMissing;
    [v[ix.la1], v[ix.la5], v[ix.la15]] = la ?? [0, 0, 0];
    v[ix.la1pc] = v[ix.la1]! / ncpu;
    v[ix.la5pc] = v[ix.la5]! / ncpu;

    // Memory.
    const memText = this.read(p("meminfo"));
    const mem = memText === null ? null : parseMeminfo(memText);
    // Without MemAvailable or MemFree nothing says what is free: missing (it read 100 % used and
    // could fire relieve_memory), as without MemTotal.
    const free = mem?.get("MemAvailable") ?? mem?.get("MemFree");
    const total = free === undefined ? 0 : (mem?.get("MemTotal") ?? 0);
    const avail = free ?? 0;
    if (!mem || total <= 0) flags |= HwFlag.memMissing;
    const swapTotal = mem?.get("SwapTotal") ?? 0;
    const swapUsed = Math.max(0, swapTotal - (mem?.get("SwapFree") ?? swapTotal));
    const dirty = mem?.get("Dirty") ?? 0;
    v[ix.memTotal] = total / 1024;
    v[ix.memAvail] = avail / 1024;
    v[ix.dirty] = dirty / 1024;
    v[ix.swapTotal] = swapTotal / 1024;
    v[ix.swapUsedMib] = swapUsed / 1024;
    v[ix.memUsed] = total > 0 ? clamp01(1 - avail / total) : 0;
    v[ix.dirtyFrac] = total > 0 ? clamp01(dirty / total) : 0;
    v[ix.swapUsed] = swapTotal > 0 ? clamp01(swapUsed / swapTotal) : 0;

    // Pressure stall information (CONFIG_PSI; absent on older kernels or with psi=0).
    const psi = (r: string) => {
      const t = this.read(p(`pressure/${r}`));
      return t === null ? null : parsePsi(t);
    };
    const pc = psi("cpu");
    const pm = psi("memory");
    const pi = psi("io");
    if (!pc || !pm || !pi) flags |= HwFlag.psiMissing;
    v[ix.psiAvail] = pc && pm && pi ? 1 : 0;
    v[ix.psiCpu] = pc?.someAvg10 ?? 0;
    v[ix.psiCpu60] = pc?.someAvg60 ?? 0;
    v[ix.psiMem] = pm?.someAvg10 ?? 0;
    v[ix.psiMemFull] = pm?.fullAvg10 ?? 0;
    v[ix.psiMem60] = pm?.someAvg60 ?? 0;
    v[ix.psiIo] = pi?.someAvg10 ?? 0;
    v[ix.psiIoFull] = pi?.fullAvg10 ?? 0;
    v[ix.psiIo60] = pi?.someAvg60 ?? 0;

    // Disk and network rates.
    const dsText = this.read(p("diskstats"));
    const ds = dsText === null ? null : parseDiskstats(dsText);
    if (!ds) flags |= HwFlag.diskMissing;
    this.rates(ds, this.prevDisk, ix.diskR, ix.diskW, dt);
    this.prevDisk = ds;
    const ndText = this.read(p("net/dev"));
    const nd = ndText === null ? null : parseNetDev(ndText);
    if (!nd) flags |= HwFlag.netMissing;
    this.rates(nd, this.prevNet, ix.netRx, ix.netTx, dt);
    this.prevNet = nd;

    flags |= this.sampleThermal();
    // The services before the process scan: their CPU time is divided by the time between two samples'
    // starts, and read after a scan (every procs_ms; 30-80 ms with 5,000 processes) it covered that
    // much more than the interval on that sample and as much less on the next (1.41 / 0.58 cores for one).
    flags |= this.serviceSample.update(v, this.services, dt, ncpu);
    const procs = this.procScan.counts(nowMs);
    v[ix.procs] = procs.total;
    v[ix.zombies] = procs.zombies;
    if (procs.missing) flags |= HwFlag.procsMissing;
    v[ix.flags] = flags;
    this.prevMs = nowMs;
    return v;
  }

  /**
   * Fields `a` and `b` (MiB/s) from two readings of a device file (`cur` null: unreadable). Unreadable
   * or without a previous reading, they read 0 and their smoothing starts afresh: an unreadable file
   * kept its last rates (10 MiB/s for good), and its first rate once back was smoothed from them.
   */
  private rates(cur: DeviceCounters | null, prev: DeviceCounters | null, a: number, b: number, dt: number): void {
    const v = this.values;
    if (!cur || !prev) {
      v[a] = v[b] = 0;
      this.smooth.reset(a);
      this.smooth.reset(b);
      return;
    }
    if (dt <= 0) return;
    const [x, y] = bytesMoved(cur, prev);
    v[a] = this.smooth.step(a, x / MiB / (dt / 1000), dt);
    v[b] = this.smooth.step(b, y / MiB / (dt / 1000), dt);
  }

  private sampleThermal(): number {
    const v = this.values;
    const dir = join(this.sysRoot, "class/thermal");
    let zones: string[] = [];
    try {
      zones = readdirSync(dir).filter((z) => /^thermal_zone\d+$/.test(z)).sort((a, b) => Number(a.slice(12)) - Number(b.slice(12)));
    } catch {
      /* no thermal class */
    }
    // Slot N is thermal_zoneN, 0 while it cannot be read: packed, an unreadable zone moved every later
    // one down a slot, and a zone that failed now and then swapped sensors between samples.
    let max = -Infinity;
    let n = 0;
    let beyond = false;
    for (let i = 0; i < THERMAL_SLOTS; i++) v[ix.therm0 + i] = 0;
    for (const z of zones) {
      const t = this.read(join(dir, z, "temp"));
      const c = t === null ? Number.NaN : Number.parseInt(t, 10) / 1000;
      if (!Number.isFinite(c)) continue;
      const slot = Number(z.slice(12));
      if (slot < THERMAL_SLOTS) v[ix.therm0 + slot] = c;
      else beyond = true;
      n++;
      max = Math.max(max, c);
    }
    v[ix.thermZones] = n;
    v[ix.thermAvail] = n > 0 ? 1 : 0;
    v[ix.thermMax] = n > 0 ? max : 0;
    return (n === 0 ? HwFlag.thermalMissing : 0) | (beyond ? HwFlag.thermalSlotsTruncated : 0);
  }
}

const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);

export type { ServiceSlotInfo };
