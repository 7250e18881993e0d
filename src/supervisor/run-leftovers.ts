// What a service's run left behind when its main process ended: its cgroup's processes, or with cgroups off its process groups.
import { Sig } from "../sys/signals.ts";
import { listProcesses } from "../init/proc-tree.ts";
import { groupNumberReused, groupOf, processExists, sessionOf, startTimeOf } from "../util/process-exists.ts";
import type { ServiceCgroups } from "./service-cgroup.ts";
import { signalProcessGroup } from "./service-launch.ts";

export class RunLeftovers {
  /**
   * The run's process groups. The spawned process leads its session and group; a main process named
   * later (MAINPID=: a forking daemon's child) adds its session's group (its exited parent's, which
   * its sibling workers share: they escaped the stop and the clean-up) and the group it leads, if
   * any. Its live session keeps that group's number from being reused. With cgroups off they are
   * what the stop and the clean-up signal; either way what a SIGSTOP/SIGCONT throttle signals
   * (src/heartbeat/throttle.ts used to derive them from /proc at each signal, and missed the old
   * session of a worker that called setsid()).
   */
  private groups: number[] = [];
  /**
   * The start time of each group's leader when the group was recorded (null: its leader was gone
   * already). A group whose number now names another process (another start time, or a process
   * where there was none) was reused: with cgroups off a stop and the throttle's SIGSTOP went to it.
   */
  private leaders = new Map<number, number | null>();
  /** Polls until the leftovers are gone (a stop waiting for processes that left the group). */
  private watch: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly cgroups: ServiceCgroups | null,
    private readonly name: string,
  ) {}

  /**
   * The service's cgroup when it has one. Cgroups on, a service whose cgroup could not be made runs
   * in the init's: judged by that missing cgroup, its stop neither waited for nor killed what its
   * run left. It is judged by its process groups then, as with cgroups off.
   */
  private own(): ServiceCgroups | null {
    return this.cgroups?.has(this.name) ? this.cgroups : null;
  }

  /** A new run, whose main process `pid` was spawned leading its own session. */
  begin(pid: number): void {
    this.groups = [];
    this.leaders.clear();
    this.record(pid);
  }

  private record(g: number): void {
    if (this.groups.includes(g)) return;
    this.groups.push(g);
    this.leaders.set(g, startTimeOf(g));
  }

  /**
   * Whether recorded group `g` is still the run's: its leader the process recorded (alive, or a
   * zombie), or, that leader gone, a group some process is still in (its number cannot be reused
   * while it has one). A group that emptied freed its number; whatever has it now is not the run's.
   */
  private isRuns(g: number): boolean {
    if (groupNumberReused(g, this.leaders.get(g))) return false;
    return startTimeOf(g) !== null || signalProcessGroup(g, 0);
  }

  /** Drops the run's groups that emptied or whose number was reused (cgroups off, they are what a stop and the throttle signal). */
  prune(): void {
    this.groups = this.groups.filter((g) => this.isRuns(g));
  }

  /** A new main process of the run (MAINPID=, or adopted after a live re-exec). */
  follow(pid: number): void {
    const session = sessionOf(pid);
    for (const g of [session, pid]) if (g !== null) this.record(g);
  }

  /** The run's process groups (the main process's own among them when it leads one). */
  processGroups(): readonly number[] {
    this.prune();
    return this.groups;
  }

  /**
   * The run's process groups a signal may go to (a stop, the throttle). With cgroups on, only those
   * a process in the service's cgroup is in: a group that emptied (a forking daemon's parent gone,
   * its worker in a session of its own) frees its number, and a stop sent its signal to whatever
   * process outside the service led a group under it next. A group one of them is in cannot be
   * reused. With cgroups off, those still the run's (prune): one that emptied and whose number
   * another process leads now used to get the stop signal too.
   */
  signalGroups(): readonly number[] {
    this.prune();
    const cgroups = this.own();
    if (!cgroups) return this.groups;
    const inCgroup = new Set(cgroups.pids(this.name).map(groupOf));
    return this.groups.filter((g) => inCgroup.has(g));
  }

  /**
   * Whether the run of the main process `pid`, which exited, left processes: in its cgroup, or with
   * cgroups off in its process groups. Those were left running, and each restart of a crashing
   * service added its run's children to the last ones'.
   */
  after(pid: number): boolean {
    this.record(pid);
    this.groups = this.groups.filter((g) => this.isRuns(g) && signalProcessGroup(g, 0));
    const cgroups = this.own();
    return cgroups ? cgroups.populated(this.name) : this.groups.length > 0;
  }

  /** SIGKILL to what is left of the run: cgroup.kill, or with cgroups off its process groups. */
  kill(): void {
    const cgroups = this.own();
    if (cgroups) cgroups.kill(this.name);
    else {
      this.prune();
      for (const g of this.groups) signalProcessGroup(g, Sig.SIGKILL);
    }
  }

  /** The leftovers were killed: nothing of that run is watched any more. */
  forget(): void {
    this.groups = [];
    this.leaders.clear();
  }

  /** For a live re-exec: the run's groups (the first 64), with their leaders' start times. */
  handover(): { group: number; leaderStart: number | null }[] {
    this.prune();
    // The handoff takes at most 64 (service-snapshot.ts): one more made the whole services part unreadable.
    return this.groups.slice(0, 64).map((g) => ({ group: g, leaderStart: this.leaders.get(g) ?? null }));
  }

  /** After a live re-exec: the groups the previous image handed over (those no longer the run's are dropped). */
  adopt(groups: readonly { group: number; leaderStart: number | null }[]): void {
    this.forget();
    for (const { group, leaderStart } of groups) {
      if (this.groups.includes(group)) continue;
      this.groups.push(group);
      this.leaders.set(group, leaderStart);
    }
    this.prune();
  }

  /**
   * The run is given up (still there after its final SIGKILL wait): the watch ends, and the pids still
   * there are returned for the log (its cgroup's, or with cgroups off those in its process groups,
   * `pid` among them when it is there).
   */
  giveUp(pid: number | null): number[] {
    if (this.watch) clearInterval(this.watch);
    this.watch = null;
    const cgroups = this.own();
    this.prune();
    const groups = new Set(this.groups);
    const there = cgroups ? cgroups.pids(this.name) : listProcesses().filter((p) => groups.has(groupOf(p.pid) ?? 0)).map((p) => p.pid);
    this.forget();
    return pid !== null && processExists(pid) && !there.includes(pid) ? [pid, ...there] : there;
  }

  /**
   * Calls `empty` once the cgroup (cgroups off: the leftover process groups) holds no process, at
   * the next poll when it holds none already; once per watch.
   */
  whenEmpty(empty: () => void): void {
    const cgroups = this.own();
    if (this.watch) return;
    this.watch = setInterval(() => {
      if (!cgroups) this.prune();
      if (cgroups ? cgroups.populated(this.name) : this.groups.some((g) => signalProcessGroup(g, 0))) return;
      clearInterval(this.watch!);
      this.watch = null;
      this.groups = [];
      empty();
    }, 20);
  }
}
