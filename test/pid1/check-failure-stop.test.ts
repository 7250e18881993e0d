// A service that failed its readiness check (or health, or watchdog) got SIGKILL at once: no chance to flush or remove what it was writing.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";

afterEach(killLeftovers);

test("a service not ready in time got SIGKILL at once: it gets its stop signal and cleans up; one that ignores it gets SIGKILL after its grace; both then follow the restart policy", async () => {
  const dir = tempDir();
  const cleaned = join(dir, "cleaned");
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [
      { name: "polite", argv: ["sh", "-c", `trap 'echo done > ${cleaned}; exit 0' TERM; while :; do sleep 0.05; done`], ready: { file: join(dir, "never"), timeout_ms: 300 }, restart: "never" },
      { name: "stubborn", argv: ["sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"], ready: { file: join(dir, "never"), timeout_ms: 300 }, restart: "never", grace_ms: 300 },
    ],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  const state = async (name: string) => {
    const r = await runShippedAsync(["services", "--json", "--socket", join(dir, "run", "control")]);
    return r.code === 0 ? (JSON.parse(r.out) as Array<{ name: string; state: string }>).find((s) => s.name === name)?.state : undefined;
  };
  await waitFor(async () => (await state("polite")) === "exited" && (await state("stubborn")) === "exited", 30_000, "both down after their readiness timeout", { pollMs: 200 });
  expect(run.log()).toMatch(/service not ready within 300 ms; killing it \(restart per policy\) service=polite pid=\d+ signal=SIGTERM grace_ms=5000/);
  expect(existsSync(cleaned) ? readFileSync(cleaned, "utf8") : "").toBe("done\n");
  expect(run.log()).toMatch(/service ignored SIGTERM for 300 ms; sending SIGKILL service=stubborn/);
  expect(run.log()).not.toMatch(/service ignored SIGTERM for \d+ ms; sending SIGKILL service=polite/);
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 60_000);

test("a service killed for failing its readiness check that exits 0 on its stop signal stayed down under restart=on-failure (the default), as if it had ended cleanly; it is restarted", async () => {
  const dir = tempDir();
  const runs = join(dir, "runs");
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [{ name: "polite", argv: ["sh", "-c", `echo run >> ${runs}; trap 'exit 0' TERM; while :; do sleep 0.05; done`], ready: { file: join(dir, "never"), timeout_ms: 300 }, storm_max: 100 }],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  const row = async () => {
    const r = await runShippedAsync(["services", "--json", "--socket", join(dir, "run", "control")]);
    return r.code === 0 ? (JSON.parse(r.out) as Array<{ name: string; state: string; restarts: number }>)[0] : undefined;
  };
  await waitFor(async () => {
    const r = await row();
    return r !== undefined && (r.state === "exited" || r.restarts >= 1);
  }, 30_000, "the service to be restarted, or to stay down", { pollMs: 200 });
  expect(run.log()).toMatch(/service not ready within 300 ms; killing it \(restart per policy\) service=polite/);
  expect(run.log()).not.toMatch(/restart=on-failure, staying down service=polite/);
  expect((await row())?.restarts).toBeGreaterThanOrEqual(1);
  expect(readFileSync(runs, "utf8").split("\n").filter(Boolean).length).toBeGreaterThanOrEqual(2);
  process.kill(run.proc.pid, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 60_000);
