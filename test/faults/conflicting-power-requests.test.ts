// Two operators at once: `vector-boot poweroff`, then `vector-boot reboot` while the poweroff's shutdown still stopped
// the services. The reboot was answered "reboot requested" (exit 0) and the machine powered off.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("as PID 1, a reboot requested while a poweroff's shutdown was under way said 'reboot requested' (exit 0) and the machine powered off; it is refused as not now (75) naming the poweroff, and a second poweroff is answered as already under way", async () => {
  const dir = tempDir();
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    heartbeat_ms: 50,
    heartbeat_log_every: 0,
    // Ignores SIGTERM: the shutdown waits its grace period (2 s) before SIGKILL, the socket still open.
    services: [{ name: "stubborn", argv: ["/bin/sh", "-c", "trap '' TERM; while :; do sleep 1; done"], grace_ms: 2_000 }],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  const sock = join(dir, "run/control");
  await waitFor(() => run.log().includes("control socket listening") && /service started service=stubborn/.test(run.log()), 30_000, "the init's control socket and service");

  const off = await runShippedAsync(["poweroff", "--socket", sock]);
  expect(off).toMatchObject({ code: 0, out: "poweroff requested\n" });
  await waitFor(() => /stopping service|service stopping|stop signal/i.test(run.log()) || run.log().includes("shutdown requested"), 5_000, "the shutdown to begin");

  const reboot = await runShippedAsync(["reboot", "--socket", sock]);
  const again = await runShippedAsync(["poweroff", "--json", "--socket", sock]);
  const r = await run.result(30_000);
  // reboot(2) in a PID namespace: its init dies of SIGINT for a power-off (unshare 130), SIGHUP for a reboot (129).
  expect(r.code).toBe(130);
  expect(reboot.out).toBe("");
  expect(reboot.err).toContain("busy");
  expect(reboot.err).toContain("already shutting down (poweroff");
  expect(reboot.code).toBe(75);
  expect(again.code).toBe(0);
  expect(JSON.parse(again.out)).toEqual({ mode: "poweroff", already: true });
}, 60_000);
