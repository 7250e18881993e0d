// With cgroups off, a forking daemon whose worker names itself with MAINPID= before its parent exits: its sibling workers are part of the run.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { compileC } from "../harness/compile-c.ts";
import { bootWithoutCgroups } from "./boot-without-cgroups.ts";
import { pidsRunning, tempDir, waitFor, writeJson } from "./harness.ts";
import { NOTIFY_C } from "../harness/notify-c.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/**
 * argv: SECONDS GO. Forks a worker pool (two `sleep SECONDS`) and one worker that sends
 * MAINPID=<itself> and READY=1, then exits 3 once GO exists; the parent exits once that worker has
 * sent its message. No worker leaves the parent's process group (no setsid, no setpgid).
 */
const DAEMON = `${NOTIFY_C}int main(int argc, char **argv) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (argc < 3 || !path) return 2;
  for (int i = 0; i < 2; i++)
    if (fork() == 0) {
      execlp("sleep", "sleep", argv[1], (char *)0);
      _exit(127);
    }
  int p[2];
  if (pipe(p) < 0) return 3;
  if (fork() == 0) {
    if (notify_main_ready(path, (int)getpid()) < 0) _exit(5);
    (void)!write(p[1], "r", 1);
    for (;;) {
      if (access(argv[2], F_OK) == 0) _exit(3);
      usleep(20000);
    }
  }
  char b;
  return read(p[0], &b, 1) == 1 ? 0 : 4;
}
`;

/** A unique sleep length names a test's processes among the host's. */
const unique = (k: number) => String(700_000 + k * 100_000 + (process.pid % 99_999));

/** Boots the daemon as service "daemon" with cgroups off; resolves once its worker is the main process and the pool runs. */
async function bootDaemon(k: number, extra: Record<string, unknown>) {
  const dir = tempDir();
  const workers = unique(k);
  const go = join(dir, "go");
  const exe = compileC(dir, "daemon", DAEMON);
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [{ name: "daemon", argv: [exe, workers, go], ready: { notify: true, timeout_ms: 30_000 }, grace_ms: 20_000, ...extra }],
  });
  const run = bootWithoutCgroups(cfg, cleanups);
  cleanups.push(() => {
    for (const p of pidsRunning(["sleep", workers])) process.kill(p, "SIGKILL");
  });
  await waitFor(() => /service ready service=daemon/.test(run.log()) && run.log().includes("control socket listening"), 30_000, "the daemon ready");
  expect(run.log()).toContain("cgroups are off");
  expect(run.log()).toMatch(/service names a new main process service=daemon/);
  await waitFor(() => pidsRunning(["sleep", workers]).length === 2, 10_000, "the worker pool");
  return { run, workers, go, sock: join(dir, "run", "control") };
}

test("with cgroups off, `stop` of a forking daemon whose worker sent MAINPID= signalled that worker alone (it leads no process group) and its sibling workers ran on; the run's process group gets the stop signal", async () => {
  const { run, workers, sock } = await bootDaemon(0, {});
  const stop = await runShippedAsync(["stop", "daemon", "--socket", sock]);
  expect(stop.code).toBe(0);
  expect(pidsRunning(["sleep", workers])).toEqual([]);
  // Stopped by the stop signal, not by SIGKILL at the end of the 20 s grace.
  expect(run.log()).not.toMatch(/sending SIGKILL/);
  expect(await run.shutdown()).toBe(130); // power-off of a PID namespace: its init ends by SIGINT
}, 60_000);

test("with cgroups off, a forking daemon's MAINPID= worker that exits by itself left its sibling workers running (no process group found for it); they are killed as the run's leftovers", async () => {
  const { run, workers, go } = await bootDaemon(1, { restart: "never" });
  writeFileSync(go, "");
  await waitFor(() => /service exited; restart=never, staying down service=daemon/.test(run.log()), 15_000, "the main worker's exit");
  await waitFor(() => pidsRunning(["sleep", workers]).length === 0, 10_000, "the sibling workers killed with the run");
  expect(run.log()).toMatch(/main process exited; killing what is left of its run .* service=daemon/);
  expect(await run.shutdown()).toBe(130);
}, 60_000);
