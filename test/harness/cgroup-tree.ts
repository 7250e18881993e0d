// A test's own cgroup tree, gone after it: whatever is in it killed, then each cgroup removed, deepest first.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { cgroupPopulated, killCgroup, removeCgroup } from "../../src/sys/cgroup.ts";

/** Removes a cgroup tree, deepest first (the kernel keeps a cgroup that still holds processes). */
function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeTree(join(dir, e.name));
  removeCgroup(dir);
}

/** Kills what is left in `dir` and below (a failed test's processes), waits up to 2 s for it to empty, then removes the tree. */
export function removeCgroupTree(dir: string): void {
  killCgroup(dir);
  const until = Date.now() + 2000;
  while (cgroupPopulated(dir) && Date.now() < until) Bun.sleepSync(10);
  removeTree(dir);
}
