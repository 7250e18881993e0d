// Real services raise neural interrupts within a few beats and the configured action happens.
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Heartbeat } from "../../src/heartbeat/heartbeat.ts";
import type { CortexModel } from "../../src/heartbeat/cortex-adapter.ts";
import { NeuralRuntime } from "../../src/neural/runtime.ts";
import { cpuTicks, modelFrom, procState, startSupervisor, testModel, waitFor } from "./helpers.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function run(opts: ConstructorParameters<typeof Heartbeat>[0]): Heartbeat {
  const hb = new Heartbeat(opts);
  hb.start();
  cleanups.push(async () => void (await hb.stop()));
  return hb;
}

function services(list: Parameters<typeof startSupervisor>[0]) {
  const s = startSupervisor(list);
  cleanups.push(() => s.close());
  return s.sup;
}

const spinner = ["sh", "-c", "while :; do :; done"];
const actions = (hb: Heartbeat, action: string) => hb.records().filter((r) => r.kind === "action" && r.action === action);

test("a service spinning the CPU raises the test model's interrupt within a few beats and is throttled by SIGSTOP/SIGCONT", async () => {
  const sup = services([{ name: "spin", argv: spinner }]);
  // Fires at 0.15 of a core: a spinner gets that much even on a loaded host, whatever its core count.
  const model = testModel([{ name: "svc0_cpu", input: "svc.0.cpu", fireAt: 0.15, scale: 0.05 }]);
  let beatAtRaise = -1;
  const hb = run({ periodMs: 50, model, services: sup, config: { watchdog: false, smoothing_ms: 100, interrupts: { svc0_cpu: { action: "throttle", duty: 0.1, duty_period_ms: 100, hold_ms: 60_000 } } } });
  await waitFor("the interrupt", () => hb.stats().interrupts[0]!.raised > 0, 20_000);
  beatAtRaise = hb.stats().beats;
  expect(beatAtRaise).toBeLessThan(40); // a few beats: sampling (50 ms) + smoothing (100 ms) + the beat
  const raised = hb.records().find((r) => r.kind === "raised")!;
  expect(raised.causes![0]!.input).toBe("svc.0.cpu"); // logged with the input that caused it
  await waitFor("a throttle action", () => actions(hb, "throttle").length > 0, 20_000);
  const pid = sup.list()[0]!.pid!;
  expect(actions(hb, "throttle")[0]!.target).toBe("spin");
  // stats() carries the newest records (what `vector-boot top` lists), oldest first.
  const recent = hb.stats().recentRecords;
  expect(recent.map((r) => [r.kind, r.interrupt, r.action, r.target])).toEqual(hb.records().slice(-8).map((r) => [r.kind, r.interrupt, r.action ?? null, r.target ?? null]));
  expect(recent.some((r) => r.kind === "action" && r.action === "throttle" && r.ok === true)).toBe(true);
  let seenStopped = false;
  const end = performance.now() + 20_000;
  while (!seenStopped && performance.now() < end) {
    seenStopped = (await procState(pid)) === "T";
    await new Promise((r) => setTimeout(r, 7));
  }
  expect(seenStopped).toBe(true);
  // Throttled to 10%: well under half a core over one second, whatever else the host runs.
  const t0 = await cpuTicks(pid);
  await new Promise((r) => setTimeout(r, 1000));
  expect((await cpuTicks(pid)) - t0).toBeLessThan(40);
  // Stopping the heartbeat never leaves a service stopped.
  await hb.stop();
  await new Promise((r) => setTimeout(r, 50));
  expect(await procState(pid)).not.toBe("T");
}, 60_000);

test("a service allocating memory raises the RSS interrupt and is restarted by the supervisor", async () => {
  const alloc = "const a = []; setInterval(() => { if (a.length < 20) a.push(Buffer.alloc(20 << 20, 1)); }, 25);";
  const sup = services([{ name: "hog", argv: [process.execPath, "-e", alloc], restart: "always" }]);
  const model = testModel([{ name: "svc0_rss", input: "svc.0.rss_mib", fireAt: 200, scale: 50 }]);
  await waitFor("the service to run", () => sup.list()[0]!.pid !== null);
  const firstPid = sup.list()[0]!.pid;
  const hb = run({ periodMs: 50, model, services: sup, config: { watchdog: false, interrupts: { svc0_rss: { action: "restart" } } } });
  await waitFor("the RSS interrupt", () => hb.stats().interrupts[0]!.raised > 0, 30_000);
  const raised = hb.records().find((r) => r.kind === "raised")!;
  expect(raised.causes![0]!.input).toBe("svc.0.rss_mib");
  expect(raised.causes![0]!.value).toBeGreaterThanOrEqual(150);
  await waitFor("the restart to complete", () => actions(hb, "restart done").length > 0, 30_000);
  await waitFor("a new process", () => sup.list()[0]!.pid !== null && sup.list()[0]!.pid !== firstPid, 20_000);
  expect(await procState(firstPid!)).toBeNull(); // the allocating process is gone (and reaped)
  expect(actions(hb, "restart")[0]!.target).toBe("hog");
}, 90_000);

