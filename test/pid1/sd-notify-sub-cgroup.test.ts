// A service that moves its processes into a cgroup below its own (a sandbox, workers in sub-cgroups): its READY=1 was dropped (not its cgroup's id) and its readiness timeout killed it; its sub-cgroups' processes got no stop signal.
import { afterEach, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cgroup2Mount } from "../../src/sys/cgroup.ts";
import { runShippedAsync } from "../harness/artifact.ts";
import { notifySender } from "../harness/notify-sender.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";

afterEach(killLeftovers);

const mount = cgroup2Mount();

type Row = { name: string; state: string; ready: boolean; cgroup: { pids: number } | null };

test.skipIf(mount === null)("a service whose shell moved itself into a cgroup below the service's own before sending READY=1 was never ready (dropped: another cgroup id) and was killed at its readiness timeout; it is ready, its sub-cgroup's process counted and stopped with it", async () => {
  const dir = tempDir();
  const sender = notifySender(dir);
  const moveDown = `cg=$(sed -n 's/^0:://p' /proc/self/cgroup); mkdir -p ${mount}$cg/worker && echo $$ > ${mount}$cg/worker/cgroup.procs || exit 9`;
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [{ name: "sandboxed", argv: ["/bin/sh", "-c", `${moveDown}; ${sender} READY=1 && exec sleep 1000`], ready: { notify: true, timeout_ms: 60_000 }, grace_ms: 2000 }],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  const list = async (): Promise<Row[]> => {
    const r = await runShippedAsync(["services", "--json", "--socket", join(dir, "run", "control")]);
    return r.code === 0 ? (JSON.parse(r.out) as Row[]) : [];
  };
  await waitFor(async () => (await list()).some((r) => r.name === "sandboxed" && r.ready), 20_000, "the sandboxed service to be ready", { pollMs: 200 });
  const row = (await list()).find((r) => r.name === "sandboxed")!;
  expect(row.state).toBe("running");
  // Its sleep, in the sub-cgroup, is one of its processes.
  expect(row.cgroup?.pids).toBeGreaterThanOrEqual(1);
  const stop = await runShippedAsync(["stop", "sandboxed", "--socket", join(dir, "run", "control")]);
  expect(stop.code).toBe(0);
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(15_000)).code).toBe(0);
  // Its directory went at the exit, the sub-cgroup it made too (rmdir refused a cgroup with one).
  expect(existsSync(join(mount!, `vector-boot.${run.proc.pid}`))).toBe(false);
}, 60_000);
