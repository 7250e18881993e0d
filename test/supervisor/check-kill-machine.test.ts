// A service killed for failing a readiness, health or watchdog check: the run counts as failed whatever it exits with, and a stop meanwhile signals it no second time.
import { describe, expect, test } from "bun:test";
import { serviceConfig, spawnedRecord } from "./machine-records.ts";
import type { ServiceEvent } from "../../src/supervisor/service-events.ts";
import { step } from "../../src/supervisor/service-machine.ts";
import type { ServiceRecord } from "../../src/supervisor/service-record.ts";

const svc = serviceConfig;

/** Running (ready) with a health probe that gives up after one failure, an sd_notify ready check and a watchdog. */
function up(extra: Record<string, unknown> = {}): ServiceRecord {
  return spawnedRecord(svc({ ready: { notify: true, timeout_ms: 1000 }, health: { probe: { file: "/nonexistent" }, failures: 1 }, watchdog_ms: 1000, grace_ms: 700, ...extra }));
}

const checkFailures: Array<[string, ServiceEvent, boolean]> = [
  ["readiness timeout", { type: "ready-timeout" }, false],
  ["failed health check", { type: "health", ok: false, probe: "file /nonexistent" }, true],
  ["missed watchdog", { type: "watchdog-missed" }, true],
  ["WATCHDOG=trigger before READY=1", { type: "watchdog-trigger" }, false],
  ["WATCHDOG=trigger", { type: "watchdog-trigger" }, true],
];

describe("a service killed for failing a check", () => {
  for (const [what, ev, ready] of checkFailures) {
    test(`killed for a ${what}, a service that exits 0 on its stop signal stayed down under restart=on-failure (the default) as if it had ended cleanly; it is restarted`, () => {
      const r = up();
      if (ready) step(r, { type: "ready" }, 10);
      step(r, ev, 20);
      const fx = step(r, { type: "exited", status: 0, signal: null }, 30);
      expect(r.state).toBe("backoff");
      expect(fx).toContainEqual({ type: "timer", ms: 100, event: "backoff-elapsed" });
    });
  }

  test("a clean exit of the next run, not killed, is still a clean exit under on-failure", () => {
    const r = up();
    step(r, { type: "ready-timeout" }, 20);
    step(r, { type: "exited", status: 0, signal: null }, 30);
    step(r, { type: "backoff-elapsed" }, 200);
    step(r, { type: "spawned", pid: 11 }, 200);
    step(r, { type: "exited", status: 0, signal: null }, 300);
    expect(r.state).toBe("exited");
  });
});

test("a second WATCHDOG=trigger while the first one's kill is under way sends no second stop signal and keeps its grace", () => {
  const r = up();
  step(r, { type: "watchdog-trigger" }, 20);
  expect(step(r, { type: "watchdog-trigger" }, 30)).toEqual([]);
});

describe("a stop while a failed check's kill is under way", () => {
  for (const [what, ev, ready] of checkFailures) {
    test(`after a ${what}, a stop sent the stop signal a second time and restarted the grace period (SIGKILL later); it now waits for that kill, then the service is stopped, not restarted`, () => {
      const r = up({ restart: "always" });
      if (ready) step(r, { type: "ready" }, 10);
      step(r, ev, 20);
      const fx = step(r, { type: "stop" }, 30);
      expect(fx.filter((e) => e.type === "signal" || e.type === "timer")).toEqual([]);
      expect(r.state).toBe("stopping");
      expect(step(r, { type: "grace-elapsed" }, 720)).toContainEqual({ type: "signal", signal: "kill" });
      step(r, { type: "exited", status: 137, signal: 9 }, 730);
      expect(r.state).toBe("stopped");
    });
  }
});

test("READY=1 after the readiness timeout's kill made the service running (its dependents started, health checks began) while its SIGKILL stayed due; it stays starting until it exits", () => {
  const r = up({ restart: "never" });
  step(r, { type: "ready-timeout" }, 1000);
  expect(step(r, { type: "ready" }, 1100).filter((e) => e.type !== "log")).toEqual([]);
  expect(r.state).toBe("starting");
  expect(step(r, { type: "grace-elapsed" }, 1700)).toContainEqual({ type: "signal", signal: "kill" });
  step(r, { type: "exited", status: 137, signal: 9 }, 1710);
  expect(r.state).toBe("exited");
});
