// A restart action of a neural interrupt must not start a service an operator stopped by hand.
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Heartbeat } from "../../src/heartbeat/heartbeat.ts";
import { busyProc, startSupervisor, testModel, waitFor } from "./helpers.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

test("an operator's `vector-boot stop worker`, then an interrupt whose action is restart worker: the interrupt started the stopped service again", async () => {
  const proc = busyProc();
  cleanups.push(() => proc.close());
  const sys = mkdtempSync(join(tmpdir(), "vb-fakesys-"));
  cleanups.push(() => rmSync(sys, { recursive: true, force: true }));
  const s = startSupervisor([{ name: "worker", argv: ["sleep", "1000"], restart: "always" }]);
  cleanups.push(() => s.close());
  await waitFor("the service", () => s.sup.list()[0]!.pid !== null, 20_000);
  // What the control socket's `stop` does (src/control/boot-target.ts: stopService).
  await s.sup.stop("worker");
  expect(s.sup.list()[0]!.state).toBe("stopped");
  const model = testModel([{ name: "busy", input: "cpu.total", fireAt: 0.8, scale: 0.05 }]);
  const hb = new Heartbeat({ periodMs: 20, model, services: s.sup, config: { watchdog: false, smoothing_ms: 0, proc_root: proc.root, sys_root: sys, interrupts: { busy: { action: "restart", target: "worker" } } } });
  hb.start();
  cleanups.push(async () => void (await hb.stop()));
  const acted = () => hb.records().filter((r) => r.kind === "action" && r.interrupt === "busy");
  await waitFor("the interrupt's action", () => acted().length > 0, 30_000);
  // A restart would have settled within these beats (the stop of a stopped service resolves at once).
  const n = hb.stats().beats;
  await waitFor("five more beats", () => hb.stats().beats >= n + 5, 30_000);
  expect(s.sup.list()[0]!).toMatchObject({ state: "stopped", pid: null });
  expect(acted().map((r) => [r.action, r.target, r.ok])).toEqual([["restart skipped", "worker", false]]);
  expect(acted()[0]!.detail).toContain("stopped by an operator");
}, 60_000);

test("a service an interrupt's stop action stopped is still restarted by another interrupt's restart action (only an operator's stop is kept)", async () => {
  const proc = busyProc();
  cleanups.push(() => proc.close());
  writeFileSync(join(proc.root, "loadavg"), "0.00 0.00 0.00 1/100 1\n");
  const sys = mkdtempSync(join(tmpdir(), "vb-fakesys-"));
  cleanups.push(() => rmSync(sys, { recursive: true, force: true }));
  const s = startSupervisor([{ name: "worker", argv: ["sleep", "1000"], restart: "always" }]);
  cleanups.push(() => s.close());
  await waitFor("the service", () => s.sup.list()[0]!.pid !== null, 20_000);
  const first = s.sup.list()[0]!.pid!;
  const model = testModel([
    { name: "load1", input: "load.avg1", fireAt: 20, scale: 1 },
    { name: "load5", input: "load.avg5", fireAt: 20, scale: 1 },
  ]);
  const interrupts = { load1: { action: "stop", target: "worker" }, load5: { action: "restart", target: "worker" } } as const;
  const hb = new Heartbeat({ periodMs: 20, model, services: s.sup, config: { watchdog: false, smoothing_ms: 0, proc_root: proc.root, sys_root: sys, interrupts } });
  hb.start();
  cleanups.push(async () => void (await hb.stop()));
  const acts = (action: string) => hb.records().filter((r) => r.kind === "action" && r.action === action);
  writeFileSync(join(proc.root, "loadavg"), "50.00 0.00 0.00 1/100 1\n");
  await waitFor("the stop by load1", () => acts("stop done").length === 1, 30_000);
  expect(s.sup.list()[0]!.state).toBe("stopped");
  writeFileSync(join(proc.root, "loadavg"), "50.00 50.00 0.00 1/100 1\n");
  await waitFor("the restart by load5", () => acts("restart done").length === 1, 30_000);
  expect(acts("restart skipped")).toEqual([]);
  expect(s.sup.list()[0]!.state).toBe("running");
  expect(s.sup.list()[0]!.pid).not.toBe(first);
}, 60_000);
