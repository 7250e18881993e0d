// A SIGSTOP/SIGCONT throttle with no group of the run left signals the main pid itself: one that had ended and whose number an unrelated process had taken (a MAINPID= worker is not our child) got SIGSTOP.
import { afterEach, expect, test } from "bun:test";
import { signalService } from "../../src/heartbeat/throttle.ts";
import { startTimeOf } from "../../src/util/process-exists.ts";
import { procState } from "../harness/proc-stat.ts";
import { waitFor } from "./helpers.ts";

const strays: number[] = [];
afterEach(() => {
  for (const p of strays.splice(0)) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      /* gone */
    }
  }
});

test("a throttle whose main pid now names another process (a start time other than the one it took) stopped that process; now it is left alone and the service counts as gone", async () => {
  // The unrelated process: it holds the number the throttled main process had (its start time differs from the recorded one).
  const other = Bun.spawn(["sleep", "30"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  strays.push(other.pid);
  await waitFor("the sleep to start", () => startTimeOf(other.pid) !== null, 5_000);
  const born = startTimeOf(other.pid)!;
  expect(signalService({ pid: other.pid, groups: [], born: born - 1 }, 19 /* SIGSTOP */)).toBe(false);
  await Bun.sleep(100);
  expect(procState(other.pid)).not.toBe("T");
  // The same process under its own start time is the service's: it is stopped and resumed.
  expect(signalService({ pid: other.pid, groups: [], born }, 19)).toBe(true);
  await waitFor("the service stopped", () => procState(other.pid) === "T", 5_000);
  expect(signalService({ pid: other.pid, groups: [], born }, 18 /* SIGCONT */)).toBe(true);
  await waitFor("the service resumed", () => procState(other.pid) !== "T", 5_000);
});
