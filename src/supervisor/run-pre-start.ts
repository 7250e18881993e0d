// A run's pre_start: one at a time, its result only for the run it belongs to, what it left in the service's cgroup killed, abandoned with its run.
import type { ServiceCgroups } from "./service-cgroup.ts";

export class RunPreStart {
  /** A pre_start is running (for run number `run`). */
  private busy = false;
  private run = 0;

  constructor(
    private readonly cgroups: ServiceCgroups | null,
    private readonly name: string,
  ) {}

  /** Whether a pre_start is running. */
  get running(): boolean {
    return this.busy;
  }

  /**
   * Waits for `preStart` (null: it passed, else why not), then calls `done` unless it was abandoned
   * meanwhile. What the pre_start left in the service's cgroup goes first (cgroup.kill; its process
   * group went with it already, this takes a process that left the group), as systemd kills what
   * ExecStartPre= forked off: it ran on beside the main process.
   */
  await(preStart: Promise<string | null>, done: (failed: string | null) => void): void {
    this.busy = true;
    const run = ++this.run;
    void preStart.then((failed) => {
      if (run !== this.run) return;
      this.busy = false;
      this.cgroups?.kill(this.name);
      done(failed);
    });
  }

  /** The run ended while its pre_start ran: that pre_start (in the service's cgroup) goes, its result with it. False when none ran. */
  abandon(): boolean {
    if (!this.busy) return false;
    this.run++;
    this.busy = false;
    this.cgroups?.kill(this.name);
    return true;
  }
}
