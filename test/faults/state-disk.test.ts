// A failed state-disk mount disables evolution: mutations used to be acknowledged as durable into the initramfs's RAM.
import { afterEach, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("as PID 1, when the state disk's mount fails, evolution is disabled: no channel, mutations refused, nothing written under the mount point", async () => {
  const dir = tempDir();
  const disk = join(dir, "disk");
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    mounts: [{ source: "/dev/vb-missing-disk", target: disk, fstype: "ext4", wait_ms: 200 }],
  });
  const run = start(["boot", "--config", cfg, "--set", `state_dir=${join(disk, "state")}`], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("phase heartbeat"), 30_000, "the boot to reach the heartbeat");
  expect(run.log()).toContain("mount source did not appear");
  expect(run.log()).toMatch(/evolution disabled: the state disk is not mounted state_dir=\S+\/disk\/state mount=\S+\/disk/);
  expect(existsSync(join(dir, "run/evolution.sock"))).toBe(false);
  const r = runShipped(["mutate", "pixel.1.bias", "0", "--values", "0.5", "--confidence", "0.9", "--socket", join(dir, "run/control")]);
  expect(r.code).not.toBe(0);
  expect(existsSync(join(disk, "state/journal"))).toBe(false);
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 90_000);
