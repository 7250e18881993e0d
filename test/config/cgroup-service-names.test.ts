// Service names that are cgroup interface files (cgroup.procs, cgroup.kill, memory.max): accepted, then run without a cgroup after one warning.
import { expect, test } from "bun:test";
import { runShipped } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { tempDir, writeJson } from "../pid1/harness.ts";

test("a service named cgroup.procs, cgroup.kill or memory.max (its cgroup directory cannot be made beside those files: no limits, no cgroup.kill) said 'config ok'; refused with exit 78 naming services[i].name", () => {
  const dir = tempDir();
  const check = (name: string) => {
    const cfg = writeJson(dir, "c.json", { services: [{ name: "first", argv: ["true"] }, { name, argv: ["true"], memory_max: "64M" }] });
    return { cfg, ...runShipped(["boot", "--check", "--config", cfg, ...bootArgs()], { timeoutMs: 20_000 }) };
  };
  for (const name of ["cgroup.procs", "cgroup.kill", "cgroup.subtree_control", "memory.max", "cpu.max", "pids.max", "io.weight", "memory.not-yet-a-file"]) {
    const r = check(name);
    expect({ name, code: r.code }).toEqual({ name, code: 78 });
    expect(r.stderr).toContain(`${r.cfg}: services[1].name: ${JSON.stringify(name)} is in the namespace of cgroup interface files (${name.split(".")[0]}.*)`);
  }
  // A dot elsewhere, or a controller's name alone, is no interface file.
  for (const name of ["db.primary", "memory", "cgroups.x", "api.memory.max"]) {
    const r = check(name);
    expect({ name, code: r.code, err: r.stderr }).toEqual({ name, code: 0, err: "" });
  }
}, 120_000);
