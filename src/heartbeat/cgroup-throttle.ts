// Throttling through cgroup v2 `cpu.max` when a service has a cgroup of its own (else the duty cycle is used).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cgroup2Mount, cgroupOf } from "../sys/cgroup.ts";

export interface CpuMaxThrottle {
  file: string;
  /** Content to write back on release (what cpu.max held before). */
  readonly previous: string;
  applied: string;
}

/**
 * Limits the cgroup of `pid` to `duty` of each `periodMs` by writing its cpu.max, when that is safe:
 * the process is in a v2 cgroup other than the root and other than our own (throttling our own
 * cgroup would throttle PID 1), and the cgroup has a writable cpu.max (cpu controller enabled).
 * Returns null when cgroups cannot be used, so the caller falls back to SIGSTOP/SIGCONT.
 */
export function throttleCpuMax(procRoot: string, sysRoot: string, pid: number, duty: number, periodMs: number): CpuMaxThrottle | null {
  const cg = cgroupOf(procRoot, pid);
  if (cg === null || cg === "/" || cg === "" || cg === cgroupOf(procRoot, "self")) return null;
  // The unified hierarchy's mount (/sys/fs/cgroup/unified on a hybrid host), else <sys>/fs/cgroup.
  const file = join(cgroup2Mount(procRoot) ?? join(sysRoot, "fs/cgroup"), cg, "cpu.max");
  try {
    const previous = readFileSync(file, "utf8").trim() || "max 100000";
    const applied = stricter(previous, cpuMaxOf(duty, periodMs));
    writeFileSync(file, applied);
    return { file, previous, applied };
  } catch {
    return null;
  }
}

/** cpu.max's content for `duty` of each `periodMs`: "<quota us> <period us>". */
function cpuMaxOf(duty: number, periodMs: number): string {
  const periodUs = Math.min(1_000_000, Math.max(1000, Math.round(periodMs * 1000)));
  const quotaUs = Math.max(1000, Math.round(duty * periodUs));
  return `${quotaUs} ${periodUs}`;
}

/** CPUs a cpu.max content allows ("max ..." or unreadable: no limit). */
function cpusOf(cpuMax: string): number {
  const [quota, period] = cpuMax.split(/\s+/);
  const q = Number(quota);
  const p = Number(period ?? 100000);
  return quota === "max" || !(q > 0) || !(p > 0) ? Number.POSITIVE_INFINITY : q / p;
}

/**
 * The throttle's limit, unless the service's own (its config's `cpu_max`, in cpu.max before the
 * throttle) allows less: writing the throttle's loosened a stricter limit until the release.
 */
function stricter(previous: string, throttle: string): string {
  return cpusOf(previous) <= cpusOf(throttle) ? previous : throttle;
}

/**
 * Changes the limit of throttle `t` in place (tightened or eased), keeping what to restore; false when
 * cpu.max could not be written (cgroup gone with its service).
 */
export function changeCpuMax(t: CpuMaxThrottle, duty: number, periodMs: number): boolean {
  const applied = stricter(t.previous, cpuMaxOf(duty, periodMs));
  try {
    writeFileSync(t.file, applied);
  } catch {
    return false;
  }
  t.applied = applied;
  return true;
}

/** Restores cpu.max; returns false when it could not be written (cgroup gone with its service). */
export function releaseCpuMax(t: CpuMaxThrottle): boolean {
  try {
    writeFileSync(t.file, t.previous);
    return true;
  } catch {
    return false;
  }
}
