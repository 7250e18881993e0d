// A service throttled by an interrupt kept its SIGSTOP duty cycle while an operator stopped it: its SIGTERM handler ran a tenth of the time and was killed at the grace's end.
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Heartbeat } from "../../src/heartbeat/heartbeat.ts";
import { busyProc, startSupervisor, testModel, waitFor } from "./helpers.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

test("an operator's stop of a throttled service (duty 0.1) left the SIGSTOP duty cycle on: its SIGTERM handler, about 0.6 s of CPU, did not finish within a 5 s grace and was SIGKILLed; the throttle is released at the stop and the handler finishes", async () => {
  // A fake /proc whose CPUs are always busy (the interrupt stays raised), exposing the service's real process.
  const proc = busyProc();
  const root = proc.root;
  const sys = mkdtempSync(join(tmpdir(), "vb-fakesys-")); // no cgroup: the throttle is SIGSTOP/SIGCONT
  symlinkSync("/proc/self", join(root, "self"));
  cleanups.push(() => {
    proc.close();
    rmSync(sys, { recursive: true, force: true });
  });
  const done = join(root, "handler-done");
  const handler = `i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done; : > ${done}; exit 0`;
  const s = startSupervisor([{ name: "spin", argv: ["sh", "-c", `trap '${handler}' TERM; while :; do :; done`], restart: "never", grace_ms: 5000 }]);
  cleanups.push(() => s.close());
  await waitFor("the service", () => s.sup.list()[0]!.pid !== null, 20_000);
  const pid = s.sup.list()[0]!.pid!;
  symlinkSync(`/proc/${pid}`, join(root, String(pid)));
  const model = testModel([{ name: "cpu_pressure", input: "cpu.total", fireAt: 0.8, scale: 0.05 }]);
  const hb = new Heartbeat({ periodMs: 50, model, services: s.sup, config: { watchdog: false, proc_root: root, sys_root: sys, interrupts: { cpu_pressure: { action: "throttle", target: "spin", duty: 0.1, hold_ms: 60_000, repeat_ms: 100 } } } });
  hb.start();
  cleanups.push(async () => void (await hb.stop()));
  const throttles = () => hb.records().filter((r) => r.kind === "action" && r.action === "throttle" && r.ok === true);
  await waitFor("the throttle", () => throttles().length === 1, 30_000);
  await s.sup.stop("spin");
  // The handler ran to its end (it wrote its file), no SIGKILL; and no throttle was taken again meanwhile.
  expect(existsSync(done)).toBe(true);
  expect(throttles().length).toBe(1);
  expect(hb.stats().interrupts[0]).toEqual({ name: "cpu_pressure", active: true, raised: 1 });
}, 90_000);
