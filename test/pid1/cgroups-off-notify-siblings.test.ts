// With cgroups off, sd_notify messages from a sibling of a MAINPID= worker (same run, not in the worker's session) belong to the service.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { compileC } from "../harness/compile-c.ts";
import { bootWithoutCgroups } from "./boot-without-cgroups.ts";
import { pidsRunning, tempDir, waitFor, writeJson } from "./harness.ts";
import { NOTIFY_C } from "../harness/notify-c.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/**
 * argv: SECONDS. Forks a sibling worker and a main worker (neither leaves the parent's session or
 * process group). The main worker sends MAINPID=<itself> and READY=1, then runs `sleep SECONDS`;
 * the parent exits; once MAINPID= is sent, the sibling sends WATCHDOG=1 and STATUS=sibling-alive
 * every 100 ms.
 */
const DAEMON = `${NOTIFY_C}int main(int argc, char **argv) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (argc < 2 || !path) return 2;
  int p[2], q[2];
  if (pipe(p) < 0 || pipe(q) < 0) return 3;
  if (fork() == 0) {
    char b;
    if (read(q[0], &b, 1) != 1) _exit(4);
    usleep(200000); /* after the main worker's MAINPID= was read */
    for (;;) {
      notify(path, "WATCHDOG=1\\nSTATUS=sibling-alive");
      usleep(100000);
    }
  }
  if (fork() == 0) {
    if (notify_main_ready(path, (int)getpid()) < 0) _exit(5);
    (void)!write(p[1], "r", 1);
    (void)!write(q[1], "r", 1);
    execlp("sleep", "sleep", argv[1], (char *)0);
    _exit(127);
  }
  char b;
  return read(p[0], &b, 1) == 1 ? 0 : 4;
}
`;

test("with cgroups off, WATCHDOG=1 from a sibling of a MAINPID= worker that leads no session was dropped (the sender's session was compared with the main pid) and the service was killed for a missed watchdog; the run's process groups decide", async () => {
  const dir = tempDir();
  const main = String(600_000 + (process.pid % 99_999));
  const exe = compileC(dir, "daemon", DAEMON);
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [{ name: "daemon", argv: [exe, main], ready: { notify: true, timeout_ms: 30_000 }, watchdog_ms: 1_500, restart: "never", grace_ms: 5_000 }],
  });
  const run = bootWithoutCgroups(cfg, cleanups);
  cleanups.push(() => {
    for (const p of pidsRunning(["sleep", main])) process.kill(p, "SIGKILL");
  });
  await waitFor(() => /service ready service=daemon/.test(run.log()), 30_000, "the daemon ready");
  expect(run.log()).toContain("cgroups are off");
  expect(run.log()).toMatch(/service names a new main process service=daemon/);
  // Three watchdog periods of pings from the sibling alone (the main worker sends none after READY=1).
  await Bun.sleep(4_500);
  expect(run.log()).not.toMatch(/no WATCHDOG=1 within/);
  expect(pidsRunning(["sleep", main]).length).toBe(1);
  expect(await run.shutdown()).toBe(130);
}, 60_000);
