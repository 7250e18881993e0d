// Evolution faults at boot: a journal record that cannot be applied, or any evolution error, used to power PID 1 off.
import { afterEach, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeMutationRecord } from "../../src/evolution/mutation-record.ts";
import { journalDirOf } from "../../src/evolution/persistence.ts";
import { RecordType } from "../../src/journal/format.ts";
import { Journal } from "../../src/journal/journal.ts";
import { runShipped } from "../harness/artifact.ts";
import { killLeftovers, root, start, tempDir, waitFor } from "../pid1/harness.ts";

afterEach(killLeftovers);

function f16Model(dir: string): string {
  const out = join(dir, "f16.gguf");
  const g = Bun.spawnSync([process.execPath, join(root, "scripts/gen-vectorland.ts"), "-o", out, "--type", "F16"], { stderr: "pipe", timeout: 60_000 });
  if (g.exitCode !== 0) throw new Error(g.stderr.toString());
  return out;
}

test("as PID 1 a journaled mutation that cannot be applied (70000 into an F16 tensor) is skipped at replay naming its sequence; the boot goes on and the next record applies", async () => {
  const dir = tempDir();
  const state = join(dir, "state");
  const model = f16Model(dir);
  // A journal as an older gate (a raised max_magnitude, no dry-run encode) would have left it.
  const j = Journal.open(journalDirOf(state));
  await j.append(RecordType.mutation, encodeMutationRecord({ tensor: "pixel.1.weight", elementOffset: 0, values: Float32Array.from([70000]), confidence: 0.9 }));
  await j.append(RecordType.mutation, encodeMutationRecord({ tensor: "pixel.1.weight", elementOffset: 1, values: Float32Array.from([0.5]), confidence: 0.9 }));
  await j.close();
  // The history belongs to this base model (else it would be archived as another lineage, not replayed).
  writeFileSync(join(state, "LINEAGE"), `${new Bun.CryptoHasher("sha256").update(readFileSync(model)).digest("hex")}\n`);
  const run = start(["boot", "--model", model, "--set", `state_dir=${state}`, "--set", `run_dir=${join(dir, "run")}`], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("phase heartbeat"), 30_000, "the boot to reach the heartbeat");
  expect(run.log()).toMatch(/journal mutation cannot be applied: skipped seq=1 tensor=pixel\.1\.weight reason=.*overflows F16/);
  expect(run.log()).toMatch(/weights ready .*replayed=1 skipped=1/);
  expect(run.log()).not.toContain("evolution disabled");
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).stderr).toContain("poweroff now");
}, 90_000);

test("the gate dry-runs the encode: a value the tensor's type cannot hold is refused (MAGNITUDE) before it is journaled, whatever max_magnitude allows", async () => {
  const dir = tempDir();
  const state = join(dir, "state");
  const model = f16Model(dir);
  const cfg = join(dir, "config.json");
  writeFileSync(cfg, JSON.stringify({ state_dir: state, run_dir: join(dir, "run"), evolution: { max_magnitude: 100000 } }));
  const run = start(["boot", "--model", model, "--config", cfg]);
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "control socket");
  const r = runShipped(["mutate", "pixel.1.weight", "0", "--values", "70000", "--confidence", "0.9", "--json", "--socket", join(dir, "run/control")]);
  const out = r.stdout + r.stderr;
  expect(out).toContain("MAGNITUDE");
  expect(out).toContain("overflows F16");
  const ok = runShipped(["mutate", "pixel.1.weight", "0", "--values", "60000", "--confidence", "0.9", "--json", "--socket", join(dir, "run/control")]);
  expect(ok.code).toBe(0);
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
  const j = runShipped(["journal", "inspect", "--state", state, "--json", "--records"]);
  const records = JSON.parse(j.stdout).records as { seq: number; type: string }[];
  expect(records.filter((x) => x.type === "mutation").map((x) => x.seq)).toEqual([1]); // only the 60000
}, 90_000);

test("as PID 1 an error in the evolution phase (its run dir cannot be made) disables evolution with a line and the machine stays up", async () => {
  const dir = tempDir();
  const blocker = join(dir, "not-a-dir");
  writeFileSync(blocker, "a file where the run dir's parent should be\n");
  const run = start(["boot", "--set", `state_dir=${join(dir, "state")}`, "--set", `run_dir=${join(blocker, "run")}`, "--set", "heartbeat_ms=20", "--set", "heartbeat_log_every=5"], { pid1: true });
  const init = await run.initPid();
  // Beats run the cortex over the reloaded base weights: they must still be mapped.
  await waitFor(() => (run.log().match(/heartbeat: beat n=/g) ?? []).length >= 3, 30_000, "beats over the base weights");
  expect(run.log()).toContain("evolution disabled: the evolution phase failed; booting on the base weights");
  expect(run.log()).not.toContain("boot failed");
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 90_000);
