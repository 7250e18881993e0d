// cgroup v2 files: where the unified hierarchy is mounted, a process's cgroup, control files, stats, cgroup.kill.
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync, type Dirent } from "node:fs";
import { join } from "node:path";
import { mountEntries } from "../util/mountinfo.ts";

/**
 * The mount point of the cgroup v2 (unified) hierarchy from <procRoot>/self/mountinfo: /sys/fs/cgroup
 * on a pure v2 system (the pre-init mounts it there), /sys/fs/cgroup/unified on a hybrid host; null
 * when there is none.
 */
export function cgroup2Mount(procRoot = "/proc"): string | null {
  return mountEntries(procRoot).find((m) => m.fstype === "cgroup2")?.point ?? null;
}

/** The unified-hierarchy (v2) cgroup path of a process from <proc>/<pid>/cgroup ("0::/path"), or null. */
export function cgroupOf(procRoot: string, pid: number | "self"): string | null {
  try {
    const line = readFileSync(join(procRoot, String(pid), "cgroup"), "utf8")
      .split("\n")
      .find((l) => l.startsWith("0::"));
    return line ? line.slice(3).trim() : null;
  } catch {
    return null;
  }
}

/** A control file's content (trimmed), or null when it does not exist or cannot be read. */
export function readCgroupFile(dir: string, file: string): string | null {
  try {
    return readFileSync(join(dir, file), "utf8").trim();
  } catch {
    return null;
  }
}

/** Writes a control file; throws the kernel's error (EINVAL, ENOENT, EBUSY...). */
export function writeCgroupFile(dir: string, file: string, value: string): void {
  writeFileSync(join(dir, file), value);
}

/** Creates a cgroup directory (and its parents); fine if it exists. */
export function makeCgroup(dir: string): void {
  mkdirSync(dir, { recursive: true });
}

