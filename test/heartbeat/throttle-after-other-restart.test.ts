// Two interrupts acting on one service: a restart by one must not drop the other's throttle for good.
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

test("cpu_pressure throttled worker, then load_high restarted it while cpu_pressure stayed raised: the restart dropped the throttle and the new process ran unthrottled for as long as cpu_pressure stayed raised", async () => {
  const proc = busyProc(); // cpu.total reads 1: cpu_pressure is raised and stays raised
  cleanups.push(() => proc.close());
  writeFileSync(join(proc.root, "loadavg"), "0.00 0.00 0.00 1/100 1\n");
  const sys = mkdtempSync(join(tmpdir(), "vb-fakesys-")); // no cgroup to touch: the throttle uses SIGSTOP/SIGCONT
  cleanups.push(() => rmSync(sys, { recursive: true, force: true }));
  const s = startSupervisor([{ name: "worker", argv: ["sleep", "1000"], restart: "always" }]);
  cleanups.push(() => s.close());
  await waitFor("the service", () => s.sup.list()[0]!.pid !== null, 20_000);
  const first = s.sup.list()[0]!.pid!;
  const model = testModel([
    { name: "cpu_pressure", input: "cpu.total", fireAt: 0.8, scale: 0.05 },
    { name: "load_high", input: "load.avg1", fireAt: 20, scale: 1 },
  ]);
  const interrupts = { cpu_pressure: { action: "throttle", target: "worker", duty: 0.5, hold_ms: 60_000 }, load_high: { action: "restart", target: "worker" } } as const;
  const hb = new Heartbeat({ periodMs: 20, model, services: s.sup, config: { watchdog: false, smoothing_ms: 0, proc_root: proc.root, sys_root: sys, interrupts } });
  hb.start();
  cleanups.push(async () => void (await hb.stop()));
  const acts = (action: string) => hb.records().filter((r) => r.kind === "action" && r.action === action);
  await waitFor("the throttle of the first process", () => acts("throttle").length === 1, 30_000);
  expect(acts("throttle")[0]!).toMatchObject({ interrupt: "cpu_pressure", target: "worker" });
  expect(acts("throttle")[0]!.detail).toContain(`pid ${first} `);
  writeFileSync(join(proc.root, "loadavg"), "50.00 50.00 50.00 1/100 1\n");
  await waitFor("the restart by load_high", () => acts("restart done").length === 1, 30_000);
  await waitFor("the new process", () => (s.sup.list()[0]!.pid ?? first) !== first, 20_000);
  const second = s.sup.list()[0]!.pid!;
  // cpu_pressure never cleared: its throttle is taken again, on the new process (the old one was never throttled again).
  await waitFor("a throttle of the new process", () => acts("throttle").some((r) => r.detail!.includes(`pid ${second} `)), 10_000);
  expect(acts("throttle").map((r) => [r.interrupt, r.detail!.slice(0, r.detail!.indexOf(" duty"))])).toEqual([
    ["cpu_pressure", `pid ${first}`],
    ["cpu_pressure", `pid ${second}`],
  ]);
  expect(hb.stats().metabolic.throttled).toEqual(["worker"]);
  expect(hb.stats().interrupts.map((i) => [i.name, i.active, i.raised])).toEqual([
    ["cpu_pressure", true, 1],
    ["load_high", true, 1],
  ]);
}, 90_000);
