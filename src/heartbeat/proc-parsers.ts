// Parsers for the /proc and /sys text files the sampler reads (pure functions, tolerant of missing lines).
import { splitStat, statField } from "../util/proc-stat.ts";

/** CPU time counters of one /proc/stat `cpu` line: [busy, idle, iowait, steal, total] in clock ticks. */
export type CpuTimes = [number, number, number, number, number];

export interface ProcStat {
  /** Aggregate `cpu` line. */
  total: CpuTimes | null;
  /** `cpuN` lines, by N. */
  cores: CpuTimes[];
  procsRunning: number;
  procsBlocked: number;
}

function cpuTimes(parts: string[]): CpuTimes {
  // user nice system idle iowait irq softirq steal (guest fields are already included in user/nice)
  const v = parts.slice(1, 9).map((x) => Number(x) || 0);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return [total - idle - iowait - steal, idle, iowait, steal, total];
}

export function parseProcStat(text: string): ProcStat {
  const out: ProcStat = { total: null, cores: [], procsRunning: 0, procsBlocked: 0 };
  for (const line of text.split("\n")) {
    if (line.startsWith("cpu")) {
      const parts = line.trim().split(/\s+/);
      const id = parts[0]!;
      if (id === "cpu") out.total = cpuTimes(parts);
      else {
        const n = Number(id.slice(3));
        if (Number.isInteger(n) && n >= 0 && n < 4096) out.cores[n] = cpuTimes(parts);
      }
    } else if (line.startsWith("procs_running ")) out.procsRunning = Number(line.slice(14)) || 0;
    else if (line.startsWith("procs_blocked ")) out.procsBlocked = Number(line.slice(14)) || 0;
  }
  return out;
}

/** /proc/meminfo as kB values by key. */
export function parseMeminfo(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split("\n")) {
    const c = line.indexOf(":");
    if (c <= 0) continue;
    const v = Number.parseInt(line.slice(c + 1).trim(), 10);
    if (Number.isFinite(v)) m.set(line.slice(0, c), v);
  }
  return m;
}

/** /proc/loadavg: [avg1, avg5, avg15] or null. */
export function parseLoadavg(text: string): [number, number, number] | null {
  const p = text.trim().split(/\s+/).map(Number);
  if (p.length < 3 || !p.slice(0, 3).every(Number.isFinite)) return null;
  return [p[0]!, p[1]!, p[2]!];
}

export interface Psi {
  someAvg10: number;
  someAvg60: number;
  fullAvg10: number;
}

/** /proc/pressure/<res>: averages as fractions (the kernel prints percent). Missing `full` line reads 0. */
export function parsePsi(text: string): Psi | null {
  const out: Psi = { someAvg10: 0, someAvg60: 0, fullAvg10: 0 };
  let seen = false;
  for (const line of text.split("\n")) {
    const m = /^(some|full)\s+avg10=([\d.]+)\s+avg60=([\d.]+)/.exec(line);
    if (!m) continue;
    seen = true;
    if (m[1] === "some") {
      out.someAvg10 = Number(m[2]) / 100;
      out.someAvg60 = Number(m[3]) / 100;
    } else out.fullAvg10 = Number(m[2]) / 100;
  }
  return seen ? out : null;
}

/** Two byte counters per device (disk: read, written; interface: received, sent), by device name. */
export type DeviceCounters = Map<string, [number, number]>;

/** /proc/diskstats: bytes read and written by each whole disk (partitions, loop and ram devices skipped). */
export function parseDiskstats(text: string): DeviceCounters | null {
  const rows: { name: string; r: number; w: number }[] = [];
  for (const line of text.split("\n")) {
    const p = line.trim().split(/\s+/);
    if (p.length < 10) continue;
    const name = p[2]!;
    if (/^(loop|ram|zram|dm-)/.test(name)) continue;
    rows.push({ name, r: Number(p[5]) || 0, w: Number(p[9]) || 0 });
  }
  const out: DeviceCounters = new Map();
  if (rows.length === 0 && text.trim() === "") return out;
  const names = new Set(rows.map((r) => r.name));
  for (const r of rows) {
    // A partition is a device whose name extends another listed device's (sda1, nvme0n1p1, mmcblk0p1).
    const parent = /^(.*?)(p?\d+)$/.exec(r.name);
    if (parent && names.has(parent[1]!) && parent[1] !== r.name) continue;
    out.set(r.name, [r.r * 512, r.w * 512]);
  }
  return out;
}

/** /proc/net/dev: bytes received and sent by each interface except loopback. */
export function parseNetDev(text: string): DeviceCounters | null {
  const out: DeviceCounters = new Map();
  let seen = false;
  for (const line of text.split("\n")) {
    const c = line.indexOf(":");
    if (c < 0) continue;
    const name = line.slice(0, c).trim();
    const p = line.slice(c + 1).trim().split(/\s+/);
    if (p.length < 9 || name === "") continue;
    seen = true;
    if (name === "lo") continue;
    out.set(name, [Number(p[0]) || 0, Number(p[8]) || 0]);
  }
  return seen ? out : null;
}

/**
 * Bytes moved between two readings, summed over the devices present in both. A device new in `cur`
 * (hot-plugged, a veth or tunnel brought up) counts from its next reading: summed with the others, its
 * counters since boot were one interval's rate (a 10 GiB tunnel read 10240 MiB/s for one sample);
 * one that went away took its total off the others'. A counter that went backwards (the device was
 * re-created under its name) counts 0.
 */
export function bytesMoved(cur: DeviceCounters, prev: DeviceCounters): [number, number] {
  let a = 0;
  let b = 0;
  for (const [name, [x, y]] of cur) {
    const p = prev.get(name);
    if (!p) continue;
    a += Math.max(0, x - p[0]);
    b += Math.max(0, y - p[1]);
  }
  return [a, b];
}

export interface PidStat {
  state: string;
  /** utime + stime, clock ticks. */
  cpuTicks: number;
  rssPages: number;
}

/** /proc/<pid>/stat: the state (field 3), utime + stime (fields 14 and 15), rss (field 24). */
export function parsePidStat(text: string): PidStat | null {
  const line = splitStat(text);
  if (line === null || line.fields.length < 22) return null;
  const n = (f: number) => Number(statField(line, f)) || 0;
  return { state: statField(line, 3)!, cpuTicks: n(14) + n(15), rssPages: n(24) };
}
