// A NUL ("\u0000" in the JSON) in any config string: a service's variable was dropped, its cwd cut short, and boot --check said "config ok".
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { validateConfig } from "../../src/config/load.ts";
import { runShipped } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { killLeftovers, start, tempDir, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("a NUL in a service's env value (the variable never reached the service) or cwd (\"/tmp\\u0000/x\" ran in /tmp) was accepted; boot --check and the boot exit 78 naming the field", async () => {
  const dir = tempDir();
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ env: { A: "x\u0000y", B: "ok" } }, "services[0].env.A: contains a NUL character"],
    [{ env: { "A\u0000B": "y" } }, "services[0].env.A\\u0000B: contains a NUL character"],
    [{ cwd: "/tmp\u0000/nonexistent" }, "services[0].cwd: contains a NUL character"],
    [{ ready: { file: "/run/ready\u0000x" } }, "services[0].ready.file: contains a NUL character"],
  ];
  for (const [extra, says] of cases) {
    const cfg = writeJson(dir, "c.json", { pixel_test: false, services: [{ name: "envy", argv: ["sh", "-c", "echo A=[${A-unset}]"], ...extra }] });
    const r = runShipped(["boot", "--check", "--config", cfg, ...bootArgs()], { timeoutMs: 20_000 });
    expect({ extra, code: r.code }).toEqual({ extra, code: 78 });
    expect(r.stderr).toContain(`${cfg}: ${says}`);
  }
  // The boot itself (it ran the service with A left out): refused before anything starts.
  const cfg = writeJson(dir, "boot.json", { pixel_test: false, services: [{ name: "envy", argv: ["sh", "-c", "echo A=[${A-unset}]"], env: { A: "x\u0000y" } }] });
  const r = await start(["boot", ...bootArgs(), "--config", cfg, "--set", "shutdown_after=1", "--set", `run_dir=${join(dir, "run")}`, "--set", `state_dir=${join(dir, "state")}`]).result(20_000);
  expect(r.stdout).not.toContain("A=[unset]");
  expect(r.code).toBe(78);
  expect(r.stderr).toContain(`${cfg}: services[0].env.A: contains a NUL character`);
  // The library's validateConfig refuses it too; elsewhere in the file as well (a mount's source).
  expect(() => validateConfig({ mounts: [{ source: "/dev/vda\u0000", target: "/state", fstype: "ext4" }] }, "cfg")).toThrow("cfg: mounts[0].source: contains a NUL character");
  expect(validateConfig({ services: [{ name: "a", argv: ["x"], env: { A: "x y" } }] }).services[0]!.env).toEqual({ A: "x y" });
}, 60_000);
