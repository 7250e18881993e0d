// WATCHDOG=trigger (the service asks to be failed as by its watchdog) from a real notify service, before READY=1 and after.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { python } from "../harness/python.ts";
import { read } from "./file-text.ts";
import { killLeftovers, tempDir, waitFor } from "./harness.ts";
import { bootServices } from "./service-boot.ts";

afterEach(killLeftovers);

/** Counts its runs in `starts`, then sends `messages` to $NOTIFY_SOCKET (one datagram each) and sleeps. */
function service(dir: string, messages: string[]): string {
  const script = join(dir, "svc.py");
  writeFileSync(script, `import os, socket, time
open(${JSON.stringify(join(dir, "starts"))}, "a").write("x")
for m in ${JSON.stringify(messages)}:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(m.encode(), os.environ["NOTIFY_SOCKET"])
    s.close()
time.sleep(1000)
`);
  return script;
}

test("WATCHDOG=trigger sent before READY=1 was ignored (the service stayed starting until its readiness timeout); it kills the service at once, as systemd does, and it is restarted per policy", async () => {
  const dir = tempDir();
  const script = service(dir, ["STATUS=wedged", "WATCHDOG=trigger"]);
  // A readiness timeout longer than the wait below: only the trigger can end the run in time.
  const { run } = bootServices(dir, [{ name: "wedged", argv: [python, script], ready: { notify: true, timeout_ms: 120_000 }, watchdog_ms: 60_000, restart: "always", backoff_initial_ms: 50, grace_ms: 5_000 }]);
  await waitFor(() => read(join(dir, "starts")).length >= 2, 20_000, "a restart after WATCHDOG=trigger before READY=1");
  expect(run.log()).toMatch(/ERROR supervisor: service asked for a watchdog failure \(WATCHDOG=trigger\); killing it \(restart per policy\) service=wedged/);
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(15_000)).code).toBe(0);
}, 60_000);

test("WATCHDOG=trigger from a ready service without watchdog_ms was reported as 'no WATCHDOG=1 within undefined ms'; it names the trigger", async () => {
  const dir = tempDir();
  const script = service(dir, ["READY=1", "WATCHDOG=trigger"]);
  const { run } = bootServices(dir, [{ name: "asks", argv: [python, script], ready: { notify: true, timeout_ms: 20_000 }, restart: "always", backoff_initial_ms: 50, grace_ms: 5_000 }]);
  await waitFor(() => read(join(dir, "starts")).length >= 2, 20_000, "a restart after WATCHDOG=trigger");
  expect(run.log()).toMatch(/service asked for a watchdog failure \(WATCHDOG=trigger\); killing it \(restart per policy\) service=asks/);
  expect(run.log()).not.toContain("undefined ms");
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(15_000)).code).toBe(0);
}, 60_000);
