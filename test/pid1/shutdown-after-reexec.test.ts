// shutdown_after counted from each image's first beat: a live re-exec started the count again (re-execs more often than it put the shutdown off for ever).
import { afterEach, expect, test } from "bun:test";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, start, waitFor } from "./harness.ts";

afterEach(killLeftovers);

/** The log line's clock (seconds since boot) of the first line matching `re` after `from`, or null. */
function at(log: string, re: RegExp, from = 0): number | null {
  const line = log.slice(from).split("\n").find((l) => re.test(l));
  const m = line ? /^\[\s*(\d+\.\d+)\]/.exec(line) : null;
  return m ? Number(m[1]) : null;
}

test("shutdown_after=4 with a live re-exec 2.5 s after the first beat shut down 4 s after the new image's first beat (6.5 s): it counts from the first image's first beat", async () => {
  const run = start(["boot", ...bootArgs(), "--set", "shutdown_after=4", "--set", "heartbeat_ms=50"], { pid1: true });
  await waitFor(() => at(run.log(), /first heartbeat/) !== null, 30_000, "the first beat");
  const first = at(run.log(), /first heartbeat/)!;
  await Bun.sleep(2500);
  process.kill(await run.initPid(), "SIGHUP");
  const r = await run.result(30_000);
  expect(r.code).toBe(130);
  const resumed = r.stderr.indexOf("resuming after re-exec generation=1 ");
  expect(resumed).toBeGreaterThan(0);
  const asked = at(r.stderr, /shutdown requested reason="?shutdown_after=4s/, resumed);
  expect(asked).not.toBeNull();
  // 4 s after the first image's first beat (a beat's slack and a loaded host's lateness aside), not 2.5 + 4.
  expect(asked! - first).toBeLessThan(5.5);
  expect(asked! - first).toBeGreaterThanOrEqual(3.9);
}, 60_000);
