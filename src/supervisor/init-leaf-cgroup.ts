// The init's own leaf cgroup: it leaves the cgroup its services' controllers are enabled in (cgroup v2 gives no controller to the children of a cgroup with processes in it).
import { basename, dirname } from "node:path";
import { describeError } from "../errors.ts";
import { logger } from "../log.ts";
import { cgroupPids, enableController, isRootCgroup, makeCgroup, moveSelfTo, readCgroupFile, removeCgroup } from "../sys/cgroup.ts";

const log = logger("cgroup");

/** The init's leaf, and whether a previous image moved it there (a live re-exec: what that image enabled in the parent is not known). */
export interface Leaf {
  dir: string;
  adopted: boolean;
}

/** The init's leaf beside its services' directory `base`: `<base>.init`. */
export const leafOf = (base: string): string => `${base}.init`;

/** The services' parent as seen from inside the leaf after a live re-exec: `own` with the leaf's name (`<name>.init`) taken off. */
export function ownWithoutLeaf(own: string, name: string): string {
  return basename(own) === basename(leafOf(name)) ? dirname(own) : own;
}

/**
 * Before controllers are enabled in `parent` for `base`: the init, alone in a cgroup that is not a
 * root (a container's, a delegated unit's), moves itself into `<base>.init`, or memory and io (the
 * domain controllers) are refused with EBUSY and memory_max, memory_high and io_weight are never
 * enforced. A parent holding other processes is left as it is (they are not ours to move: the
 * controllers' warning names them). Returns the leaf, or null when it stayed where it was.
 */
export function leaveForLeaf(parent: string, base: string): Leaf | null {
  if (isRootCgroup(parent)) return null;
  const leaf = leafOf(base);
  // After a live re-exec: moved there by the previous image.
  if (cgroupPids(leaf).includes(process.pid)) return { dir: leaf, adopted: true };
  const pids = cgroupPids(parent);
  if (pids.length !== 1 || pids[0] !== process.pid) return null;
  try {
    makeCgroup(leaf);
    moveSelfTo(leaf);
  } catch (e) {
    log.warn("cannot move the init into a leaf cgroup of its own; the services' memory and io limits may not be enforced", { dir: leaf, error: describeError(e) });
    removeCgroup(leaf);
    return null;
  }
  log.info("the init moved into a leaf cgroup of its own (its cgroup is not a root: the services' controllers need it empty)", { dir: leaf });
  return { dir: leaf, adopted: false };
}

/** What the warning about a controller `parent` refused with EBUSY says: who is in it. */
export function busyReason(parent: string): string {
  const pids = cgroupPids(parent);
  return `${parent} holds processes (${pids.slice(0, 8).join(",")}${pids.length > 8 ? ",..." : ""}) and is not a root cgroup: cgroup v2 enables no memory or io controller for the children of such a cgroup`;
}

/**
 * At shutdown, after `base` is gone: back into `parent` (the controllers this init enabled there
 * disabled first: while the leaf holds a process, the kernel refuses one in a cgroup that enables
 * any) and the leaf removed. A leaf adopted after a live re-exec: this image does not know which
 * ones the image before enabled (none was disabled, the move failed with EBUSY and the leaf was left
 * behind), so every one enabled in the parent goes, as the move back needs. Best effort: what is
 * left is removed by the next init's sweep (or with the container's cgroup).
 */
export function returnFromLeaf(parent: string, leaf: Leaf, enabledHere: readonly string[]): void {
  const enabled = leaf.adopted ? (readCgroupFile(parent, "cgroup.subtree_control") ?? "").split(/\s+/).filter(Boolean) : enabledHere;
  for (const c of enabled) enableController(parent, c, false);
  try {
    moveSelfTo(parent);
  } catch (e) {
    log.warn("cannot leave the init's leaf cgroup at exit; it is left for the next init's sweep", { dir: leaf.dir, error: describeError(e) });
    return;
  }
  removeCgroup(leaf.dir);
}
