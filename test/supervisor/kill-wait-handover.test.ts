// A service in the final wait after its SIGKILL was handed over at a live re-exec as if in its grace: the next image sent a second SIGKILL after the time left, then waited KILL_WAIT_MS more.
import { expect, test } from "bun:test";
import { serviceConfig, spawnedRecord } from "./machine-records.ts";
import type { TimerEvent } from "../../src/supervisor/service-events.ts";
import { adoptService } from "../../src/supervisor/service-adopt.ts";
import { toSnapshot } from "../../src/supervisor/service-handover.ts";
import { KILL_WAIT_MS, step } from "../../src/supervisor/service-machine.ts";
import { newRecord, type ServiceRecord } from "../../src/supervisor/service-record.ts";
import { salvageSnapshot } from "../../src/supervisor/service-salvage.ts";
import { serviceSnapshotSchema, type ServiceSnapshot } from "../../src/supervisor/service-snapshot.ts";
import type { ServiceChecks } from "../../src/supervisor/service-checks.ts";
import type { ServiceRunner } from "../../src/supervisor/service-runner.ts";

const svc = (extra: Record<string, unknown> = {}) => serviceConfig({ grace_ms: 700, ...extra });
const up = (extra: Record<string, unknown> = {}): ServiceRecord => spawnedRecord(svc(extra));

/** adoptService on a stand-in runner: the timer it arms (what it delivers, in how long). */
function adoptedTimer(h: ServiceSnapshot, extra: Record<string, unknown> = {}): { ms: number; event: TimerEvent } | null {
  let timer: { ms: number; event: TimerEvent } | null = null;
  const slot = { rec: newRecord(svc(extra)), adoptHooks: () => {}, watchMainPid: () => {}, leftovers: { adopt: () => {}, whenEmpty: () => {} }, setTimer: (ms: number, event: TimerEvent) => void (timer = { ms, event }) };
  const checks = { awaitReady: () => {}, becameReady: () => {} };
  adoptService(slot as unknown as ServiceRunner, serviceSnapshotSchema().parse(h), 0, checks as unknown as ServiceChecks, null);
  return timer;
}

test("a stopping service whose main process outlived its SIGKILL (D state), handed over 1 s into the final wait, is given KILL_WAIT_MS - 1 s more of that wait, not a grace", () => {
  const r = up();
  step(r, { type: "stop" }, 10);
  expect(step(r, { type: "grace-elapsed" }, 710)).toContainEqual({ type: "timer", ms: KILL_WAIT_MS, event: "kill-elapsed" });
  const h = toSnapshot(r, KILL_WAIT_MS - 1000, 1710, { sigkilled: true });
  expect(h.sigkilled).toBe(true);
  expect(adoptedTimer(h)).toEqual({ ms: KILL_WAIT_MS - 1000, event: "kill-elapsed" });
});

test("a stop waiting for the rest of its run after SIGKILL (its main process gone), and a run killed for a failed check after SIGKILL, continue the final wait too", () => {
  const r = up();
  step(r, { type: "stop" }, 10);
  step(r, { type: "exited", status: 0, signal: null, leftovers: true }, 20);
  step(r, { type: "grace-elapsed" }, 710);
  expect(adoptedTimer(toSnapshot(r, 3000, 2710, { sigkilled: true }))).toEqual({ ms: 3000, event: "kill-elapsed" });
  const k = up({ ready: { notify: true, timeout_ms: 1000 } });
  step(k, { type: "ready-timeout" }, 1000);
  step(k, { type: "grace-elapsed" }, 1700);
  expect(adoptedTimer(toSnapshot(k, 2000, 4700, { sigkilled: true }), { ready: { notify: true, timeout_ms: 1000 } })).toEqual({ ms: 2000, event: "kill-elapsed" });
});

test("a stop in its grace is still handed over as one, and a snapshot from an image before handoff 12 (no `sigkilled`) or with it unreadable resumes a grace, as before", () => {
  const r = up();
  step(r, { type: "stop" }, 10);
  const h = toSnapshot(r, 400, 310);
  expect(h.sigkilled).toBe(false);
  expect(adoptedTimer(h)).toEqual({ ms: 400, event: "grace-elapsed" });
  const { sigkilled: _, ...before12 } = h;
  expect(adoptedTimer(before12 as ServiceSnapshot)).toEqual({ ms: 400, event: "grace-elapsed" });
  const salvaged = salvageSnapshot({ ...h, sigkilled: "yes", killedFor: 5 }, 700)!;
  expect(salvaged.unreadable).toContain("sigkilled");
  expect(salvaged.snapshot.sigkilled).toBe(false);
  // A service holding no process has no wait to carry.
  const b = newRecord(svc());
  expect(toSnapshot(b, null, 0, { sigkilled: true }).sigkilled).toBe(false);
});
