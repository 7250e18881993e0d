// A service's name is also its cgroup directory's: names in the kernel's interface-file namespace are refused.

/**
 * The prefixes of cgroup v2 interface files: the core's (`cgroup.*`, `irq.pressure`) and each
 * controller's (`memory.max`, `pids.peak`, ...). A service directory with such a name sits among its
 * parent's files: one that exists (`cgroup.procs`, `cgroup.kill`, `memory.max` once memory is
 * enabled) cannot be made, and the service ran without a cgroup after one warning (no limits, no
 * cgroup.kill of escapees); one that does not yet (`memory.foo`) blocks a file a kernel adds later.
 */
export const cgroupFilePrefixes = ["cgroup", "cpu", "cpuset", "io", "irq", "memory", "pids", "rdma", "hugetlb", "misc", "dmem"] as const;

/** Why `name` cannot be a service's (its cgroup directory's) name, or null when it can. */
export function cgroupNameProblem(name: string): string | null {
  const dot = name.indexOf(".");
  const prefix = dot < 0 ? null : name.slice(0, dot);
  if (prefix === null || !(cgroupFilePrefixes as readonly string[]).includes(prefix)) return null;
  return `${JSON.stringify(name)} is in the namespace of cgroup interface files (${prefix}.*), where the service's cgroup directory goes; choose a name that does not begin with ${cgroupFilePrefixes.map((p) => `"${p}."`).join(", ")}`;
}
