// Reaper from the first phase: orphans that died during a slow boot phase stayed zombies until the services phase.
import { afterEach, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";
import { procState, procStatField } from "../harness/proc-stat.ts";

afterEach(killLeftovers);

/** Zombies whose parent (host pid) is `ppid`. */
function zombiesOf(ppid: number): number[] {
  const out: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    if (procState(p) === "Z" && Number(procStatField(p, 4)) === ppid) out.push(Number(p));
  }
  return out;
}

test("as PID 1, orphans that die while the boot waits for a mount are reaped at once, not when services start", async () => {
  const dir = tempDir();
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    // A device that never appears: the storage phase waits 8 s for it.
    mounts: [{ source: "/dev/vb-never-appears", target: join(dir, "mnt"), fstype: "ext4", wait_ms: 8000, optional: true }],
  });
  const run = start(["boot", "--config", cfg], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("phase storage"), 20_000, "the storage phase");
  // 20 orphans in the init's PID namespace: their parents exit at once, so they are re-parented to PID 1.
  const made = Bun.spawnSync(["nsenter", `--target=${init}`, "--pid", "--", "sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do (sleep 0.2 &); done"], { stderr: "pipe", timeout: 10_000 });
  expect(made.exitCode).toBe(0);
  // They end 0.2 s later; a reaper that runs reaps each on its SIGCHLD (its safety poll is 1 s).
  await Bun.sleep(300);
  await waitFor(() => zombiesOf(init).length === 0, 3_000, "no zombie of PID 1", { explain: () => `${zombiesOf(init).length} zombies` });
  // All of it happened inside the mount wait.
  expect(run.log()).not.toContain("mount source did not appear");
  expect(run.log()).not.toContain("phase services");
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 60_000);
