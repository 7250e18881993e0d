// An idle tini-mode init woke a hundred times a second to poll its signal counters (tini sleeps); it now wakes on the signal.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { killLeftovers, start, tempDir } from "./harness.ts";
import { waitFor } from "../harness/wait.ts";

afterEach(killLeftovers);

/** Voluntary context switches of the init's main thread so far (each one a wake-up from a wait). */
const wakeups = (pid: number) => Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/task/${pid}/status`, "utf8"))![1]);

test("an idle init in tini mode wakes a few times a second at most, and a real-time signal still reaches CMD at once", async () => {
  // Signal 45 (SIGRTMIN+11): a C counter catches it (40 is the harness's JSC_SIGNAL_FOR_GC).
  const trapped = join(tempDir(), "trapped");
  const run = start(["--", "sh", "-c", `trap 'echo got-rt; exit 7' 45; : > ${trapped}; while :; do sleep 0.05; done`], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => existsSync(trapped), 10_000, "CMD's trap");
  const before = wakeups(init);
  await Bun.sleep(2000);
  const woke = wakeups(init) - before;
  // The reaper's safety poll (1/s) and the runtime's own timers: a handful; the counter poll was ~200.
  expect(woke).toBeLessThan(60);
  const t0 = performance.now();
  process.kill(init, 45);
  const r = await run.result(10_000);
  expect(r.stdout).toBe("got-rt\n");
  expect(r.code).toBe(7);
  expect(performance.now() - t0).toBeLessThan(5_000);
}, 30_000);

test("an idle boot without services woke 50 times a second to poll service log pipes it did not have", async () => {
  const dir = tempDir();
  // A 1 s beat: what is left is the beat, the control socket's housekeeping (4/s) and the reaper's poll.
  const run = start(["boot", "--set", `state_dir=${join(dir, "state")}`, "--set", `run_dir=${join(dir, "run")}`, "--set", "heartbeat_ms=1000", "--set", "heartbeat_log_every=0"]);
  await waitFor(() => run.log().includes("metabolic worker ready"), 30_000, "the boot");
  const before = wakeups(run.proc.pid);
  await Bun.sleep(2000);
  const woke = wakeups(run.proc.pid) - before;
  expect(woke).toBeLessThan(60); // ~120 with the 20 ms log poll
  run.proc.kill("SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 60_000);
