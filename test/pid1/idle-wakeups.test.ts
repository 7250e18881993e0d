// An idle tini-mode init woke a hundred times a second to poll its signal counters (tini sleeps); it now wakes on the signal.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { killLeftovers, loggedAt, start, tempDir } from "./harness.ts";
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

test("an idle boot with services polled their log pipes and the sd_notify socket every 20 ms; a log line and READY=1 still arrive at once", async () => {
  const dir = tempDir();
  const notifier = join(dir, "notifier.py");
  // READY=1 when told (a file appears), then a log line: both must reach the init without a poll.
  const go = join(dir, "go");
  writeFileSync(notifier, `import os, socket, sys, time
while not os.path.exists(${JSON.stringify(go)}):
    time.sleep(0.02)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sent = float(open("/proc/uptime").read().split()[0])  # the init's log clock is aligned with it
s.sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])
print("said ready at %.2f" % sent, file=sys.stderr, flush=True)
time.sleep(1000)
`);
  const cfg = join(dir, "config.json");
  writeFileSync(cfg, JSON.stringify({
    state_dir: join(dir, "state"), run_dir: join(dir, "run"), heartbeat_ms: 1000, heartbeat_log_every: 0,
    services: [
      { name: "quiet", argv: ["sleep", "1000"] },
      { name: "notifier", argv: [existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3", notifier], ready: { notify: true, timeout_ms: 60_000 } },
    ],
  }));
  const run = start(["boot", "--config", cfg]);
  await waitFor(() => run.log().includes("metabolic worker ready") && run.log().includes("service=notifier"), 30_000, "the boot");
  const before = wakeups(run.proc.pid);
  await Bun.sleep(2000);
  const woke = wakeups(run.proc.pid) - before;
  expect(woke).toBeLessThan(60); // ~200 with the two 20 ms polls
  writeFileSync(go, "");
  await waitFor(() => run.log().includes("notifier: said ready"), 10_000, "the service's log line");
  await waitFor(() => /service ready service=notifier/.test(run.log()), 10_000, "READY=1");
  // Taken when it came, not at the next safety poll (1 s): /proc/uptime has 10 ms steps.
  const sent = Number(/said ready at ([\d.]+)/.exec(run.log())![1]) * 1000;
  const seen = loggedAt(run.log(), /service ready service=notifier/)!;
  expect(seen - sent).toBeLessThan(600);
  run.proc.kill("SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 90_000);
