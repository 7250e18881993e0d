// A forking daemon that named its child with MAINPID= got the stop signal twice at `stop`: once as the main process, once as a process of its cgroup outside the main process's group.
import { afterEach, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { compileC } from "../harness/compile-c.ts";
import { killLeftovers, tempDir, waitFor } from "./harness.ts";
import { bootServices } from "./service-boot.ts";
import { NOTIFY_C } from "../harness/notify-c.ts";

afterEach(killLeftovers);

/**
 * argv: MARKS GO. Forks a daemon that appends "t" to MARKS for each SIGRTMIN+2 (real-time signals
 * queue: each one sent is one delivery) and "c" for each SIGCONT, and exits 0 once GO exists; the
 * parent sends MAINPID=<daemon> and READY=1 once the daemon's handlers are in place, then exits.
 */
const FORKER = `${NOTIFY_C}#include <fcntl.h>
#include <signal.h>
static int marks;
static void on_sig(int sig) { (void)!write(marks, sig == SIGCONT ? "c" : "t", 1); }
int main(int argc, char **argv) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (argc < 3 || !path) return 2;
  int p[2];
  if (pipe(p) < 0) return 3;
  pid_t c = fork();
  if (c == 0) {
    marks = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sigaction(SIGRTMIN + 2, &sa, 0);
    sigaction(SIGCONT, &sa, 0);
    (void)!write(p[1], "r", 1);
    for (;;) {
      if (access(argv[2], F_OK) == 0) _exit(0);
      usleep(20000);
    }
  }
  char b;
  if (read(p[0], &b, 1) != 1) return 4;
  if (notify_main_ready(path, (int)c) < 0) return 5;
  return 0;
}
`;

test("a forking daemon named by MAINPID= got its stop signal twice at `stop` (as the main process, and again as a cgroup process outside the main process's group); it gets it once", async () => {
  const dir = tempDir();
  const exe = compileC(dir, "forker", FORKER);
  const marks = join(dir, "marks");
  const go = join(dir, "go");
  writeFileSync(marks, "");
  const { run, list } = bootServices(dir, [{ name: "daemon", argv: [exe, marks, go], stop_signal: "SIGRTMIN+2", grace_ms: 20_000, ready: { notify: true, timeout_ms: 20_000 } }]);
  await waitFor(async () => (await list())[0]?.ready === true, 25_000, "the daemon ready under its MAINPID", { pollMs: 100 });
  // The forking parent is gone: the daemon alone is the service's main process.
  await waitFor(() => /service names a new main process service=daemon/.test(run.log()), 10_000, "MAINPID taken");
  await waitFor(async () => ((await list())[0] as unknown as { cgroup: { pids: number } | null }).cgroup?.pids === 1, 10_000, "the forking parent gone", { pollMs: 100 });
  const stopping = runShippedAsync(["stop", "daemon", "--socket", join(dir, "run", "control")]);
  // SIGCONT follows every stop signal sent: once it is in, every stop signal is queued.
  await waitFor(() => readFileSync(marks, "latin1").includes("c"), 25_000, "the stop signal and SIGCONT delivered");
  writeFileSync(go, "");
  expect((await stopping).code).toBe(0);
  const got = readFileSync(marks, "latin1");
  expect({ stopSignals: got.split("t").length - 1, conts: got.split("c").length - 1 }).toEqual({ stopSignals: 1, conts: 1 });
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(15_000)).code).toBe(0);
}, 60_000);
