// PID 1 SIGSTOPped and resumed: the beats it could not run are counted as missed, and its metabolic worker (frozen with it) is not taken for a stalled one.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, sleep, start, tempDir, waitFor, writeJson } from "./harness.ts";

afterEach(killLeftovers);

test("after PID 1 was SIGSTOPped for 3 s (stale limit 2 s) its healthy metabolic worker was terminated as stalled at the first beat and counted as a crash; it is kept, the skipped beats are counted as missed", async () => {
  const dir = tempDir();
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    heartbeat_ms: 100,
    heartbeat_log_every: 1,
    heartbeat: { watchdog: false },
    services: [{ name: "idle", argv: ["sleep", "1000"] }],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  const init = await run.initPid();
  const beats = () => run.log().match(/ beat n=/g)?.length ?? 0;
  await waitFor(() => run.log().includes("metabolic worker ready") && beats() >= 5, 60_000, "the worker and five beats");
  process.kill(init, "SIGSTOP");
  await sleep(3000); // the fault: longer than the stale limit (max(1 s, 20 periods) = 2 s)
  process.kill(init, "SIGCONT");
  const resumedAt = beats();
  // Thirty beats after the resume: past the first one (where the stall was judged) and past another stale limit.
  await waitFor(() => beats() >= resumedAt + 30, 60_000, "thirty beats after the resume");
  const status = JSON.parse((await runShippedAsync(["status", "--json", "--socket", join(dir, "run/control")])).out);
  expect(run.log().match(/.*metabolic worker stalled.*/)?.[0] ?? null).toBeNull();
  expect({ starts: status.heartbeat.metabolic.workerStarts, crashes: status.heartbeat.metabolic.workerCrashes }).toEqual({ starts: 1, crashes: 0 });
  expect(status.heartbeat.missed).toBeGreaterThan(10); // ~29 slots of 100 ms were skipped, not made up
  expect(status.heartbeat.state).toBe("running");
}, 150_000);
