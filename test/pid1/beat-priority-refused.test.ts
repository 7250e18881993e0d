// An init that may not take SCHED_FIFO (no CAP_SYS_NICE, RLIMIT_RTPRIO 0) must still beat, on time, and say why its beats are not real-time.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { exe, hidden, shippedEnv, tempDir } from "../harness/artifact.ts";

function bootAs(wrap: string[], dir: string) {
  const cfg = join(dir, "config.json");
  writeFileSync(cfg, JSON.stringify({
    state_dir: join(dir, "state"), run_dir: join(dir, "run"), heartbeat_ms: 10, heartbeat_log_every: 20, shutdown_after: 1,
    evolution: { enabled: false }, heartbeat: { watchdog: false, beat_fifo_priority: 1 },
  }));
  const r = Bun.spawnSync(hidden([...wrap, exe, "boot", "--config", cfg], { pid1: true }), { stdout: "pipe", stderr: "pipe", env: shippedEnv(), timeout: 60_000 });
  // reboot(2) in a PID namespace ends it: its init dies of SIGINT (power off), which unshare passes on.
  return { ended: r.exitCode === 130 || r.signalCode === "SIGINT", log: r.stderr.toString() };
}

test("PID 1 without CAP_SYS_NICE: the real-time window is refused once (EPERM, said at info), the beats go on and the boot ends cleanly", () => {
  const r = bootAs(["prlimit", "--rtprio=0:0", "setpriv", "--bounding-set=-sys_nice", "--inh-caps=-sys_nice", "--"], tempDir());
  expect(r.log.match(/beats wait without real-time priority/g)?.length).toBe(1);
  expect(r.log).toMatch(/beats wait without real-time priority beat_fifo_priority=1 why="refused: sched_setscheduler[^"]*EPERM/);
  // Beats 20, 40, 60, ... each logged: the heartbeat kept its period after the refusal.
  expect(r.log.match(/ beat n=\d+ period_ms=10 /g)?.length ?? 0).toBeGreaterThanOrEqual(3);
  expect(r.log).toContain("poweroff now");
  expect(r.ended).toBe(true);
}, 70_000);

test("PID 1 started under SCHED_BATCH (chrt): the window leaves the operator's policy alone rather than end each beat in SCHED_OTHER", () => {
  const r = bootAs(["chrt", "--batch", "0"], tempDir());
  expect(r.log).toMatch(/beats wait without real-time priority beat_fifo_priority=1 why="kept: the thread runs under policy 3, not SCHED_OTHER"/);
  expect(r.log.match(/ beat n=\d+ period_ms=10 /g)?.length ?? 0).toBeGreaterThanOrEqual(3);
  expect(r.log).toContain("poweroff now");
  expect(r.ended).toBe(true);
}, 70_000);
