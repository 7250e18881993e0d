// CPU busy fractions from two /proc/stat readings: cpu.total, iowait and steal, one slot per online CPU, and the online count.
import { CPU_SLOTS, HwFlag, hwIndexOf } from "../hw/hw-mmio-layout.ts";
import type { Integrators } from "./integrator.ts";
import type { CpuTimes, ProcStat } from "./proc-parsers.ts";

const ix = { cpuTotal: hwIndexOf("cpu.total"), iowait: hwIndexOf("cpu.iowait"), steal: hwIndexOf("cpu.steal"), cpuCount: hwIndexOf("cpu.count"), cpu0: hwIndexOf("cpu.0") };

export class CpuSample {
  private prevTotal: CpuTimes | null = null;
  private prevCores: (CpuTimes | undefined)[] = [];

  /** `smooth` is the sampler's integrators, indexed by hw.mmio field. */
  constructor(private readonly smooth: Integrators) {}

  /**
   * Fills the cpu.* fields of `v` from `stat` (null: /proc/stat unreadable), `dt` ms after the previous
   * sample; returns the number of online CPUs (its cpuN lines) and the flags to set.
   */
  update(v: Float64Array, stat: ProcStat | null, dt: number): { online: number; flags: number } {
    let online = 0;
    for (const c of stat?.cores ?? []) if (c) online++;
    v[ix.cpuCount] = online;
    if (!stat?.total) {
      // Unreadable: every cpu.* field reads 0 and counting starts afresh once it is back (its first
      // reading reads 0, the next is measured). They kept their last values (cpu.total 1.0 for good).
      this.forget(v);
      return { online, flags: HwFlag.cpuMissing };
    }
    const d = delta(stat.total, this.prevTotal);
    if (!this.prevTotal) v[ix.cpuTotal] = v[ix.iowait] = v[ix.steal] = 0;
    else if (d) {
      v[ix.cpuTotal] = this.smooth.step(ix.cpuTotal, d[0] / d[4], dt);
      v[ix.iowait] = this.smooth.step(ix.iowait, d[2] / d[4], dt);
      v[ix.steal] = this.smooth.step(ix.steal, d[3] / d[4], dt);
    }
    this.prevTotal = stat.total;
    // /proc/stat lists online CPUs only: an offline one (or a hole in the numbering) reads 0 and is
    // counted afresh from its next two readings. Its slot kept its last value (1.0 for good) and
    // cpu.count was the highest number + 1 (3 with CPUs 0 and 2 online).
    for (let c = 0; c < CPU_SLOTS; c++) {
      const i = ix.cpu0 + c;
      const cur = stat.cores[c];
      if (!cur) {
        v[i] = 0;
        this.prevCores[c] = undefined;
        this.smooth.reset(i);
        continue;
      }
      const dc = delta(cur, this.prevCores[c] ?? null);
      if (dc) v[i] = this.smooth.step(i, dc[0] / dc[4], dt);
      this.prevCores[c] = cur;
    }
    return { online, flags: stat.cores.length > CPU_SLOTS ? HwFlag.cpuSlotsTruncated : 0 };
  }

  /** Sets every cpu.* fraction to 0 and drops the saved readings and their smoothing. */
  private forget(v: Float64Array): void {
    this.prevTotal = null;
    this.prevCores = [];
    for (const i of [ix.cpuTotal, ix.iowait, ix.steal]) {
      v[i] = 0;
      this.smooth.reset(i);
    }
    for (let c = 0; c < CPU_SLOTS; c++) {
      v[ix.cpu0 + c] = 0;
      this.smooth.reset(ix.cpu0 + c);
    }
  }
}

/**
 * Busy, idle, iowait and steal ticks since `prev`, and their sum. A counter that went backwards counts
 * 0 (proc(5): iowait "may decrease"): its drop, taken off the total, made a CPU 30/80 busy read 1.0.
 */
function delta(cur: CpuTimes, prev: CpuTimes | null): CpuTimes | null {
  if (!prev) return null;
  const d = [0, 0, 0, 0, 0] as CpuTimes;
  for (let i = 0; i < 4; i++) d[i] = Math.max(0, cur[i]! - prev[i]!);
  d[4] = d[0] + d[1] + d[2] + d[3];
  return d[4] > 0 ? d : null;
}
