// Workers load from the executable's own bundle: copied away from the checkout (hidden), as PID 1, the metabolic
// worker samples, the mat-vec pool starts with the shim's kernels and the beat sleeper wakes the beats. They used to die with ModuleNotFound on the build machine's path.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { root, runShipped } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";

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
  // The shim's SIMD kernels on the main thread and in every worker: a shim that failed to open in the
  // artifact left the TypeScript kernels running, with outputs close enough that nothing else noticed.
  expect(["c", "avx2", "avx512"]).toContain(status.model.matvecKernel);
  expect(status.model.workerKernels).toEqual(Array(status.model.matvecWorkers).fill(status.model.matvecKernel));
  expect(run.log()).toContain("mat-vec workers started");
  expect(run.log()).not.toContain("worker crashed");
  expect(run.log()).not.toContain("ModuleNotFound");
  process.kill(await run.initPid(), "SIGTERM");
  const r = await run.result(20_000);
  expect(r.stderr).toContain("poweroff now");
  expect(r.code).toBe(130); // reboot(2) in a PID namespace ends it as if by SIGINT
}, 90_000);

test("the beat sleeper's worker (heartbeat.wake sleeper), the third worker entry of the bundle, was never started from the shipped executable: a failure to load it fell back to the futex wait unseen; as PID 1 with the checkout hidden it wakes the beats", async () => {
  const dir = tempDir();
  const sock = join(dir, "run/control");
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: join(dir, "state"), heartbeat_ms: 20, heartbeat: { wake: "sleeper" } });
  const run = start(["boot", "--config", cfg, ...bootArgs()], { pid1: true, configStateDir: true });
  await waitFor(() => run.log().includes("control socket listening"), 20_000, "control socket");
  let wake: any = null;
  await waitFor(
    () => {
      const r = runShipped(["status", "--json", "--socket", sock], { timeoutMs: 10_000 });
      if (r.code !== 0) return false;
      wake = JSON.parse(r.stdout).heartbeat?.wake;
      return (wake?.sleeperWakes ?? 0) >= 5;
    },
    20_000,
    "5 beats woken by the sleeper thread",
  );
  expect(wake.mode).toBe("sleeper");
  expect(run.log()).not.toContain("beat sleeper thread failed");
  expect(run.log()).not.toContain("ModuleNotFound");
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(20_000)).code).toBe(130);
}, 90_000);
