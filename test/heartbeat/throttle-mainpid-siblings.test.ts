// With cgroups off, the SIGSTOP/SIGCONT throttle of a forking daemon whose worker named itself with MAINPID= reaches that worker's siblings, also after the worker called setsid().
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serviceSchema } from "../../src/config/schema.ts";
import { Heartbeat } from "../../src/heartbeat/heartbeat.ts";
import { Reaper } from "../../src/init/reaper.ts";
import { Supervisor } from "../../src/supervisor/supervisor.ts";
import { sessionOf } from "../../src/util/process-exists.ts";
import { compileC } from "../harness/compile-c.ts";
import { NOTIFY_C } from "../harness/notify-c.ts";
import { busyProc, procState, testModel, waitFor } from "./helpers.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * argv: FILE [GO]. Forks a sibling worker that writes its pid to FILE and spins, and a main worker
 * that sends MAINPID=<itself> and READY=1 (from the run's session: the supervisor takes it), then,
 * given GO, once GO exists calls setsid(), and spins; the parent exits. The sibling stays in the
 * parent's process group; the main worker leads none, or after setsid() its own group and session.
 */
const DAEMON = `${NOTIFY_C}int main(int argc, char **argv) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (argc < 2 || !path) return 2;
  if (fork() == 0) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
    FILE *f = fopen(tmp, "w");
    if (!f) _exit(3);
    fprintf(f, "%d", (int)getpid());
    fclose(f);
    rename(tmp, argv[1]);
    for (volatile unsigned long i = 0;; i++) {}
  }
  int p[2];
  if (pipe(p) < 0) return 3;
  if (fork() == 0) {
    if (notify_main_ready(path, (int)getpid()) < 0) _exit(5);
    (void)!write(p[1], "r", 1);
    if (argc > 2) {
      while (access(argv[2], F_OK) != 0) usleep(20000);
      if (setsid() < 0) _exit(6);
    }
    for (volatile unsigned long i = 0;; i++) {}
  }
  char b;
  return read(p[0], &b, 1) == 1 ? 0 : 4;
}
`;

/** Runs the daemon under a supervisor (cgroups off); `go` (optional) is its GO file. Returns the supervisor, the main worker's pid and the sibling's. */
async function startDaemon(go: boolean) {
  const dir = mkdtempSync(join(tmpdir(), "vb-throttle-siblings-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const exe = compileC(dir, "daemon", DAEMON);
  const siblingFile = join(dir, "sibling");
  const goFile = join(dir, "go");
  const cfg = [serviceSchema.parse({ name: "daemon", argv: [exe, siblingFile, ...(go ? [goFile] : [])], ready: { notify: true, timeout_ms: 20_000 }, restart: "never", grace_ms: 500, no_new_privs: false })];
  const workers: number[] = []; // killed after the stop below, should the run's stop miss them
  cleanups.push(() => {
    for (const p of workers) {
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
  await waitFor("the sibling's pid", () => existsSync(siblingFile), 10_000);
  const main = sup.list()[0]!.pid!;
  const sibling = Number(readFileSync(siblingFile, "utf8"));
  expect(sibling).toBeGreaterThan(0);
  expect(main).not.toBe(sibling);
  workers.push(main, sibling);
  return { sup, main, sibling, go: () => writeFileSync(goFile, "") };
}

/** A heartbeat whose cortex throttles the busiest service (the main worker, by a /proc that says so); waits for the throttle and for both workers seen stopped. */
async function throttleAndSee(sup: Supervisor, main: number, sibling: number): Promise<Heartbeat> {
  const proc = busyProc();
  cleanups.push(() => proc.close());
  symlinkSync("/proc/self", join(proc.root, "self"));
  symlinkSync(`/proc/${main}`, join(proc.root, String(main)));
  const sys = mkdtempSync(join(tmpdir(), "vb-fakesys-")); // no cgroup to touch: the throttle uses SIGSTOP/SIGCONT
  cleanups.push(() => rmSync(sys, { recursive: true, force: true }));
  const model = testModel([{ name: "cpu_pressure", input: "cpu.total", fireAt: 0.8, scale: 0.05 }]);
  const hb = new Heartbeat({ periodMs: 50, model, services: sup, config: { watchdog: false, proc_root: proc.root, sys_root: sys, interrupts: { cpu_pressure: { action: "throttle", target: "top_cpu", duty: 0.1, hold_ms: 60_000 } } } });
  hb.start();
  cleanups.push(async () => void (await hb.stop()));
  const throttles = () => hb.records().filter((r) => r.kind === "action" && r.action === "throttle" && r.ok === true);
  await waitFor("the throttle of the main worker", () => throttles().length === 1, 30_000);
  expect(throttles()[0]!.detail).toContain(`pid ${main} `);
  // Stopped 90% of each period: a few looks see the sibling stopped too.
  const seen = { main: false, sibling: false };
  for (let i = 0; i < 300 && !(seen.main && seen.sibling); i++) {
    if ((await procState(main)) === "T") seen.main = true;
    if ((await procState(sibling)) === "T") seen.sibling = true;
    await Bun.sleep(10);
  }
  expect(seen).toEqual({ main: true, sibling: true });
  return hb;
}

test("with cgroups off, a throttle of a forking daemon whose MAINPID= worker leads no process group stopped that worker alone (SIGSTOP to the group it leads, else to it) and its sibling workers kept burning CPU; the group it is in is stopped", async () => {
  const { sup, main, sibling } = await startDaemon(false);
  await throttleAndSee(sup, main, sibling);
}, 90_000);

test("with cgroups off, a throttle of a forking daemon whose MAINPID= worker called setsid() stopped that worker alone (the groups were derived from its pid's new session) and its sibling in the old session burnt CPU on; the run's groups are stopped and resumed", async () => {
  const { sup, main, sibling, go } = await startDaemon(true);
  const oldSession = sessionOf(sibling);
  go();
  await waitFor("the main worker in a session of its own", () => sessionOf(main) === main, 10_000);
  expect(oldSession).not.toBe(main);
  expect(sessionOf(sibling)).toBe(oldSession);
  const hb = await throttleAndSee(sup, main, sibling);
  // The heartbeat's stop releases the throttle: neither is left stopped.
  await hb.stop();
  await Bun.sleep(200);
  expect({ main: await procState(main), sibling: await procState(sibling) }).toEqual({ main: "R", sibling: "R" });
}, 90_000);
