// As PID 1, an evolution phase that failed after it had loaded a checkpoint fell back to "the base weights" by loading the base mapping the checkpoint's load had unmapped: SIGSEGV of PID 1 (a kernel panic), or with the runtime's guard, no fallback at all.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { killLeftovers, start, tempDir, waitFor } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("as PID 1 an evolution phase that failed after loading a checkpoint (its run dir cannot be made) reloaded the base from the mapping the checkpoint's load had unmapped: SIGSEGV; the base is mapped afresh and the machine beats on it", async () => {
  const dir = tempDir();
  const state = join(dir, "state");
  // A first boot: one mutation, then the shutdown's final checkpoint.
  const first = start(["boot", "--set", `state_dir=${state}`, "--set", `run_dir=${join(dir, "run")}`, "--set", "heartbeat_log_every=0"]);
  await waitFor(() => first.log().includes("first heartbeat"), 30_000, "the first boot");
  const m = await runShippedAsync(["mutate", "pixel.1.bias", "0", "--values", "0.5", "--confidence", "0.9", "--socket", join(dir, "run", "control")], 30_000);
  expect(m.code).toBe(0);
  first.proc.kill("SIGTERM");
  const r1 = await first.result(30_000);
  expect(r1.stderr).toContain("checkpoint written");
  expect(readdirSync(state).some((f) => f.startsWith("checkpoint")) || existsSync(join(state, "checkpoints"))).toBe(true);
  // The second boot, as PID 1: the checkpoint loads, then the channel's run dir cannot be made.
  const blocker = join(dir, "not-a-dir");
  writeFileSync(blocker, "a file where the run dir's parent should be\n");
  const run = start(["boot", "--set", `state_dir=${state}`, "--set", `run_dir=${join(blocker, "run")}`, "--set", "heartbeat_ms=20", "--set", "heartbeat_log_every=5"], { pid1: true, configStateDir: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("evolution disabled") || run.proc.exitCode !== null, 30_000, "the evolution phase to fail");
  // Beats run the cortex over the base weights: they must be mapped.
  await waitFor(() => (run.log().match(/heartbeat: beat n=/g) ?? []).length >= 3 || run.proc.exitCode !== null, 30_000, "beats over the base weights").catch(() => {});
  expect(run.log()).toContain("evolution disabled: the evolution phase failed; booting on the base weights");
  expect(run.log()).toContain("base weights reloaded");
  expect(run.log()).not.toContain("base model reload failed");
  expect((run.log().match(/heartbeat: beat n=/g) ?? []).length).toBeGreaterThanOrEqual(3);
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 120_000);
