// A service's CPU time from the cgroup of its own (cpu.stat usage_usec): the whole service, not only its main process.
import { join } from "node:path";
import { cgroup2Mount, cgroupOf } from "../sys/cgroup.ts";

/**
 * The sampler counted a service's CPU from its main process's ticks only: a pre-fork server's idle
 * master, or a shell waiting for its busy child, read 0, so top_cpu (and `cause`) found no busy
 * service. A service in a v2 cgroup of its own (not the root, not the init's) is measured by that
 * cgroup's cpu.stat, present without the cpu controller; else the caller keeps the process's ticks.
 */
export class ServiceCgroupCpu {
  /** cpu.stat file by service pid (null: no cgroup of its own). */
  private readonly files = new Map<number, string | null>();
  private own: string | null | undefined;

  constructor(
    private readonly procRoot: string,
    private readonly sysRoot: string,
    private readonly read: (path: string) => string | null,
  ) {}

  /** usage_usec of the cgroup `pid` runs in, or null (no cgroup of its own, or unreadable). */
  usec(pid: number): number | null {
    let file = this.files.get(pid);
    if (file === undefined) {
      if (this.own === undefined) this.own = cgroupOf(this.procRoot, "self");
      const cg = cgroupOf(this.procRoot, pid);
      file = cg === null || cg === "/" || cg === "" || cg === this.own ? null : join(cgroup2Mount(this.procRoot) ?? join(this.sysRoot, "fs/cgroup"), cg, "cpu.stat");
      this.files.set(pid, file);
    }
    if (file === null) return null;
    const m = /^usage_usec (\d+)$/m.exec(this.read(file) ?? "");
    return m ? Number(m[1]) : null;
  }

  /** Forgets pids that are no service's any more. */
  keepOnly(services: readonly { pid: number | null }[]): void {
    if (this.files.size <= 2 * services.length + 16) return;
    const live = new Set(services.map((s) => s.pid));
    for (const pid of this.files.keys()) if (!live.has(pid)) this.files.delete(pid);
  }
}
