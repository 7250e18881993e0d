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
