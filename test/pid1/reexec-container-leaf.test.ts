// A container's PID 1 that moved into its own leaf (<base>.init) and was then re-exec'd live left that leaf behind at its exit: the new image did not know which controllers the old one had enabled in the container's cgroup, and could not go back there (EBUSY).
import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bootArgs } from "./boot-args.ts";
import { containerCgroup, mount } from "./container-cgroup.ts";
import { read } from "./file-text.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";
import { liveReexec } from "./live-reexec.ts";

afterEach(killLeftovers);

const subdirs = (dir: string) => readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);

describe.skipIf(mount === null)("PID 1 in its own leaf through a live re-exec", () => {
  test("a container's PID 1 re-exec'd live after moving into its leaf could not leave it at its exit (a controller enabled in the container's cgroup before the exec made the move back EBUSY, and the new image disabled only those it had enabled itself: none), so the leaf stayed; it leaves it and removes it", async () => {
    const dir = tempDir();
    const container = containerCgroup(dir, "reexec");
    const cfg = writeJson(dir, "config.json", {
      run_dir: join(dir, "run"),
      state_dir: join(dir, "state"),
      pixel_test: false,
      heartbeat_log_every: 0,
      services: [{ name: "svc", argv: ["sh", "-c", `cat /proc/self/cgroup > ${dir}/cgroup.txt; exec sleep 1000`] }],
    });
    const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true, exe: container.wrapper });
    try {
      // A domain controller to enable in the container's cgroup: hugetlb here, lent by the root.
      expect(container.domain).toBeDefined();
      await waitFor(() => read(join(dir, "cgroup.txt")) !== "" && run.log().includes("control socket listening"), 20_000, "the service to run");
      const init = await run.initPid();
      const leaf = /^0::\/vb-leaf-test-[^/]+\/(vector-boot\.pidns-\d+\.init)$/m.exec(readFileSync(`/proc/${init}/cgroup`, "utf8"))?.[1];
      expect(leaf).toBeDefined();
      // What the image before the exec enables there for its services (memory, pids, cpu, io: none is
      // on this host's cgroup v2 hierarchy) stands in as a domain controller enabled while the init is in its leaf.
      writeFileSync(join(container.path, "cgroup.subtree_control"), `+${container.domain}`);
      await liveReexec(run, join(dir, "run", "control"));
      expect(readFileSync(`/proc/${init}/cgroup`, "utf8")).toContain(`/${leaf}\n`);
      process.kill(init, "SIGTERM");
      expect((await run.result(20_000)).code).toBe(130);
      // It went back into the container's cgroup and removed its leaf and the services' directory.
      expect(subdirs(container.path)).toEqual([]);
    } finally {
      await run.result(1).catch(() => {});
      await container.cleanup();
    }
  }, 90_000);
});
