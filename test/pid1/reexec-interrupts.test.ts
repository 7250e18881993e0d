// Interrupts across a live re-exec: each new image started with every interrupt cleared, so one whose condition still held was raised again and its action (a restart) taken once more per re-exec.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";

afterEach(killLeftovers);

/**
 * A PID-1 boot (50 ms beats) whose `zmaker` service leaves ten zombies for good, so the `zombies`
 * interrupt is raised and stays raised, handled by `handler`; `other` is the second service.
 */
async function zombieBoot(dir: string, handler: { action: string; target: string }, other: Record<string, unknown>) {
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    heartbeat_ms: 50,
    heartbeat_log_every: 1,
    heartbeat: { watchdog: false, interrupts: { zombies: handler } },
    services: [
      // Ten children that exit at once, and a parent (the exec'd sleep) that never waits for them: ten zombies for good.
      { name: "zmaker", argv: ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do true & done; exec sleep 1000"] },
      other,
    ],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  return { run, init: await run.initPid(), sock: join(dir, "run/control") };
}

test("a raised interrupt whose action is a restart restarted its target again after every live re-exec (the new image raised it afresh); it stays raised across the re-exec and acts once", async () => {
  const { run, init, sock } = await zombieBoot(tempDir(), { action: "restart", target: "victim" }, { name: "victim", argv: ["sleep", "1000"] });
  const starts = () => run.log().match(/service started service=victim /g)?.length ?? 0;
  await waitFor(() => /action interrupt=zombies action="restart done" service=victim/.test(run.log()), 60_000, "the zombies interrupt's restart of victim");
  expect(starts()).toBe(2);
  for (let generation = 1; generation <= 2; generation++) {
    expect(runShipped(["reexec", "--socket", sock, "--timeout", "60000"], { timeoutMs: 90_000 }).code).toBe(0);
    const marker = `resuming after re-exec generation=${generation} `;
    // The new image's worker has sampled (ten zombies still there) and twenty beats ran on them.
    const after = () => run.log().split(marker)[1] ?? "";
    await waitFor(() => after().includes("metabolic worker ready"), 60_000, `the worker of generation ${generation}`);
    await waitFor(() => (after().split("metabolic worker ready")[1]?.match(/ beat n=/g)?.length ?? 0) >= 20, 60_000, `twenty beats of generation ${generation}`);
    // Still raised (another interrupt, cpu_pressure on a loaded host, may be active beside it).
    expect(after().split("metabolic worker ready")[1]).toMatch(/ active=(\S+,)?zombies\b/);
    expect(starts()).toBe(2);
  }
  expect(run.log().match(/interrupt raised interrupt=zombies/g)?.length).toBe(1);
  const st = JSON.parse(runShipped(["status", "--json", "--socket", sock]).stdout) as { heartbeat: { interrupts: Array<{ name: string; active: boolean; raised: number }>; wake: { beatFifo: string | null; beatGuard: string | null } } };
  expect(st.heartbeat.interrupts.find((i) => i.name === "zombies")).toEqual({ name: "zombies", active: true, raised: 1 });
  // The old image stopped its beat's guard thread and lowered itself before the execve: an image exec'd while SCHED_FIFO
  // would run real-time from its start and keep that policy as the operator's ("kept: ..."), its window off.
  expect(st.heartbeat.wake.beatFifo).toBe("SCHED_FIFO 1");
  expect(st.heartbeat.wake.beatGuard).toMatch(/^\d+ raises, \d+ beats started, \d+ lowered$/);
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 240_000);

test("a raised interrupt whose stop found no running target was retried each beat, until a live re-exec: the new image never tried it again; it goes on trying and stops the target once one runs", async () => {
  const dir = tempDir();
  const flag = join(dir, "victim-may-run");
  // zmaker is idle (no CPU): top_cpu matches no running service while the zombies stay. The spinner
  // exits at once until the flag exists, then spins: the busiest service from then on.
  const spinner = { name: "spinner", argv: ["sh", "-c", `[ -e ${flag} ] || exit 0; while :; do :; done`], restart: "never" };
  const { run, init, sock } = await zombieBoot(dir, { action: "stop", target: "top_cpu" }, spinner);
  await waitFor(() => /action interrupt=zombies action=stop .*no running service matches target top_cpu; retried each beat/.test(run.log()), 60_000, "the stop waiting for its target");
  expect(runShipped(["reexec", "--socket", sock, "--timeout", "60000"], { timeoutMs: 90_000 }).code).toBe(0);
  const after = () => run.log().split("resuming after re-exec generation=1 ")[1] ?? "";
  await waitFor(() => after().includes("metabolic worker ready"), 60_000, "the new image's worker");
  await Bun.write(flag, "");
  expect(runShipped(["start", "spinner", "--socket", sock]).code).toBe(0);
  // The new image finds the target it inherited the wait for, and stops it (the interrupt is not raised again).
  await waitFor(() => /action interrupt=zombies action="?stop"? service=spinner ok=true/.test(after()), 30_000, "the inherited stop of the spinner");
  expect(after()).toContain("action target found");
  expect(run.log().match(/interrupt raised interrupt=zombies/g)?.length).toBe(1);
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 240_000);
