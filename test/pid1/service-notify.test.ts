// Readiness and notices over sd_notify from real services (Python's socket module): READY, STATUS, WATCHDOG, MAINPID, the abstract socket of a deep run_dir, an outer manager's NOTIFY_SOCKET.
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, statSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { longDir } from "../harness/long-path.ts";
import { python } from "../harness/python.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";
import { read } from "./file-text.ts";
import { bootServices, listServices } from "./service-boot.ts";

afterEach(killLeftovers);

/** An sd_notify client as daemons write it: one datagram to $NOTIFY_SOCKET per message. */
const notifyPy = `import os, socket, sys, time
def notify(msg):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(msg.encode(), os.environ["NOTIFY_SOCKET"])
    s.close()
`;

describe("readiness", () => {
  test("a service running as nobody (uid 65534) can report READY=1 over sd_notify (the socket was root-only)", async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755); // the service must reach run-notify/notify beside run/ (which stays 0700)
    const script = join(dir, "svc.py");
    writeFileSync(script, `${notifyPy}
notify("READY=1\\nSTATUS=uid %d" % os.getuid())
while True: time.sleep(1)
`);
    chmodSync(script, 0o644);
    // The system interpreter: the test's own may live under a home directory only root can enter.
    const sysPython = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : python;
    const { run, list } = bootServices(dir, [{ name: "lowly", argv: [sysPython, script], uid: 65534, gid: 65534, ready: { notify: true, timeout_ms: 20_000 } }]);
    await waitFor(async () => (await list())[0]?.ready === true, 25_000, "the nobody service to become ready", { pollMs: 200 });
    expect((await list())[0]).toMatchObject({ state: "running", ready: true, statusText: "uid 65534" });
    // Only the socket's own directory opened up: the run directory (control, evolution) stays 0700.
    expect(statSync(join(dir, "run")).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "run-notify")).mode & 0o777).toBe(0o755);
    process.kill(run.proc.pid, "SIGTERM");
    expect((await run.result(15_000)).code).toBe(0);
  }, 40_000);

  test("depends_on waits for READY=1 over sd_notify; STATUS shows in services; READY=1 from a process outside the service is ignored", async () => {
    const dir = tempDir();
    const go = join(dir, "go");
    const script = join(dir, "db.py");
    writeFileSync(script, `${notifyPy}
notify("STATUS=warming up")
while not os.path.exists(${JSON.stringify(go)}): time.sleep(0.02)
open(${JSON.stringify(join(dir, "ready-at"))}, "w").write(str(time.time()))
notify("READY=1\\nSTATUS=serving")
while True: time.sleep(1)
`);
    // Debug lines on: the init says when it drops a datagram from a process of no service.
    const { run, list } = bootServices(dir, [
      { name: "db", argv: [python, script], ready: { notify: true, timeout_ms: 20_000 } },
      { name: "api", argv: [python, "-c", `import time; open(${JSON.stringify(join(dir, "api-at"))}, "w").write(str(time.time())); time.sleep(1000)`], depends_on: ["db"] },
    ], { log_level: "debug" });
    await waitFor(() => run.log().includes("control socket listening") && run.log().includes("service started service=db"), 15_000, "db started");
    await waitFor(async () => (await list())[0]?.statusText === "warming up", 10_000, "STATUS=warming up", { pollMs: 200 });
    // A forged READY=1 from a process that is not the service's: the kernel's sender pid gives it away.
    const forged = Bun.spawnSync([python, "-c", `${notifyPy}\nnotify("READY=1")`], { env: { ...process.env, NOTIFY_SOCKET: join(dir, "run-notify", "notify") } });
    expect(forged.exitCode).toBe(0);
    // Looked at once the init has handled it (not after a guessed 500 ms, which a busy host outlasts).
    await waitFor(() => run.log().includes(`sd_notify message from a process of no service; dropped pid=${forged.pid}`), 10_000, "the forged READY=1 dropped");
    let rows = await list();
    expect(rows.map((r) => [r.name, r.state, r.ready])).toEqual([["db", "starting", false], ["api", "pending", false]]);
    expect(read(join(dir, "api-at"))).toBe("");
    writeFileSync(go, "");
    await waitFor(() => read(join(dir, "api-at")) !== "", 10_000, "api to start once db is ready");
    expect(Number(read(join(dir, "api-at")))).toBeGreaterThanOrEqual(Number(read(join(dir, "ready-at"))));
    rows = await list();
    expect(rows[0]).toMatchObject({ state: "running", ready: true, statusText: "serving" });
    expect(run.log()).toMatch(/service ready service=db pid=\d+/);
    process.kill(run.proc.pid, "SIGTERM");
    expect((await run.result(15_000)).code).toBe(0);
  }, 40_000);

  test("READY=1 sent after the readiness timeout's stop signal made the service ready: its dependent started beside a service being killed; it stays starting and the dependent waits", async () => {
    const dir = tempDir();
    const script = join(dir, "late.py");
    // Finishes its start-up whatever arrives meanwhile (SIGTERM noted), reports READY=1 late, then ends.
    writeFileSync(script, `${notifyPy}
import signal
signal.signal(signal.SIGTERM, lambda *a: open(${JSON.stringify(join(dir, "term"))}, "w").write("x"))
while not os.path.exists(${JSON.stringify(join(dir, "term"))}): time.sleep(0.02)
time.sleep(0.2)
notify("READY=1")
open(${JSON.stringify(join(dir, "ready-sent"))}, "w").write("x")
time.sleep(1)
`);
    const { run, list } = bootServices(dir, [
      { name: "db", argv: [python, script], ready: { notify: true, timeout_ms: 1500 }, restart: "never" },
      { name: "api", argv: [python, "-c", `open(${JSON.stringify(join(dir, "api-at"))}, "w").write("x"); import time; time.sleep(1000)`], depends_on: ["db"] },
    ]);
    await waitFor(async () => (await list())[0]?.state === "exited", 20_000, "db to be killed and stay down", { pollMs: 200 });
    expect(read(join(dir, "ready-sent")), run.log()).toBe("x");
    expect(run.log()).toMatch(/service not ready within 1500 ms; killing it/);
    expect(run.log()).not.toMatch(/service ready service=db/);
    expect(run.log()).toMatch(/service ready after its readiness timeout; ignored, it is being killed service=db/);
    expect(read(join(dir, "api-at"))).toBe("");
    expect((await list())[1]?.state).toBe("pending");
    process.kill(run.proc.pid, "SIGTERM");
    expect((await run.result(15_000)).code).toBe(0);
  }, 40_000);

  test("a missed WATCHDOG=1 kills the service and it is restarted per policy", async () => {
    const dir = tempDir();
    const script = join(dir, "dog.py");
    // Pings 5 times (every 50 ms), then falls silent.
    writeFileSync(script, `${notifyPy}
open(${JSON.stringify(join(dir, "starts"))}, "a").write("x")
assert os.environ["WATCHDOG_USEC"] == "300000"
notify("READY=1")
for i in range(5):
    notify("WATCHDOG=1"); time.sleep(0.05)
time.sleep(1000)
`);
    const { run } = bootServices(dir, [{ name: "dog", argv: [python, script], ready: { notify: true }, watchdog_ms: 300, restart: "always", backoff_initial_ms: 50 }]);
    await waitFor(() => read(join(dir, "starts")).length >= 2, 15_000, "a restart after the missed watchdog");
    expect(run.log()).toMatch(/ERROR supervisor: no WATCHDOG=1 within 300 ms; killing it \(restart per policy\) service=dog/);
    process.kill(run.proc.pid, "SIGTERM");
    expect((await run.result(15_000)).code).toBe(0);
  }, 40_000);
});

