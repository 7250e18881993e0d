// The shipped executable refuses a cortex mutation that breaks a safety case (SAFETY, naming the case) on both paths, and keeps its weights.
import { afterEach, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readGguf } from "../../src/gguf/reader.ts";
import { writeGguf } from "../../src/gguf/writer.ts";
import { buildVectorland } from "../../src/neural/vectorland-builder.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";
import { controlMutate, newestCheckpoint, pythonMutate } from "./shipped-cli.ts";

afterEach(killLeftovers);

const control = controlMutate;
const evolve = pythonMutate;

// Default cortex: thermal is output 4, fed by hidden unit 8 (32 hidden units): cortex.1.weight[4 * 32 + 8].
const SILENCE_THERMAL = ["cortex.1.weight", "136"];

test("a mutation silencing thermal at 95 °C is refused with SAFETY naming the case, over the control socket and from the Python client; a benign cortex mutation is accepted; the guarded weights are unchanged", async () => {
  const dir = tempDir();
  const cfg = writeJson(dir, "config.json", { state_dir: join(dir, "state"), run_dir: join(dir, "run"), evolution: { checkpoint_every_s: 0 } });
  const boot = start(["boot", "--config", cfg]);
  await waitFor(() => boot.log().includes("safety cases hold"), 30_000, "boot up and the safety cases' report");
  expect(boot.log()).toMatch(/safety cases hold cases=41/);

  const viaControl = control(join(dir, "run/control"), [...SILENCE_THERMAL, "--values", "0", "--confidence", "0.99"]);
  expect(viaControl.code).toBe(65); // a refused mutation is bad input data (README "Exit codes")
  expect(viaControl.json).toMatchObject({ statusName: "SAFETY", journalSeq: 0 });
  expect(viaControl.json.text).toMatch(/^case thermal\/0@9[15]: thermal must raise/);

  const socket = join(dir, "run/evolution.sock");
  const viaChannel = evolve(socket, [...SILENCE_THERMAL, "0", "--confidence", "0.99"]);
  expect(viaChannel.code).toBe(1);
  expect(viaChannel.json).toMatchObject({ status: "SAFETY", journal_seq: 0 });
  expect(viaChannel.json.text).toMatch(/^case thermal\/0@9[15]/);
  const idle = evolve(socket, ["cortex.1.bias", "0", "6", "--confidence", "0.99"]);
  expect(idle.json).toMatchObject({ status: "SAFETY", journal_seq: 0 });
  expect(idle.json.text).toMatch(/^case idle: cpu_pressure/);

  // A dormant hidden unit's input weights (its outgoing weights are zero): accepted, the first journal record.
  const benign = evolve(socket, ["cortex.0.weight", String(31 * 32), "0.25,0.5", "--confidence", "0.9"]);
  expect(benign.json).toMatchObject({ status: "ACCEPTED", journal_seq: 1 });

  process.kill(boot.proc.pid, "SIGTERM");
  const r = await boot.result(30_000);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("mutation refused: it fails a safety case");
  // The final checkpoint: the refused tensors hold the base bytes, the accepted mutation is in.
  const ckpt = readGguf(new Uint8Array(readFileSync(newestCheckpoint(join(dir, "state")))));
  const base = buildVectorland();
  const bytes = (t: { tensors: readonly { name: string; data: Uint8Array }[] }, n: string) => Array.from(t.tensors.find((x) => x.name === n)!.data);
  expect(bytes(ckpt, "cortex.1.weight")).toEqual(bytes(base, "cortex.1.weight"));
  expect(bytes(ckpt, "cortex.1.bias")).toEqual(bytes(base, "cortex.1.bias"));
  expect(bytes(ckpt, "cortex.0.weight")).not.toEqual(bytes(base, "cortex.0.weight"));
  const w = ckpt.tensors.find((x) => x.name === "cortex.0.weight")!.data;
  expect(Array.from(new Float32Array(w.slice(31 * 32 * 4, 31 * 32 * 4 + 8).buffer))).toEqual([0.25, 0.5]);
}, 120_000);

test("the boot's report on the safety cases (41 cases through the cortex, about 1.5 ms of cold code) ran before the first beat: it now follows the first beat, once, and still says they hold", async () => {
  const dir = tempDir();
  const cfg = writeJson(dir, "config.json", { state_dir: join(dir, "state"), run_dir: join(dir, "run"), evolution: { checkpoint_every_s: 0 }, shutdown_after: 0.3 });
  const boot = start(["boot", "--config", cfg]);
  const r = await boot.result(30_000);
  expect(r.code).toBe(0);
  const lines = r.stderr.split("\n");
  const beat = lines.findIndex((l) => l.includes("first heartbeat"));
  const report = lines.findIndex((l) => l.includes("safety cases hold cases=41"));
  expect(beat).toBeGreaterThanOrEqual(0);
  expect(report).toBeGreaterThan(beat);
  expect(lines.filter((l) => l.includes("safety cases hold")).length).toBe(1);
}, 60_000);

test("a model without safety cases boots and says so once; its cortex mutations get no safety check", async () => {
  const dir = tempDir();
  const b = buildVectorland({ safetyCases: false });
  const model = join(dir, "no-cases.gguf");
  writeFileSync(model, writeGguf({ metadata: b.metadata, tensors: b.tensors }));
  const boot = start(["boot", "--model", model, "--set", `state_dir=${join(dir, "state")}`, "--set", `run_dir=${join(dir, "run")}`]);
  await waitFor(() => boot.log().includes("phase heartbeat"), 30_000, "boot up");
  const r = control(join(dir, "run/control"), [...SILENCE_THERMAL, "--values", "0", "--confidence", "0.99"]);
  expect(r.json).toMatchObject({ statusName: "ACCEPTED", journalSeq: 1 });
  process.kill(boot.proc.pid, "SIGTERM");
  const done = await boot.result(30_000);
  expect(done.code).toBe(0);
  expect(done.stderr.split("no safety cases in this model").length - 1).toBe(1);
}, 120_000);
