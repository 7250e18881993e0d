// An idle boot kept every page of the 113 MB executable its start-up had touched resident (56 MiB, issue 14's goal 40).
import { afterEach, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { exe, killLeftovers, start, tempDir, waitFor } from "./harness.ts";

afterEach(killLeftovers);

/** File-backed resident MiB of a process: its Rss less its anonymous memory (smaps_rollup). */
function fileBackedMib(pid: number): number {
  const s = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)![1]);
  return (kb("Rss") - kb("Anonymous")) / 1024;
}

/**
 * A copy of the shipped executable that no other process maps: MADV_PAGEOUT leaves a page another
 * process maps too (any other run of the shared copy: the trim freed nothing, 54 MiB before and
 * after, in a CI run). Just written, so its pages are dirty: the trim writes them back first.
 */
function privateExe(): string {
  const copy = join(tempDir("private-exe-"), "vector-boot");
  copyFileSync(exe, copy);
  chmodSync(copy, 0o755);
  return copy;
}

const bootArgs = (dir: string, trimMs: number) => ["boot", "--set", `state_dir=${join(dir, "state")}`, "--set", `run_dir=${join(dir, "run")}`, "--set", "heartbeat_log_every=5", "--set", `image_trim_ms=${trimMs}`];

test("an idle boot kept the start-up's pages of its executable resident: after image_trim_ms they are given back, and the beat, the worker and the control socket go on", async () => {
  const dir = tempDir();
  const run = start(bootArgs(dir, 1500), { exe: privateExe() });
  await waitFor(() => run.log().includes("first heartbeat"), 30_000, "the first beat");
  const before = fileBackedMib(run.proc.pid);
  await waitFor(() => run.log().includes("image trimmed"), 30_000, "the trim");
  const line = /image trimmed rss_mib_before=([\d.]+) rss_mib_after=([\d.]+) advised_mib=([\d.]+)/.exec(run.log())!;
  expect(Number(line[3])).toBeGreaterThan(50); // the executable's loaded segments, not a part of them
  expect(Number(line[1]) - Number(line[2])).toBeGreaterThan(10);
  // What the running appliance touches comes back; what only the start-up needed does not.
  const beatsAtTrim = run.log().match(/heartbeat: beat n=/g)?.length ?? 0;
  await waitFor(() => (run.log().match(/heartbeat: beat n=/g)?.length ?? 0) >= beatsAtTrim + 2, 30_000, "two more beat lines after the trim");
  const status = await runShippedAsync(["status", "--socket", join(dir, "run", "control")], 30_000);
  expect(status.code).toBe(0);
  expect(fileBackedMib(run.proc.pid)).toBeLessThan(before - 8);
  expect(run.log()).not.toContain("image not trimmed");
  run.proc.kill("SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 90_000);

test("image_trim_ms=0 leaves the executable's pages alone", async () => {
  const dir = tempDir();
  const run = start(bootArgs(dir, 0));
  await waitFor(() => (run.log().match(/heartbeat: beat n=/g)?.length ?? 0) >= 3, 30_000, "three beat lines");
  expect(run.log()).not.toContain("image trimmed");
  run.proc.kill("SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 60_000);

test("an idle init in tini mode kept ~30 MiB of its executable resident while CMD ran: 2 s after the start they are given back, and signals still reach CMD", async () => {
  const ready = join(tempDir(), "ready");
  const run = start(["-v", "--", "sh", "-c", `trap 'exit 7' TERM; : > ${ready}; while :; do sleep 0.05; done`], { pid1: true, exe: privateExe() });
  const init = await run.initPid();
  await waitFor(() => existsSync(ready), 10_000, "CMD's trap");
  const before = fileBackedMib(init);
  await waitFor(() => run.log().includes("image trimmed"), 30_000, "the trim");
  expect(fileBackedMib(init)).toBeLessThan(before - 8);
  expect(run.log()).not.toContain("image not trimmed");
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(7);
}, 60_000);