describe("readiness with a run_dir deeper than a Unix socket address (107 bytes)", () => {
  test("a notify service becomes ready through the abstract NOTIFY_SOCKET it is given, and still reaches it after a live re-exec (the sd_notify socket was refused with ENAMETOOLONG)", async () => {
    const dir = tempDir();
    const runDir = join(longDir(dir, 200), "run");
    const sock = join(runDir, "control");
    const go = join(dir, "go");
    const script = join(dir, "db.py");
    // An sd_notify(3) client: "@name" in NOTIFY_SOCKET is an abstract address (as libsystemd, systemd-notify and
    // the Python sdnotify packages read it), anything else a path.
    writeFileSync(script, `import os, socket, time
def notify(msg):
    addr = os.environ["NOTIFY_SOCKET"]
    if addr.startswith("@"): addr = "\\0" + addr[1:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(msg.encode(), addr)
    s.close()
open(${JSON.stringify(join(dir, "notify-socket"))}, "w").write(os.environ["NOTIFY_SOCKET"])
notify("READY=1\\nSTATUS=serving")
while not os.path.exists(${JSON.stringify(go)}): time.sleep(0.02)
notify("STATUS=after the re-exec")
while True: time.sleep(1)
`);
    const cfg = writeJson(dir, "config.json", {
      pixel_test: false,
      run_dir: runDir,
      state_dir: join(dir, "state"),
      services: [
        { name: "db", argv: [python, script], ready: { notify: true, timeout_ms: 20_000 } },
        { name: "api", argv: ["sleep", "1000"], depends_on: ["db"] },
      ],
    });
    const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
    const list = () => listServices(sock);
    try {
      await waitFor(() => /service ready service=db/.test(run.log()) || run.log().includes("cannot open the sd_notify socket"), 30_000, "db to become ready");
      expect(run.log()).not.toContain("cannot open the sd_notify socket");
      await waitFor(() => run.log().includes("service started service=api"), 10_000, "api to start once db is ready");
      expect(read(join(dir, "notify-socket"))).toMatch(/^@vector-boot-notify\/[0-9a-f]{32}$/);
      expect((await list()).map((r) => [r.name, r.state, r.ready, r.statusText])).toEqual([["db", "running", true, "serving"], ["api", "running", true, null]]);

      const rx = await runShippedAsync(["reexec", "--json", "--socket", sock]);
      expect(rx.err).toBe("");
      expect(JSON.parse(rx.out)).toMatchObject({ generation: 1 });
      // The new image binds the socket in its services phase, after its control socket answers.
      await waitFor(() => /phase services .*adopted=2/.test(run.log()), 15_000, "the new image to adopt the services");
      writeFileSync(go, "");
      await waitFor(async () => (await list())[0]?.statusText === "after the re-exec", 15_000, "STATUS from db after the re-exec", { pollMs: 200 });

      const off = await runShippedAsync(["poweroff", "--socket", sock]);
      expect(off.code).toBe(0);
      expect((await run.result(20_000)).stderr).toContain("poweroff now");
    } catch (e) {
      console.error(run.log().split("\n").slice(-30).join("\n"));
      throw e;
    }
  }, 90_000);

  test("an abstract notify name another process took first is a failed bind the init names (address, EADDRINUSE), not a silent wait", async () => {
    const dir = tempDir();
    const runDir = join(longDir(dir, 200), "run");
    const address = `@vector-boot-notify/${new Bun.CryptoHasher("sha256").update(join(runDir + "-notify", "notify")).digest("hex").slice(0, 32)}`;
    // The squatter holds the name until its stdin closes.
    const squatter = Bun.spawn([python, "-c", `import socket, sys\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.bind("\\0" + sys.argv[1][1:])\nprint("bound", flush=True)\nsys.stdin.read()`, address], { stdin: "pipe", stdout: "pipe" });
    try {
      // Its line may come in more than one read.
      const reader = squatter.stdout.getReader();
      const dec = new TextDecoder();
      let said = "";
      while (!said.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        said += dec.decode(value, { stream: true });
      }
      expect(said).toBe("bound\n");
      const cfg = writeJson(dir, "config.json", { pixel_test: false, run_dir: runDir, state_dir: join(dir, "state"), services: [{ name: "db", argv: ["sleep", "1000"], ready: { notify: true, timeout_ms: 20_000 } }] });
      const run = start(["boot", ...bootArgs(), "--config", cfg]);
      await waitFor(() => run.log().includes("phase services"), 30_000, "the services phase");
      expect(run.log()).toContain("cannot open the sd_notify socket");
      expect(run.log()).toContain(`bind ${address} (the abstract name for ${join(runDir + "-notify", "notify")}): another process holds it`);
      expect(run.log()).toContain("EADDRINUSE (98)");
      process.kill(run.proc.pid, "SIGTERM");
      expect((await run.result(20_000)).code).toBe(0);
    } finally {
      squatter.kill();
    }
  }, 60_000);
});

