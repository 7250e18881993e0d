// With cgroups off, the SIGSTOP/SIGCONT throttle kept signalling the process groups it was given at its start: one that emptied (a forking daemon's parent gone) and whose number an unrelated process then led was stopped with the service.
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serviceSchema } from "../../src/config/schema.ts";
import { Heartbeat } from "../../src/heartbeat/heartbeat.ts";
import { Reaper } from "../../src/init/reaper.ts";
import { Supervisor } from "../../src/supervisor/supervisor.ts";
import { compileC } from "../harness/compile-c.ts";
import { busyProc, procState, testModel, waitFor } from "./helpers.ts";
import { NOTIFY_C } from "../harness/notify-c.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * argv: PIDFILE GO EXIT. A forking daemon: its worker sends MAINPID=<itself> and READY=1 (from the
 * run's session: the supervisor takes it), then, once GO exists, calls setsid() and spins; the
 * parent, which leads the run's first process group, then alone in it, writes its pid to PIDFILE
 * and exits once EXIT exists. That group is then empty, and its number free.
 */
const DAEMON = `${NOTIFY_C}int main(int argc, char **argv) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (argc < 4 || !path) return 2;
  int p[2];
  if (pipe(p) < 0) return 3;
  if (fork() == 0) {
    char msg[64];
    snprintf(msg, sizeof msg, "MAINPID=%d\\nREADY=1", (int)getpid());
    if (notify(path, msg) < 0) _exit(5);
    while (access(argv[2], F_OK) != 0) usleep(20000);
    if (setsid() < 0) _exit(6);
    (void)!write(p[1], "r", 1);
    for (volatile unsigned long i = 0;; i++) {}
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
  while (access(argv[3], F_OK) != 0) usleep(20000);
  return 0;
}
`;

/** Starts `setsid sleep SECONDS` under pid `pid` (ns_last_pid, retried while other forks take it): it leads a session and group of its own under that number. */
function leadGroupAt(pid: number, seconds: string): number | null {
  const script = `i=0; while [ $i -lt 200 ]; do echo $((${pid} - 1)) > /proc/sys/kernel/ns_last_pid; setsid sleep ${seconds} </dev/null >/dev/null 2>&1 & if [ $! -eq ${pid} ]; then echo $!; exit 0; fi; kill $!; i=$((i + 1)); done; exit 1`;
  const r = Bun.spawnSync(["sh", "-c", script]);
  return r.exitCode === 0 ? Number(r.stdout.toString().trim()) : null;
}

test("with cgroups off, a SIGSTOP/SIGCONT throttle went on signalling a group of the run that had emptied (the daemon's parent gone) after an unrelated process led a group under its number: that process was stopped; now only the run's groups are", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vb-throttle-recycled-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const exe = compileC(dir, "daemon", DAEMON);
  const pidFile = join(dir, "parent.pid");
  const go = join(dir, "go");
  const exit = join(dir, "exit");
  const seconds = String(500_000 + (process.pid % 99_999));
  const cfg = [serviceSchema.parse({ name: "daemon", argv: [exe, pidFile, go, exit], ready: { notify: true, timeout_ms: 20_000 }, restart: "never", grace_ms: 500, no_new_privs: false })];
  const strays: number[] = [];
  cleanups.push(() => {
    for (const p of strays) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  });
  const reaper = new Reaper().start(50);
  const sup = new Supervisor(cfg, ["daemon"], reaper, process.env, { notifyPath: join(dir, "run", "notify") });
  cleanups.push(async () => {
    await sup.stopAll();
    reaper.stop();
  });
  sup.startAll();
  await waitFor("the daemon ready, its worker the main process", () => sup.list()[0]!.state === "running", 20_000);
  const main = sup.list()[0]!.pid!;
  strays.push(main);
  writeFileSync(go, "");
  await waitFor("the parent alone in the run's first group", () => existsSync(pidFile), 10_000);
  const parent = Number(readFileSync(pidFile, "utf8"));
  expect(sup.processGroups("daemon")).toContain(parent);

  const proc = busyProc();
  cleanups.push(() => proc.close());
  symlinkSync("/proc/self", join(proc.root, "self"));
  symlinkSync(`/proc/${main}`, join(proc.root, String(main)));
  const sys = mkdtempSync(join(tmpdir(), "vb-fakesys-")); // no cgroup to touch: the throttle uses SIGSTOP/SIGCONT
  cleanups.push(() => rmSync(sys, { recursive: true, force: true }));
  const model = testModel([{ name: "cpu_pressure", input: "cpu.total", fireAt: 0.8, scale: 0.05 }]);
  // Long phases: the group empties and its number is taken between two signals of the duty cycle.
  const hb = new Heartbeat({ periodMs: 50, model, services: sup, config: { watchdog: false, proc_root: proc.root, sys_root: sys, interrupts: { cpu_pressure: { action: "throttle", target: "top_cpu", duty: 0.5, duty_period_ms: 3000, hold_ms: 120_000 } } } });
  hb.start();
  cleanups.push(async () => void (await hb.stop()));
  const throttles = () => hb.records().filter((r) => r.kind === "action" && r.action === "throttle" && r.ok === true);
  await waitFor("the throttle of the main worker", () => throttles().length >= 1, 30_000);
  expect(throttles()[0]!.detail).toContain(`pid ${main} `);

  // The parent exits (in a running phase) and is reaped; an unrelated process leads a group under its number.
  writeFileSync(exit, "");
  await waitFor("the parent gone", () => !existsSync(`/proc/${parent}`), 10_000);
  const victim = leadGroupAt(parent, seconds);
  if (victim !== null) strays.push(victim);
  expect(victim).toBe(parent);

  // Two periods: the main worker is stopped and resumed; the unrelated process is never stopped.
  const seen = { main: false, victim: false };
  const end = performance.now() + 6500;
  while (performance.now() < end) {
    if ((await procState(main)) === "T") seen.main = true;
    if ((await procState(victim!)) === "T") seen.victim = true;
    await Bun.sleep(20);
  }
  expect(seen).toEqual({ main: true, victim: false });
}, 90_000);
