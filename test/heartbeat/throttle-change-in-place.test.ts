// A throttle tightened or eased (another interrupt's stricter hold, or its end) changes the limit in place, never releasing it between.
import { afterEach, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DutyCycler } from "../../src/heartbeat/throttle.ts";
import { procState } from "../harness/proc-stat.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** `sleep 1000` leading a process group of its own, as a supervised service does. */
function service(): number {
  const child: ChildProcess = spawn("sleep", ["1000"], { detached: true, stdio: "ignore" });
  cleanups.push(() => {
    try {
      process.kill(child.pid!, "SIGKILL");
    } catch {
      /* gone */
    }
  });
  return child.pid!;
}

/** State letter of a process from /proc/<pid>/stat ("T" when stopped). */
const state = (pid: number): string => procState(pid) ?? "gone";

function emptyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "vb-throttle-change-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("a duty-cycled service in its stopped phase, its throttle tightened from duty 0.5 to 0.1: it was sent SIGCONT (released) and throttled again, so it ran at once instead of staying stopped", async () => {
  const pid = service();
  const none = emptyDir(); // no cgroup to find: the throttle is the SIGSTOP/SIGCONT duty cycle
  const cycler = new DutyCycler(() => {}, { procRoot: none, sysRoot: none });
  cleanups.push(() => cycler.releaseAll());
  expect(cycler.start("worker", { pid, groups: [] }, 0.5, 1000)).toContain("duty cycle, runs 50% of 1000 ms");
  // Runs 500 ms, then stopped 500 ms.
  const end = performance.now() + 5000;
  while (state(pid) !== "T" && performance.now() < end) await Bun.sleep(2);
  expect(state(pid)).toBe("T");
  // Tightened: the stopped phase now lasts 900 ms from its start; the service stays stopped.
  expect(cycler.start("worker", { pid, groups: [] }, 0.1, 1000)).toContain("duty cycle, runs 10% of 1000 ms");
  const seen: string[] = [];
  for (let i = 0; i < 10; i++) {
    seen.push(state(pid));
    await Bun.sleep(10);
  }
  expect(seen).toEqual(Array(10).fill("T"));
  // The cycle goes on at the new limit: it runs again when the 900 ms are over, and is stopped again after its 100 ms.
  const until = async (want: (s: string) => boolean) => {
    const limit = performance.now() + 3000;
    while (!want(state(pid)) && performance.now() < limit) await Bun.sleep(2);
    return state(pid);
  };
  expect(await until((s) => s !== "T")).not.toBe("T");
  expect(await until((s) => s === "T")).toBe("T");
  // Released: running again.
  expect(cycler.release("worker")).toBe(true);
  await Bun.sleep(20);
  expect(state(pid)).not.toBe("T");
}, 30_000);

test("guard: a cpu.max throttle tightened then eased holds each new limit, and its release restores what cpu.max held before the first", () => {
  const pid = service();
  const proc = emptyDir();
  const sys = emptyDir();
  mkdirSync(join(proc, String(pid)));
  mkdirSync(join(proc, "self"));
  writeFileSync(join(proc, String(pid), "cgroup"), "0::/svc/worker\n");
  writeFileSync(join(proc, "self", "cgroup"), "0::/init\n");
  const cpuMax = join(sys, "fs/cgroup/svc/worker/cpu.max");
  mkdirSync(join(sys, "fs/cgroup/svc/worker"), { recursive: true });
  writeFileSync(cpuMax, "max 100000\n");
  const cycler = new DutyCycler(() => {}, { procRoot: proc, sysRoot: sys });
  cleanups.push(() => cycler.releaseAll());
  expect(cycler.start("worker", { pid, groups: [] }, 0.5, 100)).toBe(`cgroup cpu.max 50000 100000 (${cpuMax})`);
  expect(cycler.start("worker", { pid, groups: [] }, 0.1, 100)).toBe(`cgroup cpu.max 10000 100000 (${cpuMax})`);
  expect(readFileSync(cpuMax, "utf8")).toBe("10000 100000");
  expect(cycler.start("worker", { pid, groups: [] }, 0.5, 100)).toBe(`cgroup cpu.max 50000 100000 (${cpuMax})`);
  expect(readFileSync(cpuMax, "utf8")).toBe("50000 100000");
  expect(cycler.cpuMax("worker")?.previous).toBe("max 100000");
  expect(cycler.release("worker")).toBe(true);
  expect(readFileSync(cpuMax, "utf8")).toBe("max 100000");
});
