// The state dir's lock when its LOCK file is removed under a running init (taken for a stale lock file): still one writer.
import { afterEach, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { killLeftovers, start, tempDir, waitFor } from "../pid1/harness.ts";
import { controlMutate } from "../evolution/shipped-cli.ts";

afterEach(killLeftovers);

test("a LOCK file removed under a running init let a second init lock a new one and write the same journal (both acknowledged sequence 2, one overwrote the other); now the second init, journal compact and verify --repair are refused (74) naming the holder, and every acknowledged mutation is kept", async () => {
  const dir = tempDir();
  const state = join(dir, "state");
  const a = start(["boot", "--set", `run_dir=${join(dir, "run-a")}`, "--set", `state_dir=${state}`]);
  await waitFor(() => a.log().includes("control socket listening"), 30_000, "first init up");
  const sockA = join(dir, "run-a", "control");
  expect(controlMutate(sockA, ["pixel.1.bias", "0", "--values", "1.5", "--confidence", "0.9"]).json).toMatchObject({ statusName: "ACCEPTED", journalSeq: 1 });
  rmSync(join(state, "LOCK"));

  const b = start(["boot", "--set", `run_dir=${join(dir, "run-b")}`, "--set", `state_dir=${state}`, "--set", "shutdown_after=2"]);
  let bUp = false;
  await waitFor(() => (bUp = b.log().includes("control socket listening")) || b.log().includes("boot failed"), 30_000, "second init up or refused");
  // On a second init that came up anyway: the two writers' acknowledgements, as they happened.
  if (bUp) controlMutate(join(dir, "run-b", "control"), ["pixel.1.bias", "1", "--values", "2.5", "--confidence", "0.9"]);
  const rb = await b.result(30_000);
  expect(rb.stderr).toContain(`state directory ${state} is in use by another process (pid ${a.proc.pid}), whose LOCK file was removed or replaced while it ran`);
  expect(rb.code).toBe(74);
  for (const args of [["journal", "compact", "--state", state], ["journal", "verify", "--repair", "--state", state]]) {
    const r = runShipped(args);
    expect(r.code).toBe(74);
    expect(r.stderr).toContain("is in use by another process");
  }
  expect(controlMutate(sockA, ["pixel.1.bias", "2", "--values", "3.5", "--confidence", "0.9"]).json).toMatchObject({ statusName: "ACCEPTED", journalSeq: 2 });
  process.kill(a.proc.pid, "SIGTERM");
  expect((await a.result(30_000)).code).toBe(0);
  // Every mutation the running init acknowledged is in the journal, once.
  const inspect = JSON.parse(runShipped(["journal", "inspect", "--records", "--json", "--state", state]).stdout) as { records: { seq: number; type: string; elementOffset?: number }[] };
  expect(inspect.records.filter((r) => r.type === "mutation").map((r) => [r.seq, r.elementOffset])).toEqual([[1, 0], [2, 2]]);
  // Once it stopped, the state dir is free again (the LOCK file the refused ones made is no obstacle).
  expect(existsSync(join(state, "LOCK"))).toBe(true);
  expect(runShipped(["journal", "compact", "--state", state]).code).toBe(0);
}, 90_000);
