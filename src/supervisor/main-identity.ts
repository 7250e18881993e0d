// Whether a service's main pid still names the process it named (MAINPID=) or adopted: its start time, and its cgroup when it has one; a pid that ended is reused.
import { logger } from "../log.ts";
import { sameProcess, startTimeOf } from "../util/process-exists.ts";
import type { ServiceCgroups } from "./service-cgroup.ts";

const log = logger("supervisor");

/**
 * A main process that is not our child (MAINPID= naming a process its own parent reaps, or one
 * adopted after a live re-exec): its pid can be given to an unrelated process as soon as it ends,
 * and its end is seen only by a poll every 200 ms. Between the two, a stop (or a kill for a failed
 * check) sent the service's stop signal and SIGKILL to that process and its group. A child we
 * spawned needs no check: its pid is not reused before our reaper takes its exit.
 */
export class MainIdentity {
  private pid: number | null = null;
  /** Its start time when it was accepted (null: it was gone already). */
  private born: number | null = null;

  constructor(
    private readonly cgroups: ServiceCgroups | null,
    private readonly name: string,
  ) {}

  /** `pid`, not our child, is the main process from now: its start time is taken now (it was checked to be the service's). */
  accept(pid: number): void {
    this.pid = pid;
    this.born = startTimeOf(pid);
  }

  /** The main process is one we spawned: nothing to check. */
  clear(): void {
    this.pid = null;
    this.born = null;
  }

  /**
   * Whether `pid` still names the process accepted: the same start time, and in the service's
   * cgroup (or one below it) when it has one (start times count clock ticks: a pid reused within
   * the tick its process started in looks the same). True for a pid not accepted here (our child).
   */
  holds(pid: number): boolean {
    if (pid !== this.pid) return true;
    if (!sameProcess(pid, this.born)) return false;
    return !this.cgroups?.has(this.name) || this.cgroups.pids(this.name).includes(pid);
  }

  /**
   * The main pid `pid` to signal, or null when it no longer names the process accepted: that one
   * ended and its pid is another process's now (the poll ends the run; the run's process groups and
   * cgroup are signalled meanwhile).
   */
  toSignal(pid: number | null): number | null {
    if (pid === null || this.holds(pid)) return pid;
    log.warn("main process (MAINPID=) is gone and its pid names another process now; not signalled", { service: this.name, pid });
    return null;
  }
}
