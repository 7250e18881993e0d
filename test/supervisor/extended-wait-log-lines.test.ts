// The readiness-timeout and SIGKILL lines named timeout_ms and grace_ms even when the wait had been longer (EXTEND_TIMEOUT_USEC, a live re-exec with what was left of the wait): they say the time waited.
import { expect, test } from "bun:test";
import { validateConfig } from "../../src/config/load.ts";
import { ServiceChecks, type CheckEvent } from "../../src/supervisor/service-checks.ts";
import type { Effect } from "../../src/supervisor/service-events.ts";
import { restoreRecord, toSnapshot } from "../../src/supervisor/service-handover.ts";
import { step } from "../../src/supervisor/service-machine.ts";
import { newRecord } from "../../src/supervisor/service-record.ts";

const svc = (extra: Record<string, unknown> = {}) => validateConfig({ services: [{ name: "s", argv: ["x"], grace_ms: 700, ...extra }] }).services[0]!;
const logs = (fx: Effect[]) => fx.flatMap((e) => (e.type === "log" ? [e.msg] : []));

test("a stop whose SIGKILL EXTEND_TIMEOUT_USEC pushed to 5 s after the stop signal said 'ignored SIGTERM for 700 ms' (grace_ms); it says 5000", () => {
  const r = newRecord(svc());
  step(r, { type: "start" }, 0);
  step(r, { type: "spawned", pid: 10 }, 0);
  step(r, { type: "stop" }, 10);
  expect(logs(step(r, { type: "grace-elapsed", dueAt: 5010 }, 5011))).toEqual(["service ignored SIGTERM for 5000 ms; sending SIGKILL"]);
});

test("a grace extended to 2 s that ran across a live re-exec said 700 ms (grace_ms); it is counted from the stop signal in the old image", () => {
  const r = newRecord(svc());
  step(r, { type: "start" }, 0);
  step(r, { type: "spawned", pid: 10 }, 0);
  step(r, { type: "stop" }, 100);
  // EXTEND_TIMEOUT_USEC put the SIGKILL at 2100; handed over at 500 with 1600 ms left; the next
  // image's clock reads 50,000 at the adoption.
  const h = toSnapshot(r, 1600, 500);
  const next = newRecord(svc());
  restoreRecord(next, h, 50_000);
  expect(logs(step(next, { type: "grace-elapsed", dueAt: 51_600 }, 51_601))).toEqual(["service ignored SIGTERM for 2000 ms; sending SIGKILL"]);
});

test("a readiness wait that EXTEND_TIMEOUT_USEC made 300 ms long was reported as 'not ready within 100 ms' (timeout_ms); it says 300", async () => {
  const c = svc({ ready: { notify: true, timeout_ms: 100 } });
  const events: CheckEvent[] = [];
  const checks = new ServiceChecks((_n, ev) => events.push(ev), () => async () => null);
  const r = newRecord(c);
  step(r, { type: "start" }, 0);
  const startedAt = performance.now();
  step(r, { type: "spawned", pid: 10 }, startedAt);
  checks.awaitReady(c, startedAt);
  expect(checks.extendReady(c, 300)).toBe(true);
  await Bun.sleep(500);
  checks.clearAll();
  const timeout = events.find((e) => e.type === "ready-timeout")!;
  expect(timeout).toBeDefined();
  const msg = logs(step(r, timeout, performance.now()))[0]!;
  const ms = Number(/not ready within (\d+) ms/.exec(msg)?.[1]);
  expect(ms).toBeGreaterThanOrEqual(300);
  expect(ms).toBeLessThan(400);
});

test("an unextended readiness timeout still says timeout_ms exactly", async () => {
  const c = svc({ ready: { notify: true, timeout_ms: 100 } });
  const events: CheckEvent[] = [];
  const checks = new ServiceChecks((_n, ev) => events.push(ev), () => async () => null);
  checks.awaitReady(c, performance.now());
  await Bun.sleep(250);
  checks.clearAll();
  expect(events).toEqual([{ type: "ready-timeout", afterMs: 100 }]);
});
