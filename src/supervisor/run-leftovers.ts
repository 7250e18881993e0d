// What a service's run left behind when its main process ended: its cgroup's processes, or with cgroups off its process group.
import { Sig } from "../sys/signals.ts";
import type { ServiceCgroups } from "./service-cgroup.ts";
import { signalProcessGroup } from "./service-launch.ts";

export class RunLeftovers {
  /** cgroups off: the process group a main process that exited left members in, until they are killed or gone. */
  private group: number | null = null;
  /** Polls until the leftovers are gone (a stop waiting for processes that left the group). */
  private watch: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly cgroups: ServiceCgroups | null,
    private readonly name: string,
  ) {}

  /**
   * Whether the run of the main process `pid`, which exited, left processes: in its cgroup, or with
   * cgroups off in its process group (the main process led it). Those were left running, and each
   * restart of a crashing service added its run's children to the last ones'.
   */
  after(pid: number): boolean {
    if (this.cgroups) return this.cgroups.populated(this.name);
    this.group = signalProcessGroup(pid, 0) ? pid : null;
    return this.group !== null;
  }

  /** SIGKILL to what is left of the run: cgroup.kill, or with cgroups off its process group. */
  kill(): void {
    if (this.cgroups) this.cgroups.kill(this.name);
    else if (this.group !== null) signalProcessGroup(this.group, Sig.SIGKILL);
  }

  /** The leftovers were killed: nothing of that run is watched any more. */
  forget(): void {
    this.group = null;
  }

  /** Calls `empty` once the cgroup (cgroups off: the leftover process group) holds no process; once per watch. */
  whenEmpty(empty: () => void): void {
    const cgroups = this.cgroups;
    if (this.watch || (!cgroups && this.group === null)) return;
    const group = this.group;
    this.watch = setInterval(() => {
      if (cgroups ? cgroups.populated(this.name) : signalProcessGroup(group!, 0)) return;
      clearInterval(this.watch!);
      this.watch = null;
      this.group = null;
      empty();
    }, 20);
  }
}
