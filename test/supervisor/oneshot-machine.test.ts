// A oneshot service in the state machine: its dependents wait for it to exit 0 (a dependency that exited was down for good).
import { describe, expect, test } from "bun:test";
import { validateConfig } from "../../src/config/load.ts";
import { ConfigError } from "../../src/errors.ts";
import { step } from "../../src/supervisor/service-machine.ts";
import { newRecord } from "../../src/supervisor/service-record.ts";
import { notRunning } from "../../src/supervisor/dependencies.ts";

const svc = (extra: Record<string, unknown> = {}) => validateConfig({ services: [{ name: "setup", argv: ["x"], type: "oneshot", ...extra }] }).services[0]!;

describe("oneshot service", () => {
  test("a oneshot that exited 0 was 'exited', down for good, so a service depending on it never started; now it is 'done' and satisfies depends_on", () => {
    const r = newRecord(svc());
    step(r, { type: "start" }, 0);
    const started = step(r, { type: "spawned", pid: 10 }, 0);
    // Running, not yet done: no readiness effects (dependents must not start now).
    expect(r.state).toBe("starting");
    expect(started.some((e) => e.type === "became-ready" || e.type === "await-ready")).toBe(false);
    const dependent = newRecord(validateConfig({ services: [{ name: "setup", argv: ["x"], type: "oneshot" }, { name: "api", argv: ["y"], depends_on: ["setup"] }] }).services[1]!);
    const get = (n: string) => (n === "setup" ? r : undefined);
    expect(notRunning(dependent, get)).toEqual(["setup"]);
    const fx = step(r, { type: "exited", status: 0, signal: null }, 300);
    expect(r.state).toBe("done");
    expect(fx).toContainEqual({ type: "settled" });
    expect(fx.some((e) => e.type === "timer")).toBe(false);
    expect(notRunning(dependent, get)).toEqual([]);
  });

  test("a oneshot is not run again after success, even with restart=always", () => {
    const r = newRecord(svc({ restart: "always" }));
    step(r, { type: "start" }, 0);
    step(r, { type: "spawned", pid: 10 }, 0);
    step(r, { type: "exited", status: 0, signal: null }, 20);
    expect(r.state).toBe("done");
    expect(step(r, { type: "backoff-elapsed" }, 500)).toEqual([]);
  });

  test("a failed oneshot run follows restart: on-failure runs it again after the back-off, never leaves it exited", () => {
    const retried = newRecord(svc({ restart: "on-failure" }));
    step(retried, { type: "start" }, 0);
    step(retried, { type: "spawned", pid: 10 }, 0);
    const fx = step(retried, { type: "exited", status: 3, signal: null }, 20);
    expect(retried.state).toBe("backoff");
    expect(fx).toContainEqual({ type: "timer", ms: 100, event: "backoff-elapsed" });
    const kept = newRecord(svc({ restart: "never" }));
    step(kept, { type: "start" }, 0);
    step(kept, { type: "spawned", pid: 11 }, 0);
    step(kept, { type: "exited", status: 3, signal: null }, 20);
    expect(kept.state).toBe("exited");
  });

  test("READY=1 from a running oneshot does not make it ready: only its exit 0 does", () => {
    const r = newRecord(svc());
    step(r, { type: "start" }, 0);
    step(r, { type: "spawned", pid: 10 }, 0);
    expect(step(r, { type: "ready" }, 5)).toEqual([]);
    expect(r.state).toBe("starting");
  });

  test("a done oneshot runs again when started by hand; a stop leaves it done", () => {
    const r = newRecord(svc());
    step(r, { type: "start" }, 0);
    step(r, { type: "spawned", pid: 10 }, 0);
    step(r, { type: "exited", status: 0, signal: null }, 20);
    expect(step(r, { type: "stop" }, 30)).toEqual([]);
    expect(r.state).toBe("done");
    expect(step(r, { type: "start" }, 40)).toEqual([{ type: "spawn" }]);
    expect(r.state).toBe("pending");
  });

  test("a oneshot stopped while it runs is stopped, not done", () => {
    const r = newRecord(svc());
    step(r, { type: "start" }, 0);
    step(r, { type: "spawned", pid: 10 }, 0);
    step(r, { type: "stop" }, 5);
    step(r, { type: "exited", status: 0, signal: null }, 10);
    expect(r.state).toBe("stopped");
  });

  test("what only a long-running service has is refused on a oneshot, naming the key", () => {
    for (const [key, value] of [
      ["main", true],
      ["ready", { notify: true }],
      ["health", { probe: { file: "/x" } }],
      ["watchdog_ms", 1000],
    ] as const) {
      let err: unknown;
      try {
        svc({ [key]: value });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect(String((err as Error).message)).toContain(`services[0].${key}`);
      expect(String((err as Error).message)).toContain("oneshot");
    }
    expect(() => validateConfig({ services: [{ name: "s", argv: ["x"], type: "forking" }] })).toThrow(ConfigError);
  });
});
