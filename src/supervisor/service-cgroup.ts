// Each service's cgroup v2: where it lives (PID 1 or subreaper), its limits, its usage, and killing all of it.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ServiceConfig } from "../config/schema.ts";
import { describeError } from "../errors.ts";
import { logger } from "../log.ts";
import { processExists } from "../util/process-exists.ts";
import { busyReason, leaveForLeaf, ownWithoutLeaf, returnFromLeaf, type Leaf } from "./init-leaf-cgroup.ts";
import { cgroup2Mount, cgroupOf, cgroupPopulated, cgroupSubtreeIds, cgroupTreePids, cgroupUsage, cgroupWritable, enableController, killCgroup, makeCgroup, readCgroupFile, removeCgroup, removeCgroupTree, writeCgroupFile, type CgroupUsage } from "../sys/cgroup.ts";

const log = logger("cgroup");

type LimitKey = "memory_max" | "memory_high" | "cpu_max" | "pids_max" | "io_weight";

/** Config key -> controller and control file (the value written when the key is unset). */
const limits: ReadonlyArray<{ key: LimitKey; controller: string; file: string; unset: string }> = [
  { key: "memory_max", controller: "memory", file: "memory.max", unset: "max" },
  { key: "memory_high", controller: "memory", file: "memory.high", unset: "max" },
  { key: "cpu_max", controller: "cpu", file: "cpu.max", unset: "max" },
  { key: "pids_max", controller: "pids", file: "pids.max", unset: "max" },
  { key: "io_weight", controller: "io", file: "io.weight", unset: "default 100" },
];

/** The machine's PID namespace (the kernel's PROC_PID_INIT_INO). */
export const INIT_PID_NS = 0xeffffffc;

/** Inode of our PID namespace: INIT_PID_NS on the machine, another inside a container or `unshare --pid`. */
export function pidNamespaceInode(procRoot = "/proc"): number {
  try {
    return statSync(join(procRoot, "self/ns/pid")).ino;
  } catch {
    return INIT_PID_NS; // no /proc/self/ns: take it for the machine's
  }
}

/** Where services' cgroups go, or why there are none. */
export type CgroupPlace = { parent: string; base: string; machineNs: boolean } | { off: string };

/**
 * As PID 1: <cgroup2 mount><own cgroup>/vector-boot (the root cgroup on a machine, so
 * /sys/fs/cgroup/vector-boot). As a subreaper: <own cgroup>/vector-boot.<pid>, when our own cgroup
 * is delegated to us (writable). Inside a PID namespace that is not the machine's (a container, a
 * test), PID 1's directory is vector-boot.pidns-<inode>, so two such inits never share one.
 */
export function cgroupPlace(pid1: boolean, procRoot = "/proc"): CgroupPlace {
  const mount = cgroup2Mount(procRoot);
  if (mount === null) return { off: "no cgroup2 filesystem is mounted" };
  const own = cgroupOf(procRoot, "self");
  if (own === null) return { off: "this process is in no cgroup v2" };
  const pidnsInode = pidNamespaceInode(procRoot);
  const name = !pid1 ? `vector-boot.${process.pid}` : pidnsInode === INIT_PID_NS ? "vector-boot" : `vector-boot.pidns-${pidnsInode}`;
  // After a live re-exec the init is in its own leaf already (init-leaf-cgroup.ts): the services' parent is the leaf's.
  const parent = join(mount, ownWithoutLeaf(own, name));
  const base = join(parent, name);
  // After a live re-exec the directory exists already (and the init may have given up CAP_DAC_OVERRIDE,
  // which creating it in the root cgroup, mode 0555, takes): only it needs to be writable then.
  if (!cgroupWritable(existsSync(base) ? base : parent)) return { off: `our cgroup ${parent} is not delegated to us (not writable)` };
  return { parent, base, machineNs: pidnsInode === INIT_PID_NS };
}

/**
 * Whether this process may remove an entry of `dir` without CAP_DAC_OVERRIDE: the mode's write and
 * search bits that apply to its uid and gid. A root cgroup is mode 0555: root makes a directory there
 * only through that capability, and removes it only while it still holds it.
 */
function writableByMode(dir: string): boolean {
  try {
    const st = statSync(dir);
    const bits = st.uid === process.getuid?.() ? st.mode >> 6 : st.gid === process.getgid?.() ? st.mode >> 3 : st.mode;
    return (bits & 0o3) === 0o3;
  } catch {
    return true; // cannot tell: nothing kept for it
  }
}

