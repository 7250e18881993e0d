// A service that never became ready restarted after the first back-off every time: a run killed at its readiness timeout counted as a stable run whenever the timeout was at least stable_after_ms.
import { afterEach, expect, test } from "bun:test";
import { killLeftovers, tempDir, waitFor } from "./harness.ts";
import { bootServices } from "./service-boot.ts";

afterEach(killLeftovers);

test("a service killed at each readiness timeout (300 ms, longer than stable_after_ms 200) restarted with failures=1 backoff_ms=100 every time, forever: its back-off grows 100, 200, 400 ms", async () => {
  const dir = tempDir();
  const svc = { name: "mute", argv: ["sleep", "600"], ready: { notify: true, timeout_ms: 300 }, grace_ms: 100, stable_after_ms: 200, backoff_initial_ms: 100, backoff_factor: 2, backoff_max_ms: 10_000, storm_max: 50 };
  const { run } = bootServices(dir, [svc], { heartbeat_ms: 100, heartbeat_log_every: 0 });
  const restarts = () => [...run.log().matchAll(/service exited; restarting after back-off service=mute .*backoff_ms=(\d+) failures=(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
  await waitFor(() => restarts().length >= 3, 30_000, "three restarts", { explain: () => run.log() });
  expect(restarts().slice(0, 3)).toEqual([
    [100, 1],
    [200, 2],
    [400, 3],
  ]);
  run.proc.kill("SIGTERM");
  await run.result(30_000);
}, 60_000);
