// Past the shutdown deadline a development init exited and left its services' processes running (reparented, never killed).
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { bootArgs } from "../pid1/boot-args.ts";
import { killLeftovers, pidsRunning, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

const leftovers: number[] = [];
afterEach(() => {
  killLeftovers();
  for (const p of leftovers.splice(0)) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      /* gone */
    }
  }
});

test("outside PID 1, a service that ignores SIGTERM with a grace beyond shutdown_deadline_ms outlived the init that exited at the deadline; it is killed before the exit", async () => {
  const dir = tempDir();
  // A unique argv names the service's processes among the host's.
  const argv = ["sh", "-c", `trap '' TERM; echo up >&2; while :; do sleep 0.05; done # ${dir}`];
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: join(dir, "state"), shutdown_deadline_ms: 1500, services: [{ name: "stubborn", argv, grace_ms: 60_000 }] });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  await waitFor(() => run.log().includes("phase heartbeat") && run.log().includes("stubborn: up\n"), 20_000, "boot");
  expect(pidsRunning(argv).length).toBeGreaterThan(0); // (a fork about to exec sleep may show the same argv)
  process.kill(run.proc.pid, "SIGTERM");
  const r = await run.result(30_000);
  leftovers.push(...pidsRunning(argv));
  expect(r.stderr).toMatch(/shutdown deadline passed while stopping; going on phase=services deadline_ms=1500/);
  expect(r.code).toBe(0);
  expect(r.ms).toBeLessThan(20_000); // the deadline, never the 60 s grace
  // The init killed the service's processes and saw its main process die of it before it said it was done...
  const at = (re: RegExp) => r.stderr.search(re);
  const killed = at(/WARN drain: processes ignored SIGTERM; sending SIGKILL/);
  const stopped = at(/service stopped service=stubborn status=137/);
  const done = at(/shutdown complete status=0/);
  expect(killed).toBeGreaterThan(-1);
  expect([killed < stopped, stopped < done]).toEqual([true, true]);
  // ...and nothing of the init's is left running after it exited (a SIGKILLed process may take a moment to go).
  await waitFor(() => pidsRunning(argv).length === 0, 10_000, "the service's processes gone", { explain: () => `still running: ${pidsRunning(argv).join(", ")}` });
}, 60_000);
