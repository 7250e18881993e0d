// A start by hand of a service waiting out its back-off: a fresh run, as a start of a stopped, exited or failed one is.
import { expect, test } from "bun:test";
import { validateConfig } from "../../src/config/load.ts";
import { step } from "../../src/supervisor/service-machine.ts";
import { newRecord, type ServiceRecord } from "../../src/supervisor/service-record.ts";

const svc = () => validateConfig({ services: [{ name: "s", argv: ["x"], restart: "always", backoff_initial_ms: 1000, backoff_factor: 2, storm_max: 3, storm_window_ms: 600_000 }] }).services[0]!;

/** Crashes `runs` times in a row, each restarted after its back-off; returns the time of the last crash (the service waits out its back-off). */
function crashLoop(r: ServiceRecord, runs: number): number {
  let t = 0;
  step(r, { type: "start" }, t);
  for (let i = 0; i < runs; i++) {
    step(r, { type: "spawned", pid: 100 + i }, t);
    step(r, { type: "exited", status: 1, signal: null }, (t += 10));
    if (i < runs - 1) step(r, { type: "backoff-elapsed" }, (t += 10_000));
  }
  return t;
}

test("a start by hand during back-off kept the crash loop's back-off and storm count (the next crash waited 8 s, not 1 s, and the one after gave the service up as a storm): they start from zero, as for a start at rest", () => {
  const r = newRecord(svc());
  let t = crashLoop(r, 3);
  expect({ state: r.state, failures: r.failures, restarts: r.restarts }).toEqual({ state: "backoff", failures: 3, restarts: 2 });
  // The operator fixed the problem and starts it now, without waiting out the 4 s back-off.
  expect(step(r, { type: "start" }, (t += 100))).toEqual([{ type: "cancel-timer" }, { type: "spawn" }]);
  step(r, { type: "spawned", pid: 200 }, t);
  // The fixed service crashes once, early: the first failure of a fresh run.
  const fx = step(r, { type: "exited", status: 1, signal: null }, (t += 10));
  expect(fx).toContainEqual({ type: "timer", ms: 1000, event: "backoff-elapsed" });
  expect(r.state).toBe("backoff");
  step(r, { type: "backoff-elapsed" }, (t += 1000));
  step(r, { type: "spawned", pid: 201 }, t);
  step(r, { type: "exited", status: 1, signal: null }, (t += 10));
  expect(r.state).toBe("backoff");
});

test("a start by hand during back-off that waits for a dependency (`wait`) is the same fresh run once the dependency runs", () => {
  const r = newRecord(svc());
  let t = crashLoop(r, 3);
  expect(step(r, { type: "wait" }, (t += 100))).toEqual([{ type: "cancel-timer" }]);
  expect(r.state).toBe("pending");
  step(r, { type: "start" }, (t += 100));
  step(r, { type: "spawned", pid: 200 }, t);
  expect(step(r, { type: "exited", status: 1, signal: null }, (t += 10))).toContainEqual({ type: "timer", ms: 1000, event: "backoff-elapsed" });
});

test("the restart that ends a back-off by itself keeps counting (the storm limit still stops a crash loop)", () => {
  const r = newRecord(svc());
  crashLoop(r, 4);
  expect(r.state).toBe("failed");
});
