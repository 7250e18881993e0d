// A throttled service whose process is replaced while its interrupt stays raised: the new process is throttled too.
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Heartbeat } from "../../src/heartbeat/heartbeat.ts";
import { procState, startSupervisor, testModel, waitFor } from "./helpers.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A fake /proc whose CPUs are always busy (stat rewritten every 10 ms) and where the test exposes real processes. */
function busyProc(): { root: string; expose: (pid: number) => void } {
  const root = mkdtempSync(join(tmpdir(), "vb-busyproc-"));
  symlinkSync("/proc/self", join(root, "self"));
  let user = 1000;
  const write = () => {
    user += 10;
    writeFileSync(join(root, "stat.tmp"), `cpu  ${user} 0 0 1000 0 0 0 0\ncpu0 ${user} 0 0 1000 0 0 0 0\n`);
    renameSync(join(root, "stat.tmp"), join(root, "stat"));
  };
  write();
  const timer = setInterval(write, 10);
  cleanups.push(() => {
    clearInterval(timer);
    rmSync(root, { recursive: true, force: true });
  });
  return { root, expose: (pid) => symlinkSync(`/proc/${pid}`, join(root, String(pid))) };
}

test("a throttled service restarted while cpu_pressure stayed raised: the throttle was released with the old process and the new one ran unthrottled for as long as the interrupt stayed raised", async () => {
  const proc = busyProc();
  const sys = mkdtempSync(join(tmpdir(), "vb-fakesys-")); // no cgroup to touch: the throttle uses SIGSTOP/SIGCONT
  cleanups.push(() => rmSync(sys, { recursive: true, force: true }));
  const s = startSupervisor([{ name: "spin", argv: ["sh", "-c", "while :; do :; done"], restart: "always" }]);
  cleanups.push(() => s.close());
  await waitFor("the service", () => s.sup.list()[0]!.pid !== null, 20_000);
  const first = s.sup.list()[0]!.pid!;
  proc.expose(first);
  const model = testModel([{ name: "cpu_pressure", input: "cpu.total", fireAt: 0.8, scale: 0.05 }]);
  const hb = new Heartbeat({ periodMs: 50, model, services: s.sup, config: { watchdog: false, proc_root: proc.root, sys_root: sys, interrupts: { cpu_pressure: { action: "throttle", target: "top_cpu", duty: 0.1, hold_ms: 60_000 } } } });
  hb.start();
  cleanups.push(async () => void (await hb.stop()));
  const throttles = () => hb.records().filter((r) => r.kind === "action" && r.action === "throttle" && r.ok === true);
  await waitFor("the throttle of the first process", () => throttles().length === 1, 30_000);
  expect(throttles()[0]!.detail).toContain(`pid ${first} `);
  // The service's process dies; the supervisor starts a new one (the CPUs stay busy: the interrupt stays raised).
  process.kill(first, "SIGKILL");
  await waitFor("the new process", () => (s.sup.list()[0]!.pid ?? first) !== first, 20_000);
  const second = s.sup.list()[0]!.pid!;
  proc.expose(second);
  await waitFor("a throttle of the new process", () => throttles().some((r) => r.detail!.includes(`pid ${second} `)), 20_000);
  let stopped = false;
  for (let i = 0; i < 300 && !stopped; i++) {
    stopped = (await procState(second)) === "T";
    await Bun.sleep(10);
  }
  expect(stopped).toBe(true);
  expect(hb.stats().interrupts[0]).toEqual({ name: "cpu_pressure", active: true, raised: 1 });
}, 90_000);
