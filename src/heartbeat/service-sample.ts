// The per-service hw.mmio slots and the services.* totals: state counts, restarts, RSS and smoothed CPU of each service.
import { join } from "node:path";
import { HwFlag, hwIndexOf, SERVICE_SLOTS } from "../hw/hw-mmio-layout.ts";
import { Integrators } from "./integrator.ts";
import { parsePidStat } from "./proc-parsers.ts";
import { ServiceCgroupCpu } from "./service-cgroup-cpu.ts";
import type { ServiceSlotInfo } from "./service-control.ts";

const ix = {
  svcTotal: hwIndexOf("services.total"), svcRunning: hwIndexOf("services.running"), svcFailed: hwIndexOf("services.failed"),
  svcRestarts: hwIndexOf("services.restarts"), svcRss: hwIndexOf("services.rss_mib"), svcCpu: hwIndexOf("services.cpu"), svc0: hwIndexOf("svc.0.running"),
};
const MiB = 1024 * 1024;

export interface ServiceSampleOptions {
  procRoot: string;
  sysRoot: string;
  /** USER_HZ of /proc/<pid>/stat times. */
  clockTicks: number;
  pageSize: number;
  smoothingMs: number;
  /** Reads a file (null when it cannot be read); the sampler counts the reads. */
  read: (path: string) => string | null;
}

export class ServiceSample {
  /**
   * The previous reading of each slot's process: CPU ticks, its cgroup's usage_usec when it has a cgroup
   * of its own, and how long ago it was taken beyond the last interval (`missedMs`: samples since in
   * which its /proc/<pid>/stat could not be read).
   */
  private prev: { pid: number | null; ticks: number; usec: number | null; missedMs: number }[] = [];
  private readonly cgroupCpu: ServiceCgroupCpu;
  /** svc.S.cpu smoothing, one integrator per slot. */
  private readonly smooth: Integrators;

  constructor(private readonly opts: ServiceSampleOptions) {
    this.cgroupCpu = new ServiceCgroupCpu(opts.procRoot, opts.sysRoot, opts.read);
    this.smooth = new Integrators(SERVICE_SLOTS, opts.smoothingMs);
  }

  setSmoothing(ms: number): void {
    this.smooth.setTau(ms);
  }

  /** Fills the svc.* slots and services.* of `v` for `services` (slot order), `dt` ms after the last sample; returns flags. */
  update(v: Float64Array, services: readonly ServiceSlotInfo[], dt: number, ncpu: number): number {
    let flags = services.length > SERVICE_SLOTS ? HwFlag.serviceSlotsTruncated : 0;
    let running = 0;
    let failed = 0;
    let restarts = 0;
    let rss = 0;
    let cpu = 0;
    for (let s = 0; s < services.length; s++) {
      const svc = services[s]!;
      const isRunning = svc.state === "running" && svc.pid !== null;
      if (isRunning) running++;
      if (svc.state === "failed") failed++;
      restarts += svc.restarts;
      let rssMib = 0;
      let cores = 0;
      const prev = this.prev[s];
      if (svc.pid !== null) {
        const t = this.opts.read(join(this.opts.procRoot, String(svc.pid), "stat"));
        const st = t === null ? null : parsePidStat(t);
        if (!st) {
          flags |= HwFlag.servicePidMissing;
          // The next difference covers this interval too: it was divided by one interval (2 cores read for 1).
          if (prev && prev.pid === svc.pid) prev.missedMs += dt;
        } else {
          rssMib = (st.rssPages * this.opts.pageSize) / MiB;
          const usec = this.cgroupCpu.usec(svc.pid);
          // A new process reads 0 without feeding that 0 to the integrator: its first measured value
          // starts it, as for cpu.total (a process using a full core read 0.33, 0.55, 0.70 ... after each start).
          if (!prev || prev.pid !== svc.pid) {
            if (s < SERVICE_SLOTS) this.smooth.reset(s);
          } else if (dt + prev.missedMs > 0) {
            const spanS = (dt + prev.missedMs) / 1000;
            cores = usec !== null && prev.usec !== null ? Math.max(0, usec - prev.usec) / 1e6 / spanS : Math.max(0, st.cpuTicks - prev.ticks) / this.opts.clockTicks / spanS;
            if (s < SERVICE_SLOTS) cores = this.smooth.step(s, cores, dt);
          }
          this.prev[s] = { pid: svc.pid, ticks: st.cpuTicks, usec, missedMs: 0 };
        }
      } else this.prev[s] = { pid: null, ticks: 0, usec: null, missedMs: 0 };
      rss += rssMib;
      cpu += cores;
      if (s < SERVICE_SLOTS) {
        const b = ix.svc0 + s * 5;
        v[b] = isRunning ? 1 : 0;
        v[b + 1] = svc.restarts;
        v[b + 2] = rssMib;
        v[b + 3] = cores;
        v[b + 4] = svc.throttled ? 1 : 0;
      }
    }
    for (let s = services.length; s < SERVICE_SLOTS; s++) v.fill(0, ix.svc0 + s * 5, ix.svc0 + s * 5 + 5);
    this.prev.length = services.length;
    this.cgroupCpu.keepOnly(services);
    v[ix.svcTotal] = services.length;
    v[ix.svcRunning] = running;
    v[ix.svcFailed] = failed;
    v[ix.svcRestarts] = restarts;
    v[ix.svcRss] = rss;
    v[ix.svcCpu] = Math.min(1, Math.max(0, cpu / ncpu));
    return flags;
  }
}