test("services inherited the outer service manager's NOTIFY_SOCKET, WATCHDOG_USEC and LISTEN_FDS (a service told the outer manager it was ready, or took its sockets); they are removed, ours set where the service uses them, the service's own config kept", async () => {
  const dir = tempDir();
  const out = join(dir, "env.txt");
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [
      { name: "plain", restart: "never", argv: ["sh", "-c", `env | grep -E '^(NOTIFY_SOCKET|WATCHDOG_USEC|WATCHDOG_PID|LISTEN_FDS|LISTEN_PID|LISTEN_FDNAMES)=' | sed 's/^/plain:/' >> ${out}; echo done >> ${out}`] },
      { name: "own", restart: "never", env: { LISTEN_FDS: "7" }, argv: ["sh", "-c", `echo "own:LISTEN_FDS=$LISTEN_FDS" >> ${out}`] },
    ],
  });
  const outer = { NOTIFY_SOCKET: "/run/systemd/notify", WATCHDOG_USEC: "1000000", WATCHDOG_PID: "1", LISTEN_FDS: "2", LISTEN_PID: "1", LISTEN_FDNAMES: "a:b" };
  const run = start(["boot", ...bootArgs(), "--config", cfg], { env: outer });
  await waitFor(() => existsSync(out) && readFileSync(out, "utf8").includes("done") && readFileSync(out, "utf8").includes("own:"), 15_000, "both services' environments");
  const text = readFileSync(out, "utf8");
  expect(text).not.toContain("plain:");
  expect(text).toContain("own:LISTEN_FDS=7");
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(15_000)).code).toBe(0);
}, 30_000);

test("MAINPID= naming a process the init cannot reap (its own parent does): its end was never seen, the service showed 'running' with a dead pid and a stop waited for ever; its end is noticed and counts as a failure", async () => {
  const dir = tempDir();
  const script = join(dir, "forker.py");
  writeFileSync(script, `${notifyPy}
pid = os.fork()
if pid == 0:
    time.sleep(1.5)
    os._exit(0)
notify("MAINPID=%d\\nREADY=1" % pid)
time.sleep(0.3)  # the message is read while its sender lives
os.waitpid(pid, 0)  # the worker is reaped here, by its parent: never by the init
while True: time.sleep(1)
`);
  const { run, list } = bootServices(dir, [{ name: "worker", argv: [python, script], restart: "never", ready: { notify: true, timeout_ms: 20_000 } }]);
  await waitFor(async () => (await list())[0]?.ready === true, 25_000, "ready with its MAINPID", { pollMs: 200 });
  await waitFor(async () => (await list())[0]?.state === "exited", 15_000, "the MAINPID's end noticed", { pollMs: 200 });
  expect(run.log()).toContain("main process (MAINPID=) is gone; its exit status is unknown: it was not our child service=worker");
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(15_000)).code).toBe(0);
}, 60_000);
