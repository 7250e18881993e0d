// A container's cgroup on the host for the leaf tests: a non-root cgroup that a PID 1 enters before it execs the init, with a domain controller (hugetlb) offered to it where the host has one.
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cgroup2Mount } from "../../src/sys/cgroup.ts";
import { removeCgroupTree } from "../harness/cgroup-tree.ts";
import { exe, waitFor } from "./harness.ts";

export const mount = cgroup2Mount();

const words = (path: string): string[] => readFileSync(path, "utf8").trim().split(/\s+/).filter(Boolean);

/**
 * `<mount>/vb-leaf-test-<pid>-<tag>` (made anew) and `wrapper`, an executable that enters it and
 * execs the init with its arguments (the init is then that cgroup's only process). The root's
 * hugetlb is lent (enabled in the root's subtree_control) while the test runs, when the host has it
 * and it is not enabled there yet: `domain` is then a domain controller the container's cgroup
 * offers. `cleanup` waits for the cgroup to empty (a namespace's last processes die after its PID 1),
 * removes it and gives the controller back.
 */
export function containerCgroup(dir: string, tag: string) {
  const path = join(mount!, `vb-leaf-test-${process.pid}-${tag}`);
  removeCgroupTree(path);
  const wrapper = join(dir, "enter-and-exec.sh");
  writeFileSync(wrapper, `#!/bin/sh\nmkdir -p ${path} && echo 0 > ${path}/cgroup.procs || exit 125\nexec ${exe} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const rootOffers = words(join(mount!, "cgroup.controllers"));
  const lent = rootOffers.includes("hugetlb") && !words(join(mount!, "cgroup.subtree_control")).includes("hugetlb") ? "hugetlb" : undefined;
  if (lent !== undefined) writeFileSync(join(mount!, "cgroup.subtree_control"), `+${lent}`);
  const domain = words(join(mount!, "cgroup.subtree_control")).find((c) => c === "memory" || c === "io" || c === "hugetlb");
  const cleanup = async () => {
    await waitFor(() => !existsSync(path) || /^populated 0$/m.test(readFileSync(join(path, "cgroup.events"), "utf8")), 10_000, "the test cgroup to empty");
    try {
      removeCgroupTree(path);
    } finally {
      if (lent !== undefined) writeFileSync(join(mount!, "cgroup.subtree_control"), `-${lent}`);
    }
  };
  return { path, wrapper, rootOffers, domain, cleanup };
}
