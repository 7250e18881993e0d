// The state machine with cgroups: a stop waits for processes left in the cgroup; a main exit sweeps them; limits validated.
import { describe, expect, test } from "bun:test";
import { serviceConfig, spawnedRecord } from "./machine-records.ts";
import { step } from "../../src/supervisor/service-machine.ts";

const svc = serviceConfig;

function running(extra: Record<string, unknown> = {}) {
  return spawnedRecord(svc(extra));
}

describe("service state machine with a cgroup", () => {
  test("a stop whose main process exits while its cgroup still holds processes stays stopping until the cgroup is empty", () => {
    const r = running();
    step(r, { type: "stop" }, 10);
    const fx = step(r, { type: "exited", status: 0, signal: null, leftovers: true }, 20);
    expect(r.state).toBe("stopping");
    expect(fx).toContainEqual({ type: "watch-cgroup" });
    expect(fx.some((e) => e.type === "settled")).toBe(false);
    // The grace ends: SIGKILL and cgroup.kill.
    expect(step(r, { type: "grace-elapsed" }, 5000)).toContainEqual({ type: "signal", signal: "kill" });
    const done = step(r, { type: "cgroup-empty" }, 5010);
    expect(r.state).toBe("stopped");
    expect(done).toContainEqual({ type: "settled" });
  });
  test("a stop without leftovers is done at the main process's exit", () => {
    const r = running();
    step(r, { type: "stop" }, 10);
    expect(step(r, { type: "exited", status: 0, signal: null, leftovers: false }, 20)).toContainEqual({ type: "settled" });
    expect(r.state).toBe("stopped");
  });
  test("a main process exiting by itself while a double-forked child runs on sweeps the cgroup before the restart policy", () => {
    const r = running({ restart: "always" });
    const fx = step(r, { type: "exited", status: 0, signal: null, leftovers: true }, 20);
    expect(fx.map((e) => e.type)).toEqual(["end-checks", "cancel-timer", "log", "kill-leftovers", "log", "timer"]);
    expect(r.state).toBe("backoff");
  });
  test("cgroup-empty while the main process still runs changes nothing", () => {
    const r = running();
    step(r, { type: "stop" }, 10);
    expect(step(r, { type: "cgroup-empty" }, 20)).toEqual([]);
    expect(r.state).toBe("stopping");
  });
});

describe("cgroup limits in the config", () => {
  test("memory sizes are converted to bytes, cpu_max to cpu.max's form", () => {
    const c = svc({ memory_max: "64M", memory_high: 1_048_576, cpu_max: "50000/100000", pids_max: 32, io_weight: 200 });
    expect([c.memory_max, c.memory_high, c.cpu_max, c.pids_max, c.io_weight]).toEqual([String(64 * 1024 * 1024), "1048576", "50000 100000", 32, 200]);
    expect(svc({ memory_max: "max", cpu_max: "max" })).toMatchObject({ memory_max: "max", cpu_max: "max" });
  });
  test.each([
    [{ memory_max: "64MB" }, "memory_max"],
    [{ memory_max: 100 }, "memory_max"],
    [{ cpu_max: "10/100000" }, "cpu_max"],
    [{ cpu_max: "50000/10" }, "cpu_max"],
    [{ pids_max: 0 }, "pids_max"],
    [{ io_weight: 20_000 }, "io_weight"],
  ])("an invalid limit %p is refused naming its key", (extra, key) => {
    expect(() => svc(extra)).toThrow(key);
  });
});
