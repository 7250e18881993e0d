// Throttling a service: cgroup v2 cpu.max when it has its own cgroup, else a SIGSTOP/SIGCONT duty cycle.
import { type CpuMaxThrottle, releaseCpuMax, throttleCpuMax } from "./cgroup-throttle.ts";

const SIGSTOP = 19;
const SIGCONT = 18;

/** Sends `sig` to the process group `pid` leads, else to the process; false when neither exists. */
export function signalService(pid: number, sig: number): boolean {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, sig);
      return true;
    } catch {
      /* no such group (not a group leader) or gone: try the next form */
    }
  }
  return false;
}

interface Cycle {
  pid: number;
  /** Set when the throttle is a cpu.max limit (no signals are sent then). */
  cgroup: CpuMaxThrottle | null;
  duty: number;
  periodMs: number;
  timer: ReturnType<typeof setTimeout> | null;
  stopped: boolean;
}

/**
 * Each throttled service runs `duty` of every `periodMs` (SIGCONT at the start of the period,
 * SIGSTOP after duty * period). Releasing sends SIGCONT, so a throttled service is never left
 * stopped by us.
 */
export class DutyCycler {
  private readonly cycles = new Map<string, Cycle>();

  constructor(
    private readonly onGone: (name: string, pid: number) => void,
    private readonly roots: { procRoot: string; sysRoot: string } = { procRoot: "/proc", sysRoot: "/sys" },
  ) {}

  /** Starts throttling; returns how ("cgroup <file> <quota> <period>" or "duty cycle"), or null when the process is gone. */
  start(name: string, pid: number, duty: number, periodMs: number): string | null {
    this.release(name);
    if (!signalService(pid, SIGCONT)) return null;
    const d = Math.min(1, Math.max(0.01, duty));
    const p = Math.max(10, periodMs);
    const cgroup = throttleCpuMax(this.roots.procRoot, this.roots.sysRoot, pid, d, p);
    const c: Cycle = { pid, cgroup, duty: d, periodMs: p, timer: null, stopped: false };
    this.cycles.set(name, c);
    if (cgroup) return `cgroup cpu.max ${cgroup.applied} (${cgroup.file})`;
    this.phase(name, c, false);
    return `SIGSTOP/SIGCONT duty cycle, runs ${Math.round(d * 100)}% of ${p} ms`;
  }

  /** The cpu.max limit `name` is throttled by (null: none, or the duty cycle). */
  cpuMax(name: string): CpuMaxThrottle | null {
    return this.cycles.get(name)?.cgroup ?? null;
  }

  /** How `name` is throttled: "cgroup", "signals", or null. */
  mechanism(name: string): "cgroup" | "signals" | null {
    const c = this.cycles.get(name);
    return c ? (c.cgroup ? "cgroup" : "signals") : null;
  }

  private phase(name: string, c: Cycle, stop: boolean): void {
    if (this.cycles.get(name) !== c) return;
    if (c.duty < 1 && !signalService(c.pid, stop ? SIGSTOP : SIGCONT)) {
      this.cycles.delete(name);
      this.onGone(name, c.pid);
      return;
    }
    c.stopped = stop;
    const ms = stop ? c.periodMs * (1 - c.duty) : c.periodMs * c.duty;
    c.timer = setTimeout(() => this.phase(name, c, !stop), ms);
  }

  /** Ends the duty cycle and leaves the process running. Returns whether it was throttled. */
  release(name: string): boolean {
    const c = this.cycles.get(name);
    if (!c) return false;
    this.cycles.delete(name);
    if (c.timer) clearTimeout(c.timer);
    if (c.cgroup) releaseCpuMax(c.cgroup);
    else signalService(c.pid, SIGCONT);
    return true;
  }

  releaseAll(): void {
    for (const name of [...this.cycles.keys()]) this.release(name);
  }

  has(name: string): boolean {
    return this.cycles.has(name);
  }
}
