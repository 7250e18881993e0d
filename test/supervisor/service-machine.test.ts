// The service state machine: every restart decision, without processes (the real ones are in test/pid1).
import { describe, expect, test } from "bun:test";
import { validateConfig } from "../../src/config/load.ts";
import { step } from "../../src/supervisor/service-machine.ts";
import { backoffMs, newRecord } from "../../src/supervisor/service-record.ts";

const svc = (extra: Record<string, unknown> = {}) => validateConfig({ services: [{ name: "s", argv: ["x"], ...extra }] }).services[0]!;

describe("service state machine", () => {
  test("back-off grows exponentially and is capped", () => {
    const c = svc({ backoff_initial_ms: 100, backoff_factor: 2, backoff_max_ms: 500 });
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(c, n))).toEqual([100, 200, 400, 500, 500]);
  });
  test("on-failure does not restart a clean exit", () => {
    const r = newRecord(svc({ restart: "on-failure" }));
    step(r, { type: "start" }, 0);
    step(r, { type: "spawned", pid: 10 }, 0);
    step(r, { type: "exited", status: 0, signal: null }, 50);
    expect(r.state).toBe("exited");
  });
  test("always restarts a clean exit after back-off", () => {
    const r = newRecord(svc({ restart: "always" }));
    step(r, { type: "start" }, 0);
    step(r, { type: "spawned", pid: 10 }, 0);
    const fx = step(r, { type: "exited", status: 0, signal: null }, 50);
    expect(r.state).toBe("backoff");
    expect(fx).toContainEqual({ type: "timer", ms: 100, event: "backoff-elapsed" });
    expect(step(r, { type: "backoff-elapsed" }, 200)).toEqual([{ type: "spawn" }]);
  });
  test("a main service killed by a signal is not restarted even with restart=always: it reports main-exited", () => {
    const r = newRecord(svc({ restart: "always", main: true }));
    step(r, { type: "start" }, 0);
    step(r, { type: "spawned", pid: 10 }, 0);
    const fx = step(r, { type: "exited", status: 137, signal: 9 }, 50);
    expect(r.state).toBe("exited");
    expect(fx).toContainEqual({ type: "main-exited", status: 137, signal: 9 });
    expect(fx.some((e) => e.type === "timer")).toBe(false);
  });
  test("a main service that cannot start ends the machine with 127 instead of failing quietly", () => {
    const r = newRecord(svc({ restart: "never", main: true }));
    step(r, { type: "start" }, 0);
    const fx = step(r, { type: "spawn-failed", error: "ENOENT" }, 0);
    expect(fx).toContainEqual({ type: "main-exited", status: 127, signal: null });
  });
  test("a main service stopped on request does not end the machine", () => {
    const r = newRecord(svc({ main: true }));
    step(r, { type: "start" }, 0);
    step(r, { type: "spawned", pid: 10 }, 0);
    step(r, { type: "stop" }, 10);
    const fx = step(r, { type: "exited", status: 143, signal: 15 }, 20);
    expect(r.state).toBe("stopped");
    expect(fx.some((e) => e.type === "main-exited")).toBe(false);
  });
  test("a long stable run resets the back-off", () => {
    const r = newRecord(svc({ restart: "always", stable_after_ms: 1000 }));
    r.failures = 4;
    step(r, { type: "start" }, 0);
    step(r, { type: "spawned", pid: 10 }, 0);
    const fx = step(r, { type: "exited", status: 1, signal: null }, 5000);
    expect(fx).toContainEqual({ type: "timer", ms: 100, event: "backoff-elapsed" });
  });
  test("the storm limit stops a crash loop", () => {
    const r = newRecord(svc({ restart: "always", storm_max: 2, storm_window_ms: 10_000 }));
    let t = 0;
    step(r, { type: "start" }, t);
    for (let i = 0; i < 3; i++) {
      step(r, { type: "spawned", pid: 10 + i }, t);
      step(r, { type: "exited", status: 1, signal: null }, (t += 10));
      if (r.state === "failed") break;
      step(r, { type: "backoff-elapsed" }, (t += 500));
    }
    expect(r.state).toBe("failed");
    expect(r.restarts).toBe(2);
  });
  test("a stop during back-off cancels the restart", () => {
    const r = newRecord(svc({ restart: "always" }));
    step(r, { type: "start" }, 0);
    step(r, { type: "spawned", pid: 10 }, 0);
    step(r, { type: "exited", status: 1, signal: null }, 10);
    expect(step(r, { type: "stop" }, 20)).toEqual([{ type: "cancel-timer" }, { type: "settled" }]);
    expect(step(r, { type: "backoff-elapsed" }, 200)).toEqual([]);
    expect(r.state).toBe("stopped");
  });
  test("stop sends the stop signal, then SIGKILL at the grace limit", () => {
    const r = newRecord(svc({ grace_ms: 700 }));
    step(r, { type: "start" }, 0);
    step(r, { type: "spawned", pid: 10 }, 0);
    expect(step(r, { type: "stop" }, 5)).toEqual([{ type: "end-checks" }, { type: "signal", signal: "stop" }, { type: "timer", ms: 700, event: "grace-elapsed" }]);
    expect(step(r, { type: "grace-elapsed" }, 705)).toContainEqual({ type: "signal", signal: "kill" });
    step(r, { type: "exited", status: 137, signal: 9 }, 710);
    expect(r.state).toBe("stopped");
  });
  test("a process that exits after a stop request is not restarted", () => {
    const r = newRecord(svc({ restart: "always" }));
    step(r, { type: "start" }, 0);
    step(r, { type: "spawned", pid: 10 }, 0);
    step(r, { type: "stop" }, 5);
    step(r, { type: "exited", status: 143, signal: 15 }, 6);
    expect(r.state).toBe("stopped");
  });
  test("a command that cannot start counts as a failed run: back-off under on-failure, failed under never", () => {
    const r = newRecord(svc({ restart: "on-failure" }));
    step(r, { type: "start" }, 0);
    const fx = step(r, { type: "spawn-failed", error: "x: command not found" }, 5);
    expect(r.state).toBe("backoff");
    expect(r.lastStatus).toBe(127);
    expect(fx).toContainEqual({ type: "timer", ms: 100, event: "backoff-elapsed" });
    const n = newRecord(svc({ restart: "never" }));
    step(n, { type: "start" }, 0);
    step(n, { type: "spawn-failed", error: "x: command not found" }, 5);
    expect(n.state).toBe("failed");
  });
});
