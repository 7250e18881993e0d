// A service stopped (SIGSTOP, Ctrl-Z, a debugger) when asked to stop never ran its stop handler: it got SIGKILL at the end of the grace.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootServices } from "./service-boot.ts";
import { tempDir, waitFor } from "./harness.ts";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

test("a suspended service (SIGSTOP) asked to stop never ran its SIGTERM handler and got SIGKILL at the end of the grace; it is sent SIGCONT after its stop signal, as systemd does", async () => {
  const dir = tempDir();
  const pidFile = join(dir, "pid");
  const cleaned = join(dir, "cleaned");
  // One process that never forks: a shell's loop stopped in the middle of a vfork sits in D, not T.
  const script = [
    "import os, signal, sys, time",
    "def cleanup(*_):",
    `    open(${JSON.stringify(cleaned)}, "w").write("done")`,
    "    sys.exit(0)",
    "signal.signal(signal.SIGTERM, cleanup)",
    `open(${JSON.stringify(pidFile)}, "w").write("%d\\n" % os.getpid())`,
    "while True:",
    "    time.sleep(0.05)",
  ].join("\n");
  const { run } = bootServices(dir, [{ name: "paused", argv: ["python3", "-c", script], grace_ms: 20_000 }]);
  cleanups.push(async () => {
    run.proc.kill("SIGTERM");
    await run.result(30_000);
  });
  const sock = join(dir, "run", "control");
  await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").endsWith("\n") && run.log().includes("control socket listening"), 30_000, "the service and the control socket");
  const pid = Number(readFileSync(pidFile, "utf8"));
  process.kill(-pid, "SIGSTOP"); // the whole run (its process group), as a terminal's Ctrl-Z would
  const state = () => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]![0];
  await waitFor(() => state() === "T", 5000, "the service to be stopped");
  const t0 = performance.now();
  const stop = await runShippedAsync(["stop", "paused", "--socket", sock]);
  const ms = performance.now() - t0;
  expect(stop.code).toBe(0);
  // Its handler ran: not a SIGKILL 20 s later.
  expect(existsSync(cleaned)).toBe(true);
  expect(ms).toBeLessThan(15_000);
  expect(run.log()).not.toMatch(/SIGKILL.*service=paused|service=paused.*SIGKILL/);
}, 60_000);
