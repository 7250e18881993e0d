// A stop signalled a run's recorded process group that had emptied and whose number another process now led: with cgroups on (the recorded groups signalled beside the cgroup), and with cgroups off (groups pruned only when the main process exited).
import { afterEach, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { compileC } from "../harness/compile-c.ts";
import { NOTIFY_C } from "../harness/notify-c.ts";
import { bootWithoutCgroups } from "./boot-without-cgroups.ts";
import { killLeftovers, pidsRunning, tempDir, waitFor, writeJson } from "./harness.ts";
import { bootServices, listServices } from "./service-boot.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
  killLeftovers();
});

/**
 * argv: PIDFILE [GO]. A forking daemon: its worker sends MAINPID=<itself> and READY=1, then (given
 * GO, once GO exists: with cgroups off the init takes the message only from a process in the run's
 * groups, so the test creates GO once the daemon is ready) calls setsid() (a group and session of
 * its own) and sleeps; the parent, which leads the run's first process group, writes its pid to
 * PIDFILE once the worker left its group, and exits. That group is then empty, and its number free.
 */
const DAEMON = `${NOTIFY_C}int main(int argc, char **argv) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (argc < 2 || !path) return 2;
  int p[2];
  if (pipe(p) < 0) return 3;
  if (fork() == 0) {
    if (notify_main_ready(path, (int)getpid()) < 0) _exit(5);
    if (argc > 2)
      while (access(argv[2], F_OK) != 0) usleep(20000);
    if (setsid() < 0) _exit(6);
    (void)!write(p[1], "r", 1);
    for (;;) pause();
  }
  char b;
  if (read(p[0], &b, 1) != 1) return 4;
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
  FILE *f = fopen(tmp, "w");
  if (!f) return 7;
  fprintf(f, "%d", (int)getpid());
  fclose(f);
  rename(tmp, argv[1]);
  return 0;
}
`;

/**
 * Another service: once the daemon's parent (pid in PIDFILE) is gone, it starts `sleep SECONDS` in
 * a session and process group of its own under that same number (ns_last_pid), writing it to VICTIM.
 */
function victim(pidFile: string, victimFile: string, seconds: string) {
  const script = `while [ ! -s ${pidFile} ]; do sleep 0.05; done; P=$(cat ${pidFile}); while [ -d /proc/$P ]; do sleep 0.05; done
i=0; while [ $i -lt 100 ]; do echo $((P - 1)) > /proc/sys/kernel/ns_last_pid; setsid sleep ${seconds} </dev/null >/dev/null 2>&1 & if [ $! -eq $P ]; then echo $! > ${victimFile}; break; fi; kill $!; i=$((i + 1)); done
exec sleep 1000`;
  return { name: "other", argv: ["sh", "-c", script], keep_all_capabilities: true, no_new_privs: false };
}

test("with cgroups on, `stop` of a forking daemon whose MAINPID= worker called setsid() sent its stop signal to the run's first process group after that group had emptied and another service's process led a group under its number; it reaches only the service's own processes", async () => {
  const dir = tempDir();
  const exe = compileC(dir, "daemon", DAEMON);
  const pidFile = join(dir, "parent.pid");
  const victimFile = join(dir, "victim.pid");
  const seconds = String(600_000 + (process.pid % 99_999));
  cleanups.push(() => {
    for (const p of pidsRunning(["sleep", seconds])) process.kill(p, "SIGKILL");
  });
  const { run, list } = bootServices(dir, [{ name: "daemon", argv: [exe, pidFile], ready: { notify: true, timeout_ms: 20_000 }, restart: "never", grace_ms: 2_000 }, victim(pidFile, victimFile, seconds)], {}, { pid1: true });
  await waitFor(async () => (await list()).find((s) => s.name === "daemon")?.ready === true, 30_000, "the daemon ready under its MAINPID", { pollMs: 100 });
  expect(run.log()).not.toContain("cgroups are off");
  await waitFor(() => existsSync(victimFile) && readFileSync(victimFile, "utf8").trim() !== "", 20_000, "the other service's process leading a group under the daemon parent's number");
  expect(readFileSync(victimFile, "utf8").trim()).toBe(readFileSync(pidFile, "utf8").trim());
  expect(pidsRunning(["sleep", seconds]).length).toBe(1);
  const stopped = await runShippedAsync(["stop", "daemon", "--socket", join(dir, "run", "control")]);
  expect(stopped.code).toBe(0);
  await Bun.sleep(300);
  // The other service's process, outside the daemon's cgroup, got no stop signal.
  expect(pidsRunning(["sleep", seconds]).length).toBe(1);
  expect((await list()).find((s) => s.name === "other")?.state).toBe("running");
}, 90_000);

test("with cgroups off, `stop` of a forking daemon whose MAINPID= worker called setsid() sent its stop signal to the run's first process group after that group had emptied and an unrelated process led a group under its number; it reaches only the service's own processes", async () => {
  const dir = tempDir();
  const exe = compileC(dir, "daemon", DAEMON);
  const pidFile = join(dir, "parent.pid");
  const victimFile = join(dir, "victim.pid");
  const go = join(dir, "go");
  const seconds = String(700_000 + (process.pid % 99_999));
  const sock = join(dir, "run", "control");
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [{ name: "daemon", argv: [exe, pidFile, go], ready: { notify: true, timeout_ms: 20_000 }, restart: "never", grace_ms: 2_000 }, victim(pidFile, victimFile, seconds)],
  });
  const run = bootWithoutCgroups(cfg, cleanups);
  cleanups.push(() => {
    for (const p of pidsRunning(["sleep", seconds])) process.kill(p, "SIGKILL");
  });
  await waitFor(async () => (await listServices(sock)).find((s) => s.name === "daemon")?.ready === true, 30_000, "the daemon ready under its MAINPID", { pollMs: 100 });
  expect(run.log()).toContain("cgroups are off");
  writeFileSync(go, "");
  await waitFor(() => existsSync(victimFile) && readFileSync(victimFile, "utf8").trim() !== "", 20_000, "the other service's process leading a group under the daemon parent's number");
  expect(readFileSync(victimFile, "utf8").trim()).toBe(readFileSync(pidFile, "utf8").trim());
  // Its pid is written once forked, maybe before setsid(1) has executed sleep.
  await waitFor(() => pidsRunning(["sleep", seconds]).length === 1, 10_000, "the other service's process running sleep");
  const stopped = await runShippedAsync(["stop", "daemon", "--socket", sock]);
  expect(stopped.code).toBe(0);
  await Bun.sleep(300);
  // The unrelated process leading a group under the emptied group's number got no stop signal.
  expect(pidsRunning(["sleep", seconds]).length).toBe(1);
  expect((await listServices(sock)).find((s) => s.name === "other")?.state).toBe("running");
  expect(await run.shutdown()).toBe(130);
}, 90_000);
