// With cgroups off, a live re-exec rebuilt a running service's process groups from its main process alone: a MAINPID= worker that called setsid() lost its exited parent's group, and the siblings in it escaped the stop.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { compileC } from "../harness/compile-c.ts";
import { NOTIFY_C } from "../harness/notify-c.ts";
import { bootWithoutCgroups } from "./boot-without-cgroups.ts";
import { pidsRunning, tempDir, waitFor, writeJson } from "./harness.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** argv: MAIN SIBLING (sleep seconds). Forks a sibling (`sleep SIBLING`, in the parent's group) and a main worker that sends MAINPID=<itself> and READY=1, then calls setsid() and runs `sleep MAIN`; the parent exits. */
const DAEMON = `${NOTIFY_C}int main(int argc, char **argv) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (argc < 3 || !path) return 2;
  int p[2];
  if (pipe(p) < 0) return 3;
  if (fork() == 0) {
    execlp("sleep", "sleep", argv[2], (char *)0);
    _exit(127);
  }
  if (fork() == 0) {
    if (notify_main_ready(path, (int)getpid()) < 0) _exit(5);
    usleep(300000); /* its MAINPID= read while it is still in the run's session */
    if (setsid() < 0) _exit(6);
    (void)!write(p[1], "r", 1);
    execlp("sleep", "sleep", argv[1], (char *)0);
    _exit(127);
  }
  char b;
  return read(p[0], &b, 1) == 1 ? 0 : 4;
}
`;

test("with cgroups off, the sibling of a MAINPID= worker that called setsid() escaped a stop asked after a live re-exec (the new image knew only the worker's own group): it gets the stop signal too", async () => {
  const dir = tempDir();
  const main = String(610_000 + (process.pid % 99_999));
  const sibling = String(710_000 + (process.pid % 99_999));
  const exe = compileC(dir, "daemon", DAEMON);
  const sock = join(dir, "run", "control");
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [{ name: "daemon", argv: [exe, main, sibling], ready: { notify: true, timeout_ms: 30_000 }, restart: "never", grace_ms: 5_000 }],
  });
  const run = bootWithoutCgroups(cfg, cleanups);
  cleanups.push(() => {
    for (const p of [...pidsRunning(["sleep", main]), ...pidsRunning(["sleep", sibling])]) process.kill(p, "SIGKILL");
  });
  await waitFor(() => /service ready service=daemon/.test(run.log()) && run.log().includes("control socket listening"), 30_000, "the daemon ready");
  expect(run.log()).toContain("cgroups are off");
  expect(pidsRunning(["sleep", sibling]).length).toBe(1);
  const r = await runShippedAsync(["reexec", "--socket", sock, "--timeout", "30000"], 60_000);
  expect(r.code, r.err).toBe(0);
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 ") && /service adopted service=daemon/.test(run.log()), 30_000, "the re-exec");
  const stop = await runShippedAsync(["stop", "daemon", "--socket", sock], 30_000);
  expect(stop.code, stop.err).toBe(0);
  await waitFor(() => pidsRunning(["sleep", main]).length === 0 && pidsRunning(["sleep", sibling]).length === 0, 10_000, "the worker and its sibling gone", { explain: () => `main ${pidsRunning(["sleep", main])}, sibling ${pidsRunning(["sleep", sibling])}` });
  expect(await run.shutdown()).toBe(130);
}, 90_000);
