// A SIGHUP during the boot was dropped without a word (the re-exec hook was set only once every phase had started).
import { afterEach, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bootArgs } from "../pid1/boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("a SIGHUP while the boot waits for a mount's disk is not dropped: the re-exec runs once the boot is done", async () => {
  const dir = tempDir();
  // The storage phase waits for a /dev source to appear; tmpfs ignores the source once it has.
  const disk = `/dev/vb-test-disk-${process.pid}-${Date.now()}`;
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    heartbeat_ms: 50,
    mounts: [{ source: disk, target: join(dir, "mnt"), fstype: "tmpfs", wait_ms: 60_000 }],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  try {
    const init = await run.initPid();
    await waitFor(() => run.log().includes("waiting for the mount source to appear"), 20_000, "the storage phase to wait for the disk");
    process.kill(init, "SIGHUP");
    await waitFor(() => run.log().includes("re-exec requested during the boot: it runs once the boot is done"), 10_000, "the SIGHUP to be taken");
    expect(run.log()).not.toContain("resuming after re-exec");
    writeFileSync(disk, "");
    await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec after the boot", { explain: () => run.log() });
    // The new image takes signals once its own boot has started its beat (before that a SIGTERM
    // to PID 1 with no handler yet is dropped by the kernel): wait for its first beat.
    const since = () => run.log().slice(run.log().indexOf("resuming after re-exec generation=1 "));
    await waitFor(() => since().includes("heartbeat: first heartbeat"), 30_000, "the new image's first beat");
    // The boot had finished (the mount done, the beat running) before the image was replaced.
    const log = run.log();
    expect(log.indexOf("mounted source=")).toBeGreaterThan(-1);
    expect(log.indexOf("mounted source=")).toBeLessThan(log.indexOf("resuming after re-exec"));
    expect(log.indexOf("heartbeat: first heartbeat")).toBeLessThan(log.indexOf("resuming after re-exec"));
    process.kill(init, "SIGTERM");
    const r = await run.result(30_000);
    expect(r.stderr).toContain("poweroff now");
  } finally {
    rmSync(disk, { force: true });
  }
}, 90_000);
