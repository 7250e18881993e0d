// A live re-exec while a starting service had asked for more time (EXTEND_TIMEOUT_USEC): the new image gave it its plain readiness timeout again and killed it before the time it had asked for.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { python } from "../harness/python.ts";
import { killLeftovers, tempDir, waitFor } from "./harness.ts";
import { liveReexec } from "./live-reexec.ts";
import { bootServices } from "./service-boot.ts";

afterEach(killLeftovers);

/** A row of `services --json`, with how long it has held its current process. */
type Row = { state: string; ready: boolean; pid: number | null; runningMs: number | null; statusText: string | null };

test("a service that asked EXTEND_TIMEOUT_USEC beyond its 1.5 s readiness timeout was killed 1.5 s after a live re-exec (the new image waited the plain timeout again); it keeps the time it asked for and becomes ready when it says so", async () => {
  const dir = tempDir();
  const go = join(dir, "go");
  writeFileSync(
    join(dir, "slow.py"),
    `import os, socket, time
def notify(msg):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(msg.encode(), os.environ["NOTIFY_SOCKET"])
    s.close()
notify("EXTEND_TIMEOUT_USEC=60000000\\nSTATUS=recovering")
while not os.path.exists(${JSON.stringify(go)}): time.sleep(0.02)
notify("READY=1\\nSTATUS=up")
while True: time.sleep(1)
`,
  );
  const { run, list } = bootServices(dir, [{ name: "db", argv: [python, join(dir, "slow.py")], restart: "never", ready: { notify: true, timeout_ms: 1500 } }], { heartbeat_ms: 100, heartbeat_log_every: 0 }, { pid1: true });
  const sock = join(dir, "run", "control");
  const row = async () => (await list())[0] as Row | undefined;
  await waitFor(async () => (await row())?.statusText === "recovering", 30_000, "the extension sent", { pollMs: 100 });
  const before = (await row())!;
  await liveReexec(run, sock);
  const after = () => run.log().split("resuming after re-exec generation=1 ")[1] ?? "";
  // Past the plain timeout counted from the re-exec (or killed for it, as before).
  const reexecAt = (await row())?.runningMs ?? 0;
  await waitFor(async () => ((await row())?.runningMs ?? 0) >= reexecAt + 2500 || after().includes("not ready within"), 30_000, "2.5 s of starting after the re-exec", { pollMs: 100 });
  expect(after()).not.toContain("not ready within");
  expect(await row()).toMatchObject({ state: "starting", ready: false, pid: before.pid });
  writeFileSync(go, "");
  await waitFor(async () => (await row())?.ready === true, 30_000, "db ready once it says so", { pollMs: 100 });
  expect(await row()).toMatchObject({ state: "running", ready: true, pid: before.pid });
  process.kill(await run.initPid(), "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);
