// Throttling a service: cgroup v2 cpu.max when it has its own cgroup, else a SIGSTOP/SIGCONT duty cycle.
import { groupNumberReused, groupOf, sameProcess, sessionOf, startTimeOf } from "../util/process-exists.ts";
import { lazy } from "../util/lazy.ts";
import { changeCpuMax, type CpuMaxThrottle, releaseCpuMax, throttleCpuMax } from "./cgroup-throttle.ts";

const SIGSTOP = 19;
const SIGCONT = 18;

/** The init's own process group and session (they never change): a process that shares them is not a service. */
const ownGroups = lazy(() => [groupOf(process.pid), sessionOf(process.pid)]);

/** A throttled service: its main process and its run's process groups, as the supervisor knows them. */
export interface ThrottleTarget {
  pid: number;
  /**
   * The run's process groups (RunLeftovers: the spawned process's, and a MAINPID= worker's old
   * session and the group it leads). A group found empty is dropped: its number may be reused.
   */
  groups: number[];
  /**
   * Each group's leader's start time when the throttle took the groups (null: gone already). A group
   * whose number names another process since (it emptied, and the number was reused) is dropped: the
   * duty cycle SIGSTOPped whatever unrelated process led a group under that number next.
   */
  leaders?: Map<number, number | null>;
  /**
   * The main process's start time when the throttle began (null: gone already). With no group of the
   * run left, the main pid itself is signalled: one that ended and whose number an unrelated process
   * took since (a MAINPID= worker is not our child: nothing holds its pid) is not.
   */
  born?: number | null;
}

/** A throttle's target with the start times that tell its numbers reused later: each group's leader's and the main process's, taken now. */
export function throttleTarget(pid: number, groups: readonly number[]): ThrottleTarget {
  return { pid, groups: [...groups], leaders: new Map(groups.map((g) => [g, startTimeOf(g)])), born: startTimeOf(pid) };
}

/**
 * Sends `sig` to the service's process groups (`t.groups`, the supervisor's list), else, when none
 * is left, to the group its main process leads or to that process; false when nothing was reached.
 * The groups used to be derived here from /proc (the main process's group and session) at every
 * signal: a MAINPID= worker that called setsid() has a session and group of its own, and its
 * siblings, in its old session's group, ran on unthrottled. Never the init's own group or session.
 */
export function signalService(t: ThrottleTarget, sig: number): boolean {
  const own = ownGroups();
  let sent = false;
  t.groups = t.groups.filter((g) => {
    if (g <= 1 || own.includes(g) || (t.leaders && groupNumberReused(g, t.leaders.get(g)))) return false;
    try {
      process.kill(-g, sig);
      sent = true;
      return true;
    } catch {
      return false; // no member left: never signalled again
    }
  });
  if (sent) return true;
  if (t.born !== undefined && !sameProcess(t.pid, t.born)) return false; // gone, or its number another process's
  for (const target of [-t.pid, t.pid]) {
    try {
      process.kill(target, sig);
      return true;
    } catch {
      /* no such group (not a group leader) or gone: try the next form */
    }
  }
  return false;
}

interface Cycle extends ThrottleTarget {
  /** Set when the throttle is a cpu.max limit (no signals are sent then). */
  cgroup: CpuMaxThrottle | null;
  duty: number;
  periodMs: number;
  timer: ReturnType<typeof setTimeout> | null;
  stopped: boolean;
  /** When the current phase (run or stopped) began (performance.now()). */
  phaseSince: number;
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
  start(name: string, target: ThrottleTarget, duty: number, periodMs: number): string | null {
    const d = Math.min(1, Math.max(0.01, duty));
    const p = Math.max(10, periodMs);
    const { pid } = target;
    const same = this.cycles.get(name);
    if (same?.pid === pid && this.change(name, same, d, p)) return this.describe(same);
    this.release(name);
    const t = throttleTarget(pid, target.groups);
    if (!signalService(t, SIGCONT)) return null;
    const cgroup = throttleCpuMax(this.roots.procRoot, this.roots.sysRoot, pid, d, p);
    const c: Cycle = { pid, groups: t.groups, leaders: t.leaders, born: t.born, cgroup, duty: d, periodMs: p, timer: null, stopped: false, phaseSince: 0 };
    this.cycles.set(name, c);
    if (!cgroup) this.phase(name, c, false);
    return this.describe(c);
  }

  private describe(c: Cycle): string {
    if (c.cgroup) return `cgroup cpu.max ${c.cgroup.applied} (${c.cgroup.file})`;
    return `SIGSTOP/SIGCONT duty cycle, runs ${Math.round(c.duty * 100)}% of ${c.periodMs} ms`;
  }

  /**
   * A new limit for the same process (tightened or eased), changed in place: cpu.max rewritten, or the
   * current phase's end moved. It was released (cpu.max restored, SIGCONT to a stopped process) and
   * throttled again, so the service ran unthrottled between. False when the process or its cgroup is gone.
   */
  private change(name: string, c: Cycle, duty: number, periodMs: number): boolean {
    if (c.cgroup) {
      if (!changeCpuMax(c.cgroup, duty, periodMs)) return false;
      c.duty = duty;
      c.periodMs = periodMs;
      return true;
    }
    if (!signalService(c, 0)) return false;
    c.duty = duty;
    c.periodMs = periodMs;
    if (c.timer) clearTimeout(c.timer);
    if (c.stopped && duty >= 1) {
      // Runs all the time now (the phases send no signal then): never left stopped.
      signalService(c, SIGCONT);
      this.phase(name, c, false);
      return true;
    }
    const len = c.stopped ? periodMs * (1 - duty) : periodMs * duty;
    c.timer = setTimeout(() => this.phase(name, c, !c.stopped), Math.max(0, c.phaseSince + len - performance.now()));
    return true;
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
    if (c.duty < 1 && !signalService(c, stop ? SIGSTOP : SIGCONT)) {
      this.cycles.delete(name);
      this.onGone(name, c.pid);
      return;
    }
    c.stopped = stop;
    c.phaseSince = performance.now();
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
    else signalService(c, SIGCONT);
    return true;
  }

  releaseAll(): void {
    for (const name of [...this.cycles.keys()]) this.release(name);
  }

  has(name: string): boolean {
    return this.cycles.has(name);
  }
}
