// A READY=1 a service sent while the init re-exec'd was refused (the sd_notify socket closed at the exec, the new image had not bound it yet) and the healthy service was killed at its readiness timeout.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { betweenImages, killLeftovers, tempDir, waitFor } from "./harness.ts";
import { bootServices } from "./service-boot.ts";

afterEach(killLeftovers);

type Row = { state: string; ready: boolean; pid: number | null };

test("a READY=1 sent between the old image's exec and the new image's services phase was refused (ECONNREFUSED) and lost, the service killed at its readiness timeout: the socket is handed over with what waits in it, and the service becomes ready", async () => {
  const dir = tempDir();
  const pidFile = join(dir, "pid");
  const sent = join(dir, "sent");
  // Sends READY=1 once, when the test's SIGUSR1 comes (blocked from the start, so none is missed), and says what sendto gave.
  writeFileSync(
    join(dir, "late.py"),
    `import os, signal, socket
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
open(${JSON.stringify(pidFile)} + ".tmp", "w").write(str(os.getpid()))
os.rename(${JSON.stringify(pidFile)} + ".tmp", ${JSON.stringify(pidFile)})
signal.sigwait({signal.SIGUSR1})
addr = os.environ["NOTIFY_SOCKET"]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    s.sendto(b"READY=1", "\\0" + addr[1:] if addr.startswith("@") else addr)
    r = "ok"
except OSError as e:
    r = "errno %d" % e.errno
open(${JSON.stringify(sent)} + ".tmp", "w").write(r)
os.rename(${JSON.stringify(sent)} + ".tmp", ${JSON.stringify(sent)})
signal.sigwait({signal.SIGUSR1})
`,
  );
  // Between the images (the old one has exec'd, the new one has not started): the service sends.
  const script = betweenImages(
    dir,
    "between",
    `os.kill(int(open(${JSON.stringify(pidFile)}).read()), signal.SIGUSR1)
for _ in range(1000):
    if os.path.exists(${JSON.stringify(sent)}): break
    time.sleep(0.01)`,
  );
  const { run, list } = bootServices(dir, [{ name: "late", argv: [python, join(dir, "late.py")], restart: "never", ready: { notify: true, timeout_ms: 8000 }, grace_ms: 500 }], { heartbeat_ms: 100, heartbeat_log_every: 0 }, { pid1: true });
  const sock = join(dir, "run", "control");
  const row = async () => (await list())[0] as Row | undefined;
  await waitFor(async () => existsSync(pidFile) && (await row())?.state === "starting", 30_000, "the service waiting for its signal", { pollMs: 100 });
  const pid = (await row())!.pid;
  const r = await runShippedAsync(["reexec", script, "--socket", sock, "--timeout", "30000"], 60_000);
  expect(r.code, r.err).toBe(0);
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
  expect(readFileSync(sent, "utf8")).toBe("ok");
  await waitFor(async () => (await row())?.ready === true || run.log().includes("not ready within"), 30_000, "the service ready (or killed)", { pollMs: 100, explain: () => run.log() });
  expect(await row()).toMatchObject({ state: "running", ready: true, pid });
  const after = run.log().split("resuming after re-exec generation=1 ")[1]!;
  expect(after).toContain("sd_notify socket adopted");
  expect(after).not.toContain("not ready within");
  process.kill(await run.initPid(), "SIGTERM");
  await run.result(30_000);
}, 120_000);
