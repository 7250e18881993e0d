// Two interrupts throttling one service: each holds the throttle, the last hold releases it, the stricter limit applies.
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Heartbeat } from "../../src/heartbeat/heartbeat.ts";
import { busyProc, procState, startSupervisor, testModel, waitFor } from "./helpers.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** cpu_pressure (cpu.total, raised for good by a busy fake /proc) and load_high (load.avg1, raised and cleared by the test) both throttle "worker". */
async function twoThrottles(loadHigh: { duty: number; hold_ms: number }) {
  const proc = busyProc();
  cleanups.push(() => proc.close());
  const setLoad = (l: number) => writeFileSync(join(proc.root, "loadavg"), `${l}.00 ${l}.00 ${l}.00 1/100 1\n`);
  setLoad(0);
  const sys = mkdtempSync(join(tmpdir(), "vb-fakesys-")); // no cgroup to touch: the throttle uses SIGSTOP/SIGCONT
  cleanups.push(() => rmSync(sys, { recursive: true, force: true }));
  const s = startSupervisor([{ name: "worker", argv: ["sleep", "1000"], restart: "always" }]);
  cleanups.push(() => s.close());
  await waitFor("the service", () => s.sup.list()[0]!.pid !== null, 20_000);
  const pid = s.sup.list()[0]!.pid!;
  const model = testModel([
    { name: "cpu_pressure", input: "cpu.total", fireAt: 0.8, scale: 0.05 },
    { name: "load_high", input: "load.avg1", fireAt: 20, scale: 1 },
  ]);
  const interrupts = {
    cpu_pressure: { action: "throttle", target: "worker", duty: 0.5, duty_period_ms: 100, hold_ms: 60_000 },
    load_high: { action: "throttle", target: "worker", duty_period_ms: 100, ...loadHigh },
  } as const;
  const hb = new Heartbeat({ periodMs: 20, model, services: s.sup, config: { watchdog: false, smoothing_ms: 0, proc_root: proc.root, sys_root: sys, interrupts } });
  hb.start();
  cleanups.push(async () => void (await hb.stop()));
  const acts = (action: string, interrupt?: string) => hb.records().filter((r) => r.kind === "action" && r.action === action && (interrupt === undefined || r.interrupt === interrupt));
  const cleared = (name: string) => hb.records().some((r) => r.kind === "cleared" && r.interrupt === name);
  await waitFor("cpu_pressure's throttle", () => acts("throttle", "cpu_pressure").length === 1, 30_000);
  return { hb, pid, setLoad, acts, cleared };
}

/** Whether the process is seen stopped (SIGSTOP of the duty cycle) within `ms`. */
async function seenStopped(pid: number, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if ((await procState(pid)) === "T") return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}

test("cpu_pressure (hold 60 s) throttled a service, then load_high (hold 0) throttled it too and cleared: the service was unthrottled at once and ran unthrottled while cpu_pressure stayed raised", async () => {
  const { hb, pid, setLoad, acts, cleared } = await twoThrottles({ duty: 0.5, hold_ms: 0 });
  setLoad(50);
  await waitFor("load_high's hold", () => acts("throttle held", "load_high").length === 1, 30_000);
  setLoad(0);
  await waitFor("load_high cleared", () => cleared("load_high"), 30_000);
  const n = hb.stats().beats;
  await waitFor("ten beats after the clear", () => hb.stats().beats >= n + 10, 10_000);
  expect(acts("unthrottle").map((r) => [r.interrupt, r.detail])).toEqual([]);
  expect(hb.stats().metabolic.throttled).toEqual(["worker"]);
  expect(acts("throttle held", "load_high")[0]!.detail).toContain("held by cpu_pressure");
  expect(acts("throttle hold ended", "load_high").length).toBe(1);
  expect(acts("throttle hold ended", "load_high")[0]!.detail).toContain("still held by cpu_pressure");
  expect(hb.stats().interrupts.map((i) => [i.name, i.active])).toEqual([
    ["cpu_pressure", true],
    ["load_high", false],
  ]);
  // Still duty-cycled: its process is stopped half of each 100 ms.
  expect(await seenStopped(pid, 2000)).toBe(true);
}, 90_000);

test("two interrupts holding one service's throttle with different limits: the second's stricter duty (0.1 against 0.5) was never applied, and the limit goes back to the first's when the stricter hold ends", async () => {
  const { hb, pid, setLoad, acts, cleared } = await twoThrottles({ duty: 0.1, hold_ms: 0 });
  const byWorker = () => hb.records().filter((r) => r.kind === "action" && r.action === "throttle done by worker").map((r) => r.detail!.replace(/^pid \d+: /, ""));
  await waitFor("the worker's first throttle", () => byWorker().length === 1, 10_000);
  setLoad(50);
  await waitFor("load_high's action", () => acts("throttle tightened", "load_high").length + acts("throttle held", "load_high").length > 0, 30_000);
  expect(acts("throttle held", "load_high").map((r) => r.detail)).toEqual([]); // the old code kept duty 0.5 ("already throttled")
  expect(acts("throttle tightened", "load_high")[0]!.detail).toStartWith(`pid ${pid} duty 0.1 of 100 ms`);
  await waitFor("the worker's second throttle", () => byWorker().length === 2, 10_000);
  setLoad(0);
  await waitFor("load_high cleared", () => cleared("load_high"), 30_000);
  await waitFor("the limit eased back", () => acts("throttle eased", "load_high").length === 1, 10_000);
  expect(acts("throttle eased", "load_high")[0]!.detail).toContain(`pid ${pid} duty 0.5 of 100 ms, the limit of cpu_pressure`);
  await waitFor("the worker's third throttle", () => byWorker().length === 3, 10_000);
  expect(byWorker()).toEqual(["SIGSTOP/SIGCONT duty cycle, runs 50% of 100 ms", "SIGSTOP/SIGCONT duty cycle, runs 10% of 100 ms", "SIGSTOP/SIGCONT duty cycle, runs 50% of 100 ms"]);
  expect(acts("unthrottle")).toEqual([]);
  expect(hb.stats().metabolic.throttled).toEqual(["worker"]);
  expect(await seenStopped(pid, 2000)).toBe(true);
}, 90_000);
