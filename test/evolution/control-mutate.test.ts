// `vector-boot mutate` through the control socket: the same CTRM gate and journal as the shared-memory path.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { shipped } from "../harness/artifact.ts";
import { killLeftovers, start, tempDir, waitFor } from "../pid1/harness.ts";

afterEach(killLeftovers);

function mutate(socket: string, args: string[]): { code: number; out: string } {
  const r = Bun.spawnSync(shipped(["mutate", ...args, "--socket", socket, "--json"]), { stdout: "pipe", stderr: "pipe", timeout: 20_000 });
  return { code: r.exitCode ?? -1, out: r.stdout.toString() + r.stderr.toString() };
}

test("control-socket mutations are journaled when accepted and refused with a reason otherwise; the journal survives a restart", async () => {
  const dir = tempDir();
  const args = ["boot", "--set", `run_dir=${join(dir, "run")}`, "--set", `state_dir=${join(dir, "state")}`];
  const socket = join(dir, "run/control");
  const run = start(args);
  await waitFor(() => run.log().includes("phase heartbeat"), 15_000, "boot up");
  const ok = mutate(socket, ["pixel.0.bias", "3", "--values", "0.25,-0.5", "--confidence", "0.81"]);
  expect(ok.code).toBe(0);
  expect(JSON.parse(ok.out)).toMatchObject({ statusName: "ACCEPTED", journalSeq: 1 });
  const cases: [string[], string][] = [
    [["kernel.cortex.hysteresis", "0", "--values", "0", "--confidence", "0.99"], "PROTECTED_TENSOR"],
    [["pixel.0.bias", "0", "--values", "1", "--confidence", "0.8"], "LOW_CONFIDENCE"],
    [["no.such.tensor", "0", "--values", "1", "--confidence", "0.9"], "UNKNOWN_TENSOR"],
    [["pixel.1.bias", "15", "--values", "1,2", "--confidence", "0.9"], "OUT_OF_RANGE"],
    [["pixel.1.bias", "0", "--values", "1e9", "--confidence", "0.9"], "MAGNITUDE"],
  ];
  for (const [a, reason] of cases) {
    const r = mutate(socket, a);
    expect(r.code).toBe(65); // bad input data (README "Exit codes"); it was 1, the table's "runtime init failed"
    expect(JSON.parse(r.out).statusName).toBe(reason);
  }
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(15_000)).code).toBe(0);
  const again = await start([...args, "--set", "shutdown_after=0.2"]).result(15_000);
  expect(again.stderr).toMatch(/phase evolution .*checkpoint=\S*ckpt-0*1\.gguf/);
}, 60_000);
