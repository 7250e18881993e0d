// Timers handed over at a live re-exec stood still from the snapshot to the new image's services phase: a stop's grace (and a back-off, a hook's timeout, a readiness wait) lasted that much longer.
import { afterEach, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { betweenImages, killLeftovers, killRunning, pidsRunning, tempDir, waitFor } from "./harness.ts";
import { bootServices } from "./service-boot.ts";

const marker = ["sleep", "7001.33"];
afterEach(() => {
  killLeftovers();
  killRunning(marker);
});

test("a service ignoring SIGTERM (grace 2.5 s) whose stop began just before a re-exec that took 1.5 s between the images got SIGKILL 4 s after its SIGTERM: 2.5 s", async () => {
  const dir = tempDir();
  const term = join(dir, "term");
  // The stop signal is noted, then ignored; its child (ignoring it too) is the marker to find the run by.
  const svc = { name: "stubborn", argv: ["sh", "-c", `trap ': > ${term}' TERM; (trap '' TERM; exec ${marker.join(" ")}) & while :; do wait; done`], grace_ms: 2500 };
  const { run, list } = bootServices(dir, [svc], { heartbeat_ms: 100, heartbeat_log_every: 0 }, { pid1: true });
  const sock = join(dir, "run", "control");
  await waitFor(async () => (await list())[0]?.state === "running" && pidsRunning(marker).length === 1, 30_000, "the service");
  const slow = betweenImages(dir, "slow", "time.sleep(1.5)");
  void runShippedAsync(["stop", "stubborn", "--socket", sock], 60_000);
  await waitFor(() => existsSync(term), 10_000, "the stop signal", { pollMs: 5 });
  const termAt = performance.now();
  const r = await runShippedAsync(["reexec", slow, "--socket", sock, "--timeout", "30000"], 60_000);
  expect(r.code, r.err).toBe(0);
  await waitFor(() => pidsRunning(marker).length === 0, 20_000, "the SIGKILL", { pollMs: 5 });
  const graceMs = performance.now() - termAt;
  expect(run.log()).toMatch(/phase services .*handover_gap_ms=(1[5-9]\d\d|[2-9]\d\d\d)/);
  expect(graceMs).toBeGreaterThan(2300);
  expect(graceMs).toBeLessThan(3400);
  process.kill(await run.initPid(), "SIGTERM");
  await run.result(30_000);
}, 90_000);
