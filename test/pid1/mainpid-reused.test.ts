// A service's MAINPID= process that ended, its pid taken by an unrelated process before the supervisor's 200 ms poll saw it gone: the stop signal and SIGKILL meant for the service went to that process.
import { afterEach, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { python } from "../harness/python.ts";
import { read } from "./file-text.ts";
import { killLeftovers, pidsRunning, tempDir, waitFor } from "./harness.ts";
import { bootServices } from "./service-boot.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
  killLeftovers();
});

/** The pid of host process `pid` in its own (innermost) PID namespace. */
const nsPid = (pid: number): number => Number(/^NSpid:.*\s(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);

/**
 * argv: DIR SECONDS. Forks a worker that names itself with MAINPID= and READY=1 (its parent, not the
 * init, reaps it). Once DIR/go exists: SIGKILLs and reaps the worker, forks under the worker's pid
 * (ns_last_pid) a process that leaves the service's session and cgroup and runs `sleep SECONDS`,
 * writes its pid to DIR/victim, then sends WATCHDOG=trigger (the service's stop signal and SIGKILL
 * from the supervisor) and writes DIR/sent.
 */
const SERVICE = `import os, socket, sys, time
d, seconds = sys.argv[1], sys.argv[2]
def notify(m):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(m.encode(), os.environ["NOTIFY_SOCKET"])
    s.close()
x = os.fork()
if x == 0:
    notify("MAINPID=%d\\nREADY=1" % os.getpid())
    time.sleep(1000)
    os._exit(0)
open(d + "/worker", "w").write(str(x))
while not os.path.exists(d + "/go"):
    time.sleep(0.02)
os.kill(x, 9)
os.waitpid(x, 0)
mount = [l.split()[1] for l in open("/proc/self/mounts") if l.split()[2] == "cgroup2"][0]
for i in range(100):
    open("/proc/sys/kernel/ns_last_pid", "w").write(str(x - 1))
    r, w = os.pipe()
    v = os.fork()
    if v == 0:
        os.setsid()
        os.read(r, 1)
        os.execvp("sleep", ["sleep", seconds])
    if v == x:
        break
    os.kill(v, 9)
    os.waitpid(v, 0)
open(mount + "/cgroup.procs", "w").write(str(v))
os.write(w, b"x")
while open("/proc/%d/cmdline" % v).read() != "sleep\\0" + seconds + "\\0":
    time.sleep(0.01)
open(d + "/victim", "w").write(str(v))
notify("WATCHDOG=trigger")
open(d + "/sent", "w").write("x")
time.sleep(1000)
`;

test("a service's MAINPID= process ended and an unrelated process took its pid before the supervisor's poll saw it gone: the service's stop signal (and SIGKILL) went to that process; the pid is signalled only while it is still the process named (its start time, its cgroup)", async () => {
  const dir = tempDir();
  const script = join(dir, "svc.py");
  writeFileSync(script, SERVICE);
  const seconds = String(800_000 + (process.pid % 99_999));
  cleanups.push(() => {
    for (const p of pidsRunning(["sleep", seconds])) process.kill(p, "SIGKILL");
  });
  const { run, list } = bootServices(dir, [{ name: "d", argv: [python, script, dir, seconds], ready: { notify: true, timeout_ms: 20_000 }, restart: "never", grace_ms: 1_000, keep_all_capabilities: true, no_new_privs: false }], {}, { pid1: true });
  await waitFor(async () => (await list()).find((s) => s.name === "d")?.ready === true, 30_000, "the service ready under its MAINPID", { pollMs: 100 });
  expect(run.log()).not.toContain("cgroups are off");
  expect(run.log()).toContain(`service names a new main process service=d pid=${read(join(dir, "worker"))}`);
  // The init stands still while the worker ends, its pid is taken and the trigger is queued: whichever
  // comes first when it goes on (its 200 ms poll, or the message), the pid names the other process.
  const init = await run.initPid();
  process.kill(init, "SIGSTOP");
  try {
    writeFileSync(join(dir, "go"), "");
    await waitFor(() => read(join(dir, "sent")) === "x", 20_000, "the worker's pid taken and WATCHDOG=trigger sent");
  } finally {
    process.kill(init, "SIGCONT");
  }
  const victim = Number(read(join(dir, "victim")));
  expect(victim).toBe(Number(read(join(dir, "worker"))));
  await waitFor(() => /killing it \(restart per policy\) service=d/.test(run.log()), 10_000, "the service killed for its trigger");
  await waitFor(async () => ["exited", "failed"].includes((await list()).find((s) => s.name === "d")?.state ?? ""), 15_000, "the service down");
  await Bun.sleep(300);
  // The unrelated process is alive (the same one: its pid in the namespace is the worker's).
  expect(pidsRunning(["sleep", seconds]).map(nsPid)).toEqual([victim]);
  expect(run.log()).toContain(`main process (MAINPID=) is gone and its pid names another process now; not signalled service=d pid=${victim}`);
  process.kill(init, "SIGTERM");
  expect((await run.result(20_000)).code).toBe(130);
}, 90_000);