/**
 * An init killed with SIGKILL leaves its empty cgroup (and its services') behind, and they piled up in
 * the caller's cgroup: a development init's vector-boot.<pid>, removed when that pid is gone, and
 * (seen from the machine's PID namespace only, where every process is visible) a namespaced PID 1's
 * vector-boot.pidns-<inode>, removed when no process is left in that namespace. A cgroup with a
 * process in it is left alone (rmdir refuses it). Returns the names removed.
 */
function sweepStale(parent: string, machineNs: boolean): string[] {
  const removed: string[] = [];
  let entries;
  try {
    entries = readdirSync(parent, { withFileTypes: true });
  } catch {
    return removed;
  }
  // Scanned after the listing: a namespace whose directory was listed existed before the scan began.
  let live: Set<number> | null | undefined;
  const namespaceAlive = (inode: number) => {
    if (live === undefined) live = machineNs ? livePidNamespaces() : null;
    return live === null || live.has(inode); // null: cannot tell, so keep it
  };
  for (const e of entries) {
    // The init's own leaf (<name>.init) too: empty once its init is gone.
    const m = /^vector-boot\.(?:(\d+)|pidns-(\d+))(?:\.init)?$/.exec(e.name);
    if (!m || !e.isDirectory()) continue;
    if (m[1] !== undefined ? processExists(Number(m[1])) : namespaceAlive(Number(m[2]))) continue;
    const dir = join(parent, e.name);
    // The services' cgroups and those they made below them, bottom up (rmdir refuses one with a process).
    if (removeCgroupTree(dir)) removed.push(e.name);
  }
  return removed;
}

/** The PID namespaces that still hold a process (by inode), or null when some process's cannot be read. */
function livePidNamespaces(procRoot = "/proc"): Set<number> | null {
  const live = new Set<number>();
  for (const name of readdirSync(procRoot)) {
    if (!/^\d+$/.test(name)) continue;
    try {
      live.add(statSync(join(procRoot, name, "ns/pid")).ino);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "ENOENT" || code === "ESRCH") continue; // exited meanwhile
      // EACCES (another user's process, or one not dumpable): fine when it lives in our own namespace
      // (one pid in its NSpid line), so not in one of those whose directories are looked at.
      if (!inOwnNamespace(procRoot, name)) return null;
    }
  }
  return live;
}

function inOwnNamespace(procRoot: string, pid: string): boolean {
  try {
    const line = /^NSpid:(.*)$/m.exec(readFileSync(join(procRoot, pid, "status"), "utf8"));
    return line !== null && line[1]!.trim().split(/\s+/).length === 1;
  } catch {
    return false;
  }
}

/**
 * `enableController` in the parent; right after the init moved out of it, an EBUSY is tried again
 * for up to 100 ms (the kernel can still count the moved process there for a moment, as crun found).
 */
function enableInParent(parent: string, c: string, justMoved: boolean): string | null {
  let refused = enableController(parent, c);
  for (let i = 0; justMoved && refused === "EBUSY" && i < 20; i++) {
    Bun.sleepSync(5);
    refused = enableController(parent, c);
  }
  return refused;
}

export class ServiceCgroups {
  private readonly enabled: Set<string>;
  private readonly warned = new Set<string>();
  /** The init's own leaf cgroup, when it moved there (init-leaf-cgroup.ts), and the controllers it then enabled in the parent. */
  private readonly leaf: Leaf | null;
  private readonly enabledInParent: string[] = [];

  private constructor(
    readonly base: string,
    private readonly parent: string,
    wanted: string[],
    /**
     * Removing `base` at shutdown takes CAP_DAC_OVERRIDE (privileges.ts keeps it then): a PID 1 in a
     * PID namespace of its own whose directory sits in a cgroup of mode 0555, a host's root cgroup
     * (unshare --pid, no cgroup namespace). It gave the capability up and left
     * vector-boot.pidns-<inode> on the host at every exit. Not the machine's PID 1: the machine reboots.
     */
    readonly removalNeedsOverride: boolean,
  ) {
    makeCgroup(base);
    this.leaf = leaveForLeaf(parent, base);
    const before = new Set((readCgroupFile(parent, "cgroup.subtree_control") ?? "").split(/\s+/).filter(Boolean));
    const busy: string[] = [];
    for (const c of wanted) {
      const refused = before.has(c) ? null : enableInParent(parent, c, this.leaf !== null);
      if (refused === "EBUSY") busy.push(c);
      if (refused !== null) continue;
      if (!before.has(c)) this.enabledInParent.push(c);
      enableController(base, c);
    }
    if (busy.length > 0) log.warn(`cgroup controllers ${busy.join(",")} cannot be enabled: ${busyReason(parent)}`);
    this.enabled = new Set((readCgroupFile(base, "cgroup.subtree_control") ?? "").split(/\s+/).filter(Boolean));
  }

