// Workers load from the executable's own bundle: copied away from the checkout (hidden), as PID 1, the metabolic
// worker samples and the mat-vec pool starts. They used to die with ModuleNotFound on the build machine's path.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { root, runShipped } from "../harness/artifact.ts";
import { killLeftovers, start, tempDir, waitFor } from "./harness.ts";

afterEach(killLeftovers);

test("the shipped executable as PID 1 with the checkout hidden samples hw.mmio (no worker crash) and starts its mat-vec pool for a 1 MiB matrix", async () => {
  const dir = tempDir();
  // A vectorland model whose pixel.0 matrix is 1024 x 256 F32 = 1 MiB (the pool's threshold).
  const big = join(dir, "big.gguf");
  const g = Bun.spawnSync([process.execPath, join(root, "scripts/gen-vectorland.ts"), "-o", big, "--pixel-hidden", "1024,256"], { stderr: "pipe", timeout: 60_000 });
  expect(g.exitCode).toBe(0);
  const sock = join(dir, "run/control");
  const run = start(["boot", "--model", big, "--set", `run_dir=${join(dir, "run")}`, "--set", `state_dir=${join(dir, "state")}`, "--set", "heartbeat_ms=20"], { pid1: true });
  await waitFor(() => run.log().includes("control socket listening"), 20_000, "control socket");
  let status: any = null;
  await waitFor(
    () => {
      const r = runShipped(["status", "--json", "--socket", sock], { timeoutMs: 10_000 });
      if (r.code !== 0) return false;
      status = JSON.parse(r.stdout);
      return (status.heartbeat?.metabolic?.samples ?? 0) >= 5;
    },
    20_000,
    "5 metabolic samples",
  );
  expect(status.heartbeat.metabolic.workerCrashes).toBe(0);
  expect(status.heartbeat.metabolic.running).toBe(true);
  // A 2-core host gives the runtime 2 threads: the caller's and one worker.
  expect(status.model.matvecWorkers).toBeGreaterThanOrEqual(1);
  expect(run.log()).toContain("mat-vec workers started");
  expect(run.log()).not.toContain("worker crashed");
  expect(run.log()).not.toContain("ModuleNotFound");
  process.kill(await run.initPid(), "SIGTERM");
  const r = await run.result(20_000);
  expect(r.stderr).toContain("poweroff now");
  expect(r.code).toBe(130); // reboot(2) in a PID namespace ends it as if by SIGINT

}, 90_000);
