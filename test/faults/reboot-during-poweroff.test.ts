// `vector-boot reboot` during a power-off shutdown answered ok ("reboot") and the machine powered off anyway.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("as PID 1, reboot asked over the control socket while a SIGTERM power-off stops the services answered ok and the machine powered off; it is not now (75) naming the power-off, and a second poweroff is still ok", async () => {
  const dir = tempDir();
  const sock = join(dir, "run", "control");
  // A service that takes its 3 s grace to stop keeps the shutdown (and the control socket) going.
  const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: join(dir, "run"), state_dir: join(dir, "state"), services: [{ name: "slow", grace_ms: 3000, argv: ["sh", "-c", "trap '' TERM; echo up >&2; while :; do sleep 0.1; done"] }] });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("control socket listening") && run.log().includes("slow: up\n"), 30_000, "the control socket and the service");
  process.kill(init, "SIGTERM");
  await waitFor(() => run.log().includes("phase shutdown"), 10_000, "the shutdown");
  const reboot = await runShippedAsync(["reboot", "--socket", sock]);
  const again = await runShippedAsync(["poweroff", "--socket", sock]);
  const r = await run.result(30_000);
  expect(r.stderr).toContain("poweroff now");
  expect(reboot.code).toBe(75);
  expect(reboot.err).toContain("already shutting down (poweroff)");
  expect(again.code).toBe(0);
}, 60_000);
