// Outside PID 1, a re-exec'd image that failed before its services phase exited and left every service handed over to it running, with no supervisor.
import { afterEach, expect, test } from "bun:test";
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, killRunning, pidsRunning, start, tempDir, waitFor, writeJson } from "./harness.ts";

afterEach(killLeftovers);

test("a development boot re-exec'd into an image whose evolution phase fails (the state dir made group-writable meanwhile: exit 78) left its service running after the exit; it is stopped first", async () => {
  const dir = tempDir();
  const state = join(dir, "state");
  mkdirSync(state, { mode: 0o700 });
  // A unique sleep length names the service's process among the host's.
  const unique = String(800_000 + (process.pid % 99_999));
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: state, services: [{ name: "svc", argv: ["sleep", unique] }] });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  try {
    await waitFor(() => pidsRunning(["sleep", unique]).length === 1 && run.log().includes("first heartbeat"), 30_000, "the service and the first beat");
    // The state dir no longer private: the new image's evolution phase refuses it (the preflight's boot --check does not lock it).
    chmodSync(state, 0o770);
    process.kill(run.proc.pid, "SIGHUP");
    const r = await run.result(60_000);
    expect(r.stderr).toContain("resuming after re-exec generation=1 ");
    expect(r.code).toBe(78);
    expect(r.stderr).toContain("the services handed over were never taken up");
    expect(pidsRunning(["sleep", unique])).toEqual([]);
  } finally {
    killRunning(["sleep", unique]);
  }
}, 90_000);
