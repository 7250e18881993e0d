// A shutdown asked during the boot waited for the phase at hand to finish, then started every later phase (services included) before stopping them.
import { afterEach, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { bootArgs } from "../pid1/boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("as PID 1 a SIGTERM while the storage phase waits 60 s for a disk waited it out and then started the services; it stops the wait, starts no service and powers off at once", async () => {
  const dir = tempDir();
  const marker = join(dir, "service-ran");
  // A disk that never appears: the storage phase would wait all of its wait_ms.
  const disk = `/dev/vb-test-never-${process.pid}-${Date.now()}`;
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    mounts: [{ source: disk, target: join(dir, "mnt"), fstype: "tmpfs", wait_ms: 60_000 }],
    services: [{ name: "svc", argv: ["sh", "-c", `touch ${marker}; exec sleep 1000`] }],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("waiting for the mount source to appear"), 20_000, "the storage phase to wait for the disk");
  const t0 = performance.now();
  process.kill(init, "SIGTERM");
  const r = await run.result(40_000);
  const ms = performance.now() - t0;
  expect(r.stderr).toContain("shutdown requested reason=SIGTERM");
  expect(r.stderr).toContain("poweroff now");
  expect(r.stderr).not.toContain("phase services");
  expect(existsSync(marker)).toBe(false);
  expect(r.stdout).toContain('vector-boot-status {"reason":"SIGTERM"');
  expect(ms).toBeLessThan(15_000); // not the disk's 60 s wait
}, 60_000);
