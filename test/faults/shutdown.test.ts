// Shutdown faults: a second signal killed the init mid-shutdown, SIGUSR1/SIGQUIT killed it outright, and nothing bounded the whole shutdown.
import { afterEach, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

/** A service that ignores SIGTERM: stopping it takes its whole grace period. */
const stubborn = (graceMs: number) => ({ name: "stubborn", argv: ["sh", "-c", "trap '' TERM; echo up >&2; while :; do sleep 0.05; done"], grace_ms: graceMs });

test("outside PID 1 a second SIGTERM and a SIGINT during shutdown do not kill the init: it finishes in order and exits 0", async () => {
  const dir = tempDir();
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: join(dir, "state"), services: [stubborn(1500)] });
  const run = start(["boot", "--config", cfg]);
  // "up" once its trap is set: "phase heartbeat" follows the spawn at once, and a SIGTERM before the
  // trap would end the service at once (no grace, no SIGKILL to see).
  await waitFor(() => run.log().includes("phase heartbeat") && run.log().includes("stubborn: up\n"), 20_000, "boot");
  process.kill(run.proc.pid, "SIGTERM");
  await waitFor(() => run.log().includes("phase shutdown"), 10_000, "shutdown to begin");
  process.kill(run.proc.pid, "SIGTERM");
  process.kill(run.proc.pid, "SIGINT");
  const r = await run.result(30_000);
  expect(r.stderr).toMatch(/service ignored SIGTERM for 1500 ms; sending SIGKILL service=stubborn/);
  expect(r.stderr).toContain("shutdown complete status=0");
  expect(r.code).toBe(0);
}, 60_000);

test("outside PID 1 SIGUSR1 is logged and ignored, SIGQUIT is an orderly shutdown (neither kills the init outright)", async () => {
  const dir = tempDir();
  const run = start(["boot", "--set", `run_dir=${join(dir, "run")}`, "--set", `state_dir=${join(dir, "state")}`]);
  await waitFor(() => run.log().includes("phase heartbeat"), 20_000, "boot");
  process.kill(run.proc.pid, "SIGUSR1");
  await waitFor(() => run.log().includes("SIGUSR1 received"), 10_000, "SIGUSR1 logged");
  expect(run.log()).not.toContain("phase shutdown");
  process.kill(run.proc.pid, "SIGQUIT");
  const r = await run.result(30_000);
  expect(r.stderr).toContain('shutdown requested reason=SIGQUIT');
  expect(r.stderr).toContain("shutdown complete status=0");
  expect(r.code).toBe(0);
}, 60_000);

test("as PID 1 the shutdown deadline cuts a stop that would take longer: the phases after it were skipped outright (no journal close or final checkpoint, no unmount before reboot(2)); they stop in a last 2 s, and sync and reboot(2) come on time", async () => {
  const dir = tempDir();
  // The service's grace (60 s) is far beyond the whole shutdown's deadline (2 s).
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: join(dir, "state"), shutdown_deadline_ms: 2000, services: [stubborn(60_000)] });
  const run = start(["boot", "--config", cfg], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("phase heartbeat") && run.log().includes("stubborn: up\n"), 20_000, "boot");
  const t0 = performance.now();
  process.kill(init, "SIGTERM");
  const r = await run.result(30_000);
  const ms = performance.now() - t0;
  expect(r.stderr).toMatch(/shutdown deadline passed while stopping; going on phase=services deadline_ms=2000/);
  expect(r.stderr).toMatch(/shutdown deadline passed: stopping this phase in what is left of the last grace phase=evolution/);
  expect(r.stderr).toMatch(/stopped phase=evolution/);
  expect(r.stderr).not.toContain("not waiting for this phase");
  expect(r.stderr).toContain("poweroff now");
  expect(r.code).toBe(130); // reboot(2) ended the PID namespace
  expect(ms).toBeLessThan(2000 + 2000 + 8000); // the deadline, the last grace, sync and the exit: never the 60 s grace
}, 60_000);

test("development run dirs are made by mkdtemp: 0700 and not named after the pid", async () => {
  const a = start(["boot", "--set", "evolution=0"]);
  // While it runs (the end of the boot removes the directory, empty without evolution's state).
  await waitFor(() => a.log().includes("control socket listening"), 30_000, "boot up");
  const state = /state_dir=(\S+)/.exec(a.log())![1]!;
  const scratch = state.replace(/\/state$/, "");
  expect(scratch).toMatch(/\/vector-boot-[A-Za-z0-9]{6}$/);
  expect(scratch).not.toContain(String(a.proc.pid));
  expect(statSync(scratch).mode & 0o777).toBe(0o700);
  a.proc.kill("SIGTERM");
  expect((await a.result(30_000)).code).toBe(0);
  expect(existsSync(scratch)).toBe(false);
}, 60_000);