/** The default model: the built dist/vectorland.gguf when present, else the same design from the builder. */
async function defaultModel(): Promise<CortexModel> {
  const gguf = join(import.meta.dir, "../../dist/vectorland.gguf");
  if (existsSync(gguf)) {
    const rt = new NeuralRuntime();
    await rt.init(gguf);
    return rt;
  }
  return modelFrom({});
}

test("with the default model, a service leaving zombies raises `zombies` and the configured stop happens", async () => {
  const argv = ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 0 & done; exec sleep 60"];
  const sup = services([{ name: "zombie-maker", argv, restart: "never" }]);
  const hb = run({ periodMs: 50, model: await defaultModel(), services: sup, config: { watchdog: false, interrupts: { zombies: { action: "stop", target: "zombie-maker" } } } });
  await waitFor("the zombies interrupt", () => hb.stats().interrupts.find((i) => i.name === "zombies")!.raised > 0, 20_000);
  const raised = hb.records().find((r) => r.kind === "raised" && r.interrupt === "zombies")!;
  expect(raised.causes![0]!.input).toBe("procs.zombies");
  expect(raised.causes![0]!.value).toBeGreaterThanOrEqual(8);
  await waitFor("the stop", () => actions(hb, "stop done").length > 0, 20_000);
  expect(sup.list()[0]!.state).toBe("stopped");
}, 60_000);

/**
 * A /proc of the test's making: `stat` says what the test wants about the machine's CPUs (two of
 * them, whatever the host has), and each process the test names is its real /proc entry (symlinks),
 * so per-service CPU time is measured for real.
 */
function fakeProc(): { root: string; busy: (on: boolean) => void; expose: (pid: number) => void } {
  const root = mkdtempSync(join(tmpdir(), "vb-fakeproc-"));
  symlinkSync("/proc/self", join(root, "self")); // the throttle compares a service's cgroup with its own
  let user = 1000;
  let idle = 1000;
  let busy = false;
  const write = () => {
    // Per write: 2 CPUs x 5 ticks, all busy or all idle.
    if (busy) user += 10;
    else idle += 10;
    const line = (id: string, u: number, i: number) => `${id} ${u} 0 0 ${i} 0 0 0 0 0 0`;
    const text = `${line("cpu ", user, idle)}\n${line("cpu0", user / 2, idle / 2)}\n${line("cpu1", user / 2, idle / 2)}\nprocs_running 1\nprocs_blocked 0\n`;
    writeFileSync(join(root, "stat.tmp"), text);
    renameSync(join(root, "stat.tmp"), join(root, "stat"));
  };
  write();
  const timer = setInterval(write, 10);
  cleanups.push(async () => {
    clearInterval(timer);
    rmSync(root, { recursive: true, force: true });
  });
  return { root, busy: (on) => void (busy = on), expose: (pid) => symlinkSync(`/proc/${pid}`, join(root, String(pid))) };
}

