// A PID 1 in a PID namespace of its own on a host whose cgroup root is mode 0555 left its services' directory (vector-boot.pidns-<inode>) there at a clean exit: it had given up CAP_DAC_OVERRIDE, which removing it takes.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { cgroup2Mount } from "../../src/sys/cgroup.ts";
import { removeCgroupTree } from "../harness/cgroup-tree.ts";
import { read } from "./file-text.ts";
import { killLeftovers, tempDir, waitFor } from "./harness.ts";
import { bootServices } from "./service-boot.ts";

afterEach(killLeftovers);

const mount = cgroup2Mount();

describe.skipIf(mount === null)("a namespaced PID 1's cgroup directory on the host", () => {
  test("a PID 1 in its own PID namespace whose services' directory sits in a cgroup root of mode 0555 (unshare --pid on a host) left it behind at its exit, having dropped CAP_DAC_OVERRIDE; it keeps that capability then, and removes the directory", async () => {
    const dir = tempDir();
    // A service given no capability: the init keeps only its own.
    const { run } = bootServices(dir, [{ name: "svc", argv: ["sh", "-c", `echo up > ${dir}/up; exec sleep 1000`] }], {}, { pid1: true });
    let base = "";
    try {
      await waitFor(() => read(join(dir, "up")) !== "" && run.log().includes("capabilities dropped"), 20_000, "the service to run");
      const init = await run.initPid();
      base = join(mount!, `vector-boot.pidns-${statSync(`/proc/${init}/ns/pid`).ino}`);
      expect(run.log()).toContain(`services get cgroups dir=${base} `);
      // The condition: the cgroup the directory was made in denies root's write without CAP_DAC_OVERRIDE.
      const rootMode = statSync(mount!).mode & 0o777;
      expect(rootMode & 0o200).toBe(0);
      expect(existsSync(join(base, "svc"))).toBe(true);
      process.kill(init, "SIGTERM");
      expect((await run.result(20_000)).code).toBe(130);
      expect(existsSync(base)).toBe(false);
      expect(run.log()).toMatch(/capabilities dropped .*init=[^ ]*CAP_DAC_OVERRIDE/);
    } finally {
      await run.result(1).catch(() => {});
      if (base !== "" && existsSync(base)) removeCgroupTree(base);
    }
  }, 60_000);
});
