// One writer per state dir: a second init, or `journal compact`, on a live state dir used to write the same journal.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { killLeftovers, start, tempDir, waitFor } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("a second init on a live state dir, and journal compact or verify --repair on it, are refused naming the holder; once it stops they work", async () => {
  const dir = tempDir();
  const state = join(dir, "state");
  const a = start(["boot", "--set", `run_dir=${join(dir, "run-a")}`, "--set", `state_dir=${state}`]);
  await waitFor(() => a.log().includes("phase heartbeat"), 20_000, "first init up");
  const b = await start(["boot", "--set", `run_dir=${join(dir, "run-b")}`, "--set", `state_dir=${state}`]).result(30_000);
  expect(b.code).toBe(74);
  expect(b.stderr).toContain(`state directory ${state} is in use by another process (pid ${a.proc.pid} vector-boot)`);
  for (const args of [["journal", "compact", "--state", state], ["journal", "verify", "--repair", "--state", state]]) {
    const r = runShipped(args);
    expect(r.code).toBe(74);
    expect(r.stderr).toContain("is in use by another process");
  }
  expect(runShipped(["journal", "inspect", "--state", state]).code).toBe(0); // reading needs no lock
  process.kill(a.proc.pid, "SIGTERM");
  expect((await a.result(30_000)).code).toBe(0);
  const c = runShipped(["journal", "compact", "--state", state]);
  expect(c.code).toBe(0);
}, 90_000);
