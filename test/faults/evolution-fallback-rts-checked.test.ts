// As PID 1 the evolution phase's fallback reopened the base its own way: an RTS package's recorded tensor.sha256, checked by the boot, was not checked again.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { packRts } from "../../src/rts/package.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { genModel } from "../evolution/lineage-boot.ts";
import { killLeftovers, start, tempDir, waitFor } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("as PID 1 an evolution phase that failed after loading a checkpoint reloaded an RTS package base without checking its recorded tensor.sha256 (the runtime phase checks it): the base is reopened as the runtime phase opened it", async () => {
  const dir = tempDir();
  const state = join(dir, "state");
  const binary = join(dir, "program.bin");
  writeFileSync(binary, new Uint8Array(4096).fill(7));
  const rts = join(dir, "model.rts");
  expect(packRts(binary, genModel(join(dir, "model.gguf"), "1"), rts).checksums).not.toBeNull();
  // A first boot of the package: one mutation, then the shutdown's final checkpoint.
  const first = start(["boot", "--model", rts, "--set", `state_dir=${state}`, "--set", `run_dir=${join(dir, "run")}`, "--set", "heartbeat_log_every=0"]);
  await waitFor(() => first.log().includes("first heartbeat"), 30_000, "the first boot");
  const m = await runShippedAsync(["mutate", "pixel.1.bias", "0", "--values", "0.5", "--confidence", "0.9", "--socket", join(dir, "run", "control")], 30_000);
  expect(m.code).toBe(0);
  first.proc.kill("SIGTERM");
  expect((await first.result(30_000)).stderr).toContain("checkpoint written");
  // As PID 1: the checkpoint loads, then the channel's run dir cannot be made; the base is mapped again.
  const blocker = join(dir, "not-a-dir");
  writeFileSync(blocker, "a file where the run dir's parent should be\n");
  const run = start(["boot", "--model", rts, "--set", `state_dir=${state}`, "--set", `run_dir=${join(blocker, "run")}`, "--set", "heartbeat_ms=20", "--set", "heartbeat_log_every=5"], { pid1: true, configStateDir: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("base weights reloaded") || run.log().includes("base model reload failed") || run.proc.exitCode !== null, 30_000, "the base to be reloaded");
  await waitFor(() => (run.log().match(/heartbeat: beat n=/g) ?? []).length >= 3 || run.proc.exitCode !== null, 30_000, "beats over the base weights").catch(() => {});
  const log = run.log();
  expect(log).toContain("evolution disabled: the evolution phase failed; booting on the base weights");
  expect(log).toContain("base weights reloaded");
  // Both mappings of the package: the runtime phase's and the reload's, each with its checksum checked.
  const mapped = log.split("\n").filter((l) => l.includes("model mapped") && l.includes("origin=rts"));
  expect(mapped.length).toBe(2);
  for (const l of mapped) expect(l).toContain("checksums=verified");
  expect((log.match(/heartbeat: beat n=/g) ?? []).length).toBeGreaterThanOrEqual(3);
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 120_000);
