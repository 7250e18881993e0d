// EXTEND_TIMEOUT_USEC= (a database in crash recovery asking for more time) was ignored: the service was killed at its readiness timeout, or at the end of its stop's grace.
import { afterEach, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { python } from "../harness/python.ts";
import { killLeftovers, tempDir, waitFor } from "./harness.ts";
import { bootServices } from "./service-boot.ts";

afterEach(killLeftovers);

const notifyPy = `import os, signal, socket, sys, time
def notify(msg):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(msg.encode(), os.environ["NOTIFY_SOCKET"])
    s.close()
def wait_for(path):
    while not os.path.exists(path): time.sleep(0.02)
`;

/** A row of `services --json`, with how long it has held its current process. */
type Row = { state: string; ready: boolean; runningMs: number | null };

test("a service that sent EXTEND_TIMEOUT_USEC while starting was killed at its readiness timeout all the same; it gets the time it asked for, and becomes ready after the original timeout", async () => {
  const dir = tempDir();
  const go = join(dir, "go");
  writeFileSync(join(dir, "slow.py"), `${notifyPy}
notify("EXTEND_TIMEOUT_USEC=30000000\\nSTATUS=recovering")
wait_for(${JSON.stringify(go)})
notify("READY=1\\nSTATUS=up")
while True: time.sleep(1)
`);
  const { run, list } = bootServices(dir, [{ name: "db", argv: [python, join(dir, "slow.py")], restart: "never", ready: { notify: true, timeout_ms: 1000 } }]);
  const row = async () => (await list())[0] as Row | undefined;
  await waitFor(async () => (await list())[0]?.statusText === "recovering", 25_000, "the extension sent", { pollMs: 100 });
  // Well past the configured 1000 ms (or killed for it, as before).
  await waitFor(async () => ((await row())?.runningMs ?? 0) >= 2500 || run.log().includes("not ready within"), 25_000, "2.5 s of starting", { pollMs: 100 });
  expect(run.log()).not.toContain("service not ready within 1000 ms");
  expect(await row()).toMatchObject({ state: "starting", ready: false });
  expect(run.log()).toMatch(/supervisor: service asks for more time \(EXTEND_TIMEOUT_USEC\) service=db state=starting ms=30000/);
  writeFileSync(go, "");
  await waitFor(async () => (await row())?.ready === true, 25_000, "db ready once it says so", { pollMs: 100 });
  expect(await row()).toMatchObject({ state: "running", ready: true });
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(15_000)).code).toBe(0);
}, 90_000);

test("a service that sent EXTEND_TIMEOUT_USEC on its stop signal got SIGKILL at the end of its grace all the same; it gets the time it asked for and ends by itself", async () => {
  const dir = tempDir();
  const go = join(dir, "go");
  const termed = join(dir, "termed");
  writeFileSync(join(dir, "flush.py"), `${notifyPy}
def on_term(*_):
    notify("EXTEND_TIMEOUT_USEC=30000000")
    open(${JSON.stringify(termed)}, "w").close()
    wait_for(${JSON.stringify(go)})
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
notify("READY=1")
while True: time.sleep(1)
`);
  const { run, list } = bootServices(dir, [{ name: "db", argv: [python, join(dir, "flush.py")], grace_ms: 1000, ready: { notify: true, timeout_ms: 20_000 } }]);
  await waitFor(async () => (await list())[0]?.ready === true, 25_000, "db ready", { pollMs: 100 });
  const stopping = runShippedAsync(["stop", "db", "--socket", join(dir, "run", "control")]);
  await waitFor(() => existsSync(termed), 25_000, "the stop signal handled");
  const since = Date.now();
  // Well past the 1000 ms grace (or killed at its end, as before).
  await waitFor(() => Date.now() - since >= 2500 || run.log().includes("sending SIGKILL"), 25_000, "2.5 s of stopping", { pollMs: 50 });
  expect(run.log()).not.toContain("sending SIGKILL");
  expect(run.log()).toMatch(/supervisor: service asks for more time \(EXTEND_TIMEOUT_USEC\) service=db state=stopping ms=30000/);
  writeFileSync(go, "");
  const r = await stopping;
  expect(r.code).toBe(0);
  expect(run.log()).toMatch(/supervisor: service stopped service=db code=0|supervisor: service stopped service=db status=0/);
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(15_000)).code).toBe(0);
}, 90_000);
