// A service whose own cgroup could not be created (cgroup.max.descendants reached) ran in the init's, while the supervisor still judged it by that cgroup: its sd_notify messages were dropped and its stop neither waited for nor killed what its run left.
import { afterEach, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync, shipped, shippedDir, shippedEnv } from "../harness/artifact.ts";
import { cgroup2Mount } from "../../src/sys/cgroup.ts";
import { removeCgroupTree } from "../harness/cgroup-tree.ts";
import { killLeftovers, killRunning, pidsRunning, tempDir, waitFor, writeJson } from "./harness.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
  killLeftovers();
});

test("with its own cgroup refused, a service's READY=1 was dropped (killed at its readiness timeout) and its stop took neither its leftover child nor waited for it; now it is judged by its process groups, as with cgroups off", async () => {
  const mount = cgroup2Mount();
  expect(mount).not.toBeNull();
  // The init runs in a cgroup of its own that allows one descendant: its base cgroup, and no service's under it.
  const outer = join(mount!, `vb-test-refused-${process.pid}`);
  mkdirSync(outer);
  writeFileSync(join(outer, "cgroup.max.descendants"), "1");
  // Whatever a failed run left in it (the init SIGKILLed, its services orphaned) goes first.
  cleanups.push(() => removeCgroupTree(outer));
  const dir = tempDir();
  const left = String(800_000 + (process.pid % 99_999));
  cleanups.push(() => killRunning(["sleep", left]));
  const notifier = join(dir, "notifier.py");
  writeFileSync(notifier, `import os, signal, socket, subprocess, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
subprocess.Popen(["sh", "-c", 'trap "" TERM; exec sleep "$0"', ${JSON.stringify(left)}])
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])
while True:
    time.sleep(1)
`);
  const sock = join(dir, "run", "control");
  const services = [{ name: "svc", argv: ["python3", notifier], grace_ms: 2000, restart: "never", ready: { notify: true, timeout_ms: 5000 } }];
  const cfg = writeJson(dir, "config.json", { pixel_test: false, state_dir: join(dir, "state"), run_dir: join(dir, "run"), heartbeat_log_every: 0, services });
  const proc = Bun.spawn(["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', outer, ...shipped(["boot", "--config", cfg])], { stdin: "ignore", stdout: "ignore", stderr: "pipe", cwd: shippedDir, env: shippedEnv() });
  cleanups.push(() => proc.kill("SIGKILL"));
  let log = "";
  void (async () => {
    for await (const c of proc.stderr) log += new TextDecoder().decode(c);
  })();
  await waitFor(() => log.includes("cannot create the service's cgroup; it runs without one service=svc"), 30_000, "the refused cgroup", { explain: () => log });
  await waitFor(() => /service ready service=svc/.test(log), 10_000, "READY=1 taken", { explain: () => log });
  await waitFor(() => pidsRunning(["sleep", left]).length === 1, 10_000, "the service's child");
  const stop = await runShippedAsync(["stop", "svc", "--socket", sock, "--timeout", "30000"], 60_000);
  expect({ code: stop.code, out: stop.out }).toEqual({ code: 0, out: "svc: stopped (stopped)\n" });
  // The child ignores SIGTERM: waited for, then SIGKILLed at the grace's end, before the stop is answered.
  expect(pidsRunning(["sleep", left])).toEqual([]);
  expect(log).toContain("service ignored SIGTERM for 2000 ms; sending SIGKILL to what is left of its run service=svc");
  proc.kill("SIGTERM");
  expect(await proc.exited).toBe(0);
}, 90_000);