  /** Sets up the services' parent cgroup; null (after one line saying why) when cgroups are off. */
  static create(place: CgroupPlace, services: ServiceConfig[]): ServiceCgroups | null {
    if ("off" in place) {
      log.info(`cgroups are off: ${place.off}; services share the init's cgroup`);
      return null;
    }
    // Not from inside another PID namespace: the pids in vector-boot.<pid> names are not ours to test there.
    if (place.machineNs || /\/vector-boot\.\d+$/.test(place.base)) {
      const swept = sweepStale(place.parent, place.machineNs);
      if (swept.length > 0) log.info("removed empty cgroups of inits that were killed", { dirs: swept.join(",") });
    }
    const wanted = ["memory", "pids", "cpu", ...(services.some((s) => s.io_weight !== undefined) ? ["io"] : [])];
    try {
      const cg = new ServiceCgroups(place.base, place.parent, wanted, !place.machineNs && !writableByMode(place.parent));
      log.info("services get cgroups", { dir: cg.base, controllers: [...cg.enabled].join(",") || "-" });
      return cg;
    } catch (e) {
      log.warn(`cgroups are off: cannot create ${place.base}: ${describeError(e)}; services share the init's cgroup`);
      return null;
    }
  }

  pathOf(name: string): string {
    return join(this.base, name);
  }

  /**
   * Creates the service's cgroup and writes its limits (unset ones lifted). A limit whose controller
   * is missing gets one line naming it, and the service runs without that limit. Returns the
   * directory to spawn into, or null when it cannot be created (the service runs in ours).
   */
  prepare(c: ServiceConfig): string | null {
    const dir = this.pathOf(c.name);
    try {
      makeCgroup(dir);
    } catch (e) {
      log.warn("cannot create the service's cgroup; it runs without one", { service: c.name, dir, error: describeError(e) });
      return null;
    }
    for (const l of limits) {
      const value = c[l.key];
      if (!this.enabled.has(l.controller)) {
        const once = `${c.name}/${l.controller}`;
        if (value !== undefined && !this.warned.has(once)) {
          this.warned.add(once);
          log.warn(`cgroup controller "${l.controller}" is not available under ${this.base}; ${l.key} is not enforced`, { service: c.name });
        }
        continue;
      }
      try {
        writeCgroupFile(dir, l.file, value === undefined ? l.unset : l.key === "io_weight" ? `default ${value}` : String(value));
      } catch (e) {
        log.warn(`cannot set ${l.file}`, { service: c.name, value: value === undefined ? l.unset : String(value), error: describeError(e) });
      }
    }
    return dir;
  }

  /**
   * The service's cgroup for one of its commands (pre_start, post_stop, a probe): as it is when it
   * exists, else made by `prepare`. Writing the limits again from a command lifted a cpu.max throttle
   * at every exec health probe; the main process's spawn writes them for each run.
   */
  enter(c: ServiceConfig): string | null {
    const dir = this.pathOf(c.name);
    return existsSync(dir) ? dir : this.prepare(c);
  }

  /** Whether the service has its cgroup (prepare may have failed: then it runs in the init's, judged as with cgroups off). */
  has(name: string): boolean {
    return existsSync(this.pathOf(name));
  }

  usage(name: string): CgroupUsage | null {
    return cgroupUsage(this.pathOf(name));
  }

  populated(name: string): boolean {
    return cgroupPopulated(this.pathOf(name));
  }

  /** Its processes, those in cgroups it made below its own too (a sandbox, workers moved into sub-cgroups). */
  pids(name: string): number[] {
    return cgroupTreePids(this.pathOf(name));
  }

  /** The ids of the cgroups the service made below its own (a sender of sd_notify may run in one). */
  subtreeIds(name: string): Set<bigint> {
    return cgroupSubtreeIds(this.pathOf(name));
  }

  /** The id of the service's cgroup (its directory's inode, the id the kernel gives for a process in it), or null when it has none. */
  id(name: string): bigint | null {
    try {
      return statSync(this.pathOf(name), { bigint: true }).ino;
    } catch {
      return null;
    }
  }

  /** SIGKILL to everything in the service's cgroup (double-forked escapees too). */
  kill(name: string): boolean {
    return killCgroup(this.pathOf(name));
  }

  /** At shutdown: removes the (empty) service cgroups and the parent. */
  removeAll(names: string[]): void {
    for (const n of names) removeCgroupTree(this.pathOf(n));
    if (removeCgroup(this.base) && this.leaf !== null) returnFromLeaf(this.parent, this.leaf, this.enabledInParent);
  }
}
