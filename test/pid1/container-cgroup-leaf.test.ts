// PID 1 of a container (its cgroup not a root) stayed in the cgroup its services' controllers are enabled in: cgroup v2 refused memory and io there (EBUSY), so memory_max, memory_high and io_weight were never enforced.
import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { containerCgroup, mount } from "./container-cgroup.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";
import { read } from "./file-text.ts";

afterEach(killLeftovers);

describe.skipIf(mount === null)("PID 1 in a cgroup that is not a root", () => {
  test("a container's PID 1 kept itself in the cgroup it enabled its services' controllers in (EBUSY for memory and io: their limits were never enforced); it moves into a leaf of its own, leaving that cgroup empty, keeps it through a live re-exec, and goes back at its exit", async () => {
    const dir = tempDir();
    // The container's cgroup, under the host's root, and a PID 1 that is its only process.
    const { path: container, wrapper, rootOffers, cleanup } = containerCgroup(dir, "move");
    const cfg = writeJson(dir, "config.json", {
      run_dir: join(dir, "run"),
      state_dir: join(dir, "state"),
      pixel_test: false,
      services: [{ name: "svc", argv: ["sh", "-c", `cat /proc/self/cgroup > ${dir}/cgroup.txt; exec sleep 1000`] }],
    });
    const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true, exe: wrapper });
    try {
      await waitFor(() => read(join(dir, "cgroup.txt")) !== "", 20_000, "the service to run");
      const init = await run.initPid();
      const initCgroup = /^0::(.*)$/m.exec(readFileSync(`/proc/${init}/cgroup`, "utf8"))![1]!;
      const name = /^\/vb-leaf-test-[^/]+\/(vector-boot\.pidns-\d+)\.init$/.exec(initCgroup);
      expect({ initCgroup, matches: name !== null }).toEqual({ initCgroup, matches: true });
      // The services' directory is the leaf's sibling, and the container's own cgroup holds no process.
      expect(read(join(dir, "cgroup.txt"))).toContain(`0::${container.slice(mount!.length)}/${name![1]}/svc`);
      expect(readFileSync(join(container, "cgroup.procs"), "utf8").trim()).toBe("");
      expect(run.log()).toContain("the init moved into a leaf cgroup of its own");
      // What the kernel now allows: a domain controller for the container's children, where it said EBUSY.
      const offered = readFileSync(join(container, "cgroup.controllers"), "utf8").trim().split(/\s+/).filter(Boolean);
      const domain = offered.find((c) => c === "memory" || c === "io" || c === "hugetlb");
      expect(domain === undefined && rootOffers.includes("hugetlb")).toBe(false);
      if (domain !== undefined && !readFileSync(join(container, "cgroup.subtree_control"), "utf8").includes(domain)) {
        writeFileSync(join(container, "cgroup.subtree_control"), `+${domain}`);
        expect(readFileSync(join(container, "cgroup.subtree_control"), "utf8")).toContain(domain);
        writeFileSync(join(container, "cgroup.subtree_control"), `-${domain}`);
      }
      // A live re-exec: the new image finds itself in the leaf, keeps the same services' directory and adopts the service.
      const svcDir = join(container, name![1]!, "svc");
      // Once the service is its sleep alone (the shell's cat gone).
      const procs = () => readFileSync(join(svcDir, "cgroup.procs"), "utf8").trim();
      await waitFor(() => /^\d+$/.test(procs()), 10_000, "the service's one process");
      const servicePids = procs();
      expect((await runShippedAsync(["reexec", "--socket", join(dir, "run", "control"), "--timeout", "60000"], 90_000)).code).toBe(0);
      expect(/^0::(.*)$/m.exec(readFileSync(`/proc/${init}/cgroup`, "utf8"))![1]).toBe(initCgroup);
      expect(readFileSync(join(svcDir, "cgroup.procs"), "utf8").trim()).toBe(servicePids);
      expect(readFileSync(join(container, "cgroup.procs"), "utf8").trim()).toBe("");
      process.kill(init, "SIGTERM");
      const r = await run.result(20_000);
      expect(r.code).toBe(130);
      // At its exit it went back and removed its leaf and the services' directory.
      expect(readdirSync(container, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name)).toEqual([]);
    } finally {
      await run.result(1).catch(() => {});
      await cleanup();
    }
  }, 60_000);
});