test("with the default model, CPUs all busy raise `cpu_pressure` (cause cpu.total) and the busiest service, not the first, is throttled", async () => {
  // The machine's CPU load comes from a fake /proc/stat, so neither the host's core count nor what
  // else it runs matters; the services' own CPU use is real.
  const proc = fakeProc();
  const sys = mkdtempSync(join(tmpdir(), "vb-fakesys-")); // no cgroup to touch: the throttle uses SIGSTOP/SIGCONT
  cleanups.push(async () => rmSync(sys, { recursive: true, force: true }));
  const sup = services([{ name: "idle", argv: ["sleep", "600"] }, { name: "spin", argv: spinner }]);
  await waitFor("the services to run", () => sup.list().every((s) => s.pid !== null), 20_000);
  for (const s of sup.list()) proc.expose(s.pid!);
  const spinPid = sup.list().find((s) => s.name === "spin")!.pid!;
  const hb = run({ periodMs: 50, model: await defaultModel(), services: sup, config: { watchdog: false, proc_root: proc.root, sys_root: sys, interrupts: { cpu_pressure: { action: "throttle", target: "top_cpu", duty: 0.2, hold_ms: 60_000 } } } });
  const cpuPressure = () => hb.stats().interrupts.find((i) => i.name === "cpu_pressure")!;
  // Idle CPUs for a while (no interrupt), during which the spinner runs and is sampled (0.1 s of CPU
  // at least, over 20 beats at least): it is the busiest service when the CPUs fill up.
  const t0 = await cpuTicks(spinPid);
  const end = performance.now() + 30_000;
  while (hb.stats().beats < 20 || (await cpuTicks(spinPid)) - t0 < 10) {
    if (performance.now() > end) throw new Error("the spinner got no CPU time in 30 s");
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(cpuPressure().raised).toBe(0);
  // Every CPU busy from now on.
  proc.busy(true);
  await waitFor("cpu_pressure", () => cpuPressure().raised > 0, 20_000);
  const raised = hb.records().find((r) => r.kind === "raised" && r.interrupt === "cpu_pressure")!;
  expect(raised.causes![0]!.input).toBe("cpu.total");
  expect(raised.causes![0]!.value).toBeGreaterThanOrEqual(0.95);
  await waitFor("the throttle", () => actions(hb, "throttle").length > 0, 20_000);
  expect(actions(hb, "throttle")[0]!.target).toBe("spin");
  await waitFor("the worker to confirm it", () => actions(hb, "throttle done by worker").some((a) => a.ok === true), 20_000);
  expect(actions(hb, "throttle done by worker")[0]!.target).toBe("spin");
}, 90_000);

test("cpu_pressure with a oneshot step spinning the CPU: it was passed over ('starting' while it runs, not 'running') and no service was throttled; now the oneshot is", async () => {
  const proc = fakeProc();
  const sys = mkdtempSync(join(tmpdir(), "vb-fakesys-")); // no cgroup to touch: the throttle uses SIGSTOP/SIGCONT
  cleanups.push(async () => rmSync(sys, { recursive: true, force: true }));
  const sup = services([{ name: "idle", argv: ["sleep", "600"] }, { name: "migrate", type: "oneshot", argv: spinner }]);
  await waitFor("the services to run", () => sup.list().every((s) => s.pid !== null), 20_000);
  expect(sup.list().find((s) => s.name === "migrate")!.state).toBe("starting");
  for (const s of sup.list()) proc.expose(s.pid!);
  const spinPid = sup.list().find((s) => s.name === "migrate")!.pid!;
  const hb = run({ periodMs: 50, model: await defaultModel(), services: sup, config: { watchdog: false, proc_root: proc.root, sys_root: sys, interrupts: { cpu_pressure: { action: "throttle", target: "top_cpu", duty: 0.2, hold_ms: 60_000 } } } });
  // Sampled while the CPUs look idle, so the oneshot has a CPU figure when they fill up.
  const t0 = await cpuTicks(spinPid);
  const end = performance.now() + 30_000;
  while (hb.stats().beats < 20 || (await cpuTicks(spinPid)) - t0 < 10) {
    if (performance.now() > end) throw new Error("the oneshot got no CPU time in 30 s");
    await new Promise((r) => setTimeout(r, 20));
  }
  proc.busy(true);
  await waitFor("cpu_pressure", () => hb.stats().interrupts.find((i) => i.name === "cpu_pressure")!.raised > 0, 20_000);
  await waitFor("a throttle that lands", () => actions(hb, "throttle").some((a) => a.ok === true), 20_000);
  expect(actions(hb, "throttle").find((a) => a.ok === true)!.target).toBe("migrate");
}, 90_000);

test("cpu_pressure raised before the first samples gave the services any CPU figure: its throttle of top_cpu found no service, was never tried again, and the spinner ran on; it is retried each beat and lands on the spinner", async () => {
  const proc = fakeProc();
  const sys = mkdtempSync(join(tmpdir(), "vb-fakesys-")); // no cgroup to touch: the throttle uses SIGSTOP/SIGCONT
  cleanups.push(async () => rmSync(sys, { recursive: true, force: true }));
  const sup = services([{ name: "idle", argv: ["sleep", "600"] }, { name: "spin", argv: spinner }]);
  await waitFor("the services to run", () => sup.list().every((s) => s.pid !== null), 20_000);
  for (const s of sup.list()) proc.expose(s.pid!);
  proc.busy(true); // every CPU busy from the first sample: the interrupt comes with the second one
  const hb = run({ periodMs: 50, model: await defaultModel(), services: sup, config: { watchdog: false, proc_root: proc.root, sys_root: sys, interrupts: { cpu_pressure: { action: "throttle", target: "top_cpu", duty: 0.2, hold_ms: 60_000 } } } });
  await waitFor("cpu_pressure", () => hb.stats().interrupts.find((i) => i.name === "cpu_pressure")!.raised > 0, 20_000);
  await waitFor("a throttle of spin", () => actions(hb, "throttle").some((a) => a.ok === true), 30_000);
  expect(actions(hb, "throttle").find((a) => a.ok === true)!.target).toBe("spin");
  // A failed attempt (no service had CPU yet) is logged once, not once per beat.
  expect(actions(hb, "throttle").filter((a) => a.ok === false).length).toBeLessThanOrEqual(1);
  expect(hb.stats().interrupts.find((i) => i.name === "cpu_pressure")!.raised).toBe(1);
  await waitFor("the worker to confirm it", () => actions(hb, "throttle done by worker").some((a) => a.ok === true && a.target === "spin"), 20_000);
}, 90_000);

test("relieve_memory writes the kernel's drop_caches and compact_memory knobs; shutdown calls the shutdown hook with the cause", async () => {
  const { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const proc = mkdtempSync(join(tmpdir(), "vb-relieve-"));
  cleanups.push(async () => rmSync(proc, { recursive: true }));
  // A fake /proc (the knobs of the real one would drop the host's caches): memory 90% used, load 6 on 2 CPUs.
  mkdirSync(join(proc, "sys/vm"), { recursive: true });
  writeFileSync(join(proc, "sys/vm/drop_caches"), "");
  writeFileSync(join(proc, "sys/vm/compact_memory"), "");
  writeFileSync(join(proc, "meminfo"), "MemTotal: 1000000 kB\nMemAvailable: 100000 kB\n");
  writeFileSync(join(proc, "stat"), "cpu  1 0 1 1 0 0 0 0\ncpu0 1 0 1 1 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0\n");
  writeFileSync(join(proc, "loadavg"), "6.00 1.00 1.00 1/10 1\n");
  const model = testModel([
    { name: "mem_full", input: "mem.used_frac", fireAt: 0.85, scale: 0.1 },
    { name: "overload", input: "load.avg1_per_cpu", fireAt: 2, scale: 1 },
  ]);
  const reasons: string[] = [];
  const hb = run({ periodMs: 20, model, onShutdown: (r) => reasons.push(r), config: { watchdog: false, proc_root: proc, interrupts: { mem_full: { action: "relieve_memory" }, overload: { action: "shutdown" } } } });
  await waitFor("the worker's memory relief", () => actions(hb, "relieve-memory done by worker").length > 0, 20_000);
  expect(readFileSync(join(proc, "sys/vm/drop_caches"), "utf8")).toBe("1");
  expect(readFileSync(join(proc, "sys/vm/compact_memory"), "utf8")).toBe("1");
  await waitFor("the shutdown request", () => reasons.length > 0, 20_000);
  expect(reasons[0]).toContain("overload");
  expect(reasons[0]).toContain("load.avg1_per_cpu=3");
}, 60_000);

test("an interrupt named toString (a key of every object) took Object.prototype.toString as its handler instead of the default log", async () => {
  const sup = services([{ name: "spin", argv: spinner }]);
  const model = testModel([{ name: "toString", input: "svc.0.cpu", fireAt: 0.15, scale: 0.05 }]);
  const hb = run({ periodMs: 50, model, services: sup, config: { watchdog: false, smoothing_ms: 100 } });
  await waitFor("the interrupt", () => hb.stats().interrupts[0]!.raised > 0, 20_000);
  const raised = hb.records().find((r) => r.kind === "raised")!;
  expect(raised.interrupt).toBe("toString");
  expect(raised.action).toBe("log");
  expect(hb.records().filter((r) => r.kind === "action")).toEqual([]);
  expect(hb.stats().errors).toBe(0);
}, 60_000);

test("with the default model, `service_failed` with target `cause` restarted the busiest running service (the healthy one) and left the failed one down; it restarts the failed one", async () => {
  const sup = services([
    { name: "web", argv: ["sleep", "600"] },
    { name: "db", argv: ["sh", "-c", "exit 1"], restart: "on-failure", storm_max: 1, backoff_initial_ms: 10 },
  ]);
  const hb = run({ periodMs: 50, model: await defaultModel(), services: sup, config: { watchdog: false, interrupts: { service_failed: { action: "restart" } } } });
  await waitFor("the service_failed interrupt", () => hb.stats().interrupts.find((i) => i.name === "service_failed")!.raised > 0, 20_000);
  await waitFor("the restart", () => actions(hb, "restart").length > 0, 20_000);
  expect(actions(hb, "restart")[0]!.target).toBe("db");
  expect(actions(hb, "restart").every((a) => a.target !== "web")).toBe(true);
}, 60_000);