/** Whether `dir` is a cgroup directory we may create children in and move processes into. */
export function cgroupWritable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    accessSync(join(dir, "cgroup.procs"), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Controllers a cgroup's children may use (its cgroup.subtree_control... as offered by cgroup.controllers). */
export function availableControllers(dir: string): Set<string> {
  return new Set((readCgroupFile(dir, "cgroup.controllers") ?? "").split(/\s+/).filter(Boolean));
}

/**
 * Enables (or with `on` false disables) `controller` for the children of `dir`: null, or the kernel's
 * refusal (ENOENT/EINVAL: absent or bound to v1; EBUSY: `dir` holds processes and is not a root, the
 * no-internal-processes rule of cgroup v2, or a child still uses it).
 */
export function enableController(dir: string, controller: string, on = true): string | null {
  try {
    writeCgroupFile(dir, "cgroup.subtree_control", `${on ? "+" : "-"}${controller}`);
    return null;
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

/** Whether `dir` is its hierarchy's root cgroup (the only one without cgroup.type), where processes and enabled controllers may meet. */
export function isRootCgroup(dir: string): boolean {
  return existsSync(join(dir, "cgroup.procs")) && !existsSync(join(dir, "cgroup.type"));
}

/** Moves this process (every thread) into the cgroup `dir`; throws the kernel's error. */
export function moveSelfTo(dir: string): void {
  writeCgroupFile(dir, "cgroup.procs", "0");
}

/** Pids in the cgroup (not its children). */
export function cgroupPids(dir: string): number[] {
  return (readCgroupFile(dir, "cgroup.procs") ?? "").split("\n").filter(Boolean).map(Number);
}

/** Whether any process is in the cgroup or below (cgroup.events "populated 1"). */
export function cgroupPopulated(dir: string): boolean {
  return /^populated 1$/m.test(readCgroupFile(dir, "cgroup.events") ?? "");
}

/**
 * SIGKILLs every process in the cgroup and below: cgroup.kill (Linux 5.14) at once; on an older
 * kernel, which has no cgroup.kill, `killCgroupProcs`. False when the cgroup is gone or refuses.
 * Looked for first: writing a control file the kernel does not have fails with EACCES (cgroupfs has
 * no create), not ENOENT, so the write's error cannot tell an old kernel from a refusal.
 */
export function killCgroup(dir: string): boolean {
  if (!existsSync(join(dir, "cgroup.kill"))) return existsSync(join(dir, "cgroup.procs")) && killCgroupProcs(dir);
  try {
    writeCgroupFile(dir, "cgroup.kill", "1");
    return true;
  } catch {
    return false;
  }
}

/** The processes in the cgroup `dir` and every cgroup below it (a service that made sub-cgroups of its own). */
export function cgroupTreePids(dir: string): number[] {
  const out: number[] = [];
  treePids(dir, out);
  return out;
}

/** The ids (directory inodes) of the cgroups below `dir`, not `dir` itself. */
export function cgroupSubtreeIds(dir: string, out = new Set<bigint>()): Set<bigint> {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const sub = join(dir, e.name);
    try {
      out.add(statSync(sub, { bigint: true }).ino);
    } catch {
      continue;
    }
    cgroupSubtreeIds(sub, out);
  }
  return out;
}

/** Every pid listed in cgroup.procs of `dir` and of each cgroup below it. */
function treePids(dir: string, out: number[]): void {
  out.push(...cgroupPids(dir));
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) treePids(join(dir, e.name), out);
}

/**
 * cgroup.kill without cgroup.kill (kernels before 5.14), as systemd does it there: the cgroup frozen
 * first where cgroup.freeze exists (5.2), so nothing forks meanwhile; then SIGKILL to each process
 * listed in it and below, pass after pass until a pass lists none it had not signalled (a fork
 * between a pass's read and its kills is in the next). Every pass signals every process listed, the
 * ones signalled before too: one still dying takes a second SIGKILL as a no-op, and a pid reused by a
 * new member (no freezer: a member forked before its SIGKILL landed) is killed instead of skipped.
 * Then thawed. False when a process could not be signalled (EPERM; the others are still killed) or
 * processes kept appearing for 100 passes.
 */
export function killCgroupProcs(dir: string): boolean {
  let frozen = false;
  try {
    writeCgroupFile(dir, "cgroup.freeze", "1");
    frozen = true;
  } catch {
    // No freezer (before 5.2): the passes alone.
  }
  try {
    const signalled = new Set<number>();
    let refused = false;
    for (let pass = 0; pass < 100; pass++) {
      const pids: number[] = [];
      treePids(dir, pids);
      let fresh = 0;
      for (const p of pids) {
        if (p <= 0) continue;
        if (!signalled.has(p)) fresh++;
        signalled.add(p);
        try {
          process.kill(p, "SIGKILL");
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ESRCH") refused = true;
        }
      }
      if (fresh === 0) return !refused;
    }
    return false;
  } finally {
    // A SIGKILLed task leaves a frozen cgroup to die; thawing lets the rest of it go too.
    if (frozen) {
      try {
        writeCgroupFile(dir, "cgroup.freeze", "0");
      } catch {
        // Gone with its processes: nothing to thaw.
      }
    }
  }
}

/** Removes an empty cgroup; false when it still holds processes or is gone. */
export function removeCgroup(dir: string): boolean {
  try {
    if (existsSync(dir)) rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

/** Removes the cgroup `dir` and the (empty) cgroups a service made below it, bottom up; false when one stays. */
export function removeCgroupTree(dir: string): boolean {
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(join(dir, e.name));
  } catch {
    // Gone already, or unreadable: the rmdir says.
  }
  return removeCgroup(dir);
}

export interface CgroupUsage {
  /** memory.current (bytes), null without the memory controller. */
  memoryBytes: number | null;
  /** cpu.stat usage_usec (always present in v2). */
  cpuUsec: number | null;
  /** pids.current, else the number of processes listed. */
  pids: number;
}

export function cgroupUsage(dir: string): CgroupUsage | null {
  if (!existsSync(dir)) return null;
  const num = (s: string | null | undefined) => (s !== null && s !== undefined && /^\d+$/.test(s) ? Number(s) : null);
  const cpu = /^usage_usec (\d+)$/m.exec(readCgroupFile(dir, "cpu.stat") ?? "");
  return {
    memoryBytes: num(readCgroupFile(dir, "memory.current")),
    cpuUsec: cpu ? Number(cpu[1]) : null,
    pids: num(readCgroupFile(dir, "pids.current")) ?? cgroupTreePids(dir).length,
  };
}
