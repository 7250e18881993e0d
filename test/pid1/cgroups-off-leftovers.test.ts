// With cgroups off (no cgroup2 mounted, as in many containers) a run's leftovers are its process group: killed with it as cgroup.kill kills a cgroup's.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootWithoutCgroups } from "./boot-without-cgroups.ts";
import { pidsRunning, tempDir, waitFor, writeJson } from "./harness.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** A unique sleep length names a test's processes among the host's. */
const unique = (k: number) => String(800_000 + k * 100_000 + (process.pid % 99_999));

test("with cgroups off, a crashing service's background child was left running at each restart (one more per run); the run's process group goes with its main process", async () => {
  const dir = tempDir();
  const child = unique(0);
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [{ name: "crasher", argv: ["sh", "-c", `sleep ${child} & sleep 0.1; exit 1`], restart: "always", backoff_initial_ms: 50, backoff_factor: 1, storm_max: 100 }],
  });
  const run = bootWithoutCgroups(cfg, cleanups);
  cleanups.push(() => {
    for (const p of pidsRunning(["sleep", child])) process.kill(p, "SIGKILL");
  });
  await waitFor(() => run.log().includes("cgroups are off"), 30_000, "the init to say cgroups are off");
  await waitFor(() => (run.log().match(/service exited; restarting after back-off service=crasher/g) ?? []).length >= 4, 30_000, "four crashes");
  // The running run's own child at most; the four before it went with their runs.
  expect(pidsRunning(["sleep", child]).length).toBeLessThanOrEqual(1);
  expect(await run.shutdown()).toBe(130); // power-off of a PID namespace: its init ends by SIGINT
}, 60_000);

test("with cgroups off, `stop` answered 'stopped' while a child of the service that ignores SIGTERM still ran; it is waited for and gets SIGKILL at the end of the grace", async () => {
  const dir = tempDir();
  const child = unique(1);
  const sock = join(dir, "run", "control");
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [{ name: "stubborn", grace_ms: 500, argv: ["sh", "-c", `(trap '' TERM; exec sleep ${child}) & trap 'exit 0' TERM; while :; do sleep 0.05; done`] }],
  });
  const run = bootWithoutCgroups(cfg, cleanups);
  cleanups.push(() => {
    for (const p of pidsRunning(["sleep", child])) process.kill(p, "SIGKILL");
  });
  await waitFor(() => pidsRunning(["sleep", child]).length === 1 && run.log().includes("control socket listening"), 30_000, "the service and its child");
  expect(run.log()).toContain("cgroups are off");
  const stop = await runShippedAsync(["stop", "stubborn", "--socket", sock]);
  expect(stop.code).toBe(0);
  expect(pidsRunning(["sleep", child])).toEqual([]);
  expect(run.log()).toMatch(/sending SIGKILL to what is left of its run service=stubborn/);
  expect(await run.shutdown()).toBe(130);
}, 60_000);
