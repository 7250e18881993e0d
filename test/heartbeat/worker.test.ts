// The metabolic worker: a crash (uncaught throw inside it) is logged and restarted while the beat goes on.
import { afterEach, expect, test } from "bun:test";
import { setLogLevel, setLogSink } from "../../src/log.ts";
import { Heartbeat } from "../../src/heartbeat/heartbeat.ts";
import { clearFault, injectFault } from "./fault-file.ts";
import { procState, startSupervisor, testModel, waitFor } from "./helpers.ts";
import { closeSync, constants, mkdirSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mkfifo } from "../harness/fifo.ts";
import { tempDir } from "../harness/artifact.ts";

// Faults come from the test, through a worker of its own that wraps the real one (src/ has no test hooks).
const faultWorker = new URL("./fault-worker.ts", import.meta.url).href;
clearFault();
const inject = injectFault;

const lines: string[] = [];
// The assertions read warn/info lines: whatever level an earlier file in this process left.
setLogLevel("info");
afterEach(() => {
  setLogSink(null);
  lines.length = 0;
  // A fault a failed test left would fail every test after it.
  clearFault();
});

test("throwing inside the metabolic worker does not stop the beat; the worker is restarted and the crash logged", async () => {
  setLogSink((l) => lines.push(l));
  const hb = new Heartbeat({ periodMs: 20, workerUrl: faultWorker, config: { watchdog: false, sample_ms: 20 } });
  hb.start();
  try {
    await waitFor("first samples", () => hb.stats().metabolic.samples >= 3);
    const before = hb.stats();
    inject("crash injected by the test");
    await waitFor("the crash", () => hb.stats().metabolic.workerCrashes === 1, 5000);
    const duringCrash = hb.stats().beats;
    await waitFor("the restart", () => hb.stats().metabolic.workerStarts === 2, 5000);
    await waitFor("samples from the new worker", () => hb.stats().metabolic.samples > before.metabolic.samples + 3, 5000);
    const after = hb.stats();
    expect(after.metabolic.workerCrashes).toBe(1);
    expect(after.state).toBe("running");
    expect(after.beats).toBeGreaterThan(before.beats);
    expect(after.errors).toBe(0);
    // Beats went on while the worker was gone (a loaded host may miss slots: not counted here).
    expect(after.beats).toBeGreaterThan(duringCrash);
    expect(lines.some((l) => l.includes("metabolic worker crashed") && l.includes("injected by the test"))).toBe(true);
    expect(lines.some((l) => l.includes("metabolic worker exited; restarting"))).toBe(true);
  } finally {
    await hb.stop();
  }
}, 20_000);

test("a service throttled when the worker crashes is resumed, then throttled again by the new worker", async () => {
  const s = startSupervisor([{ name: "sleeper", argv: ["sleep", "30"] }]);
  const hb = new Heartbeat({ periodMs: 20, workerUrl: faultWorker, services: s.sup, config: { watchdog: false } });
  hb.start();
  try {
    await waitFor("the service", () => s.sup.list()[0]!.pid !== null);
    const pid = s.sup.list()[0]!.pid!;
    await waitFor("the worker", () => hb.stats().metabolic.samples > 0);
    hb.metabolic.throttle("sleeper", pid, 0.01, 1000); // runs 10 ms of each second: almost always stopped
    let stopped = false;
    for (let i = 0; i < 100 && !stopped; i++) {
      stopped = (await procState(pid)) === "T";
      await Bun.sleep(10);
    }
    expect(stopped).toBe(true);
    const states: (string | null)[] = [];
    inject("crash while throttling");
    // The main thread sends SIGCONT as soon as the worker is gone; the new worker throttles again.
    // Bounded like the other restarts in this file (5 s each for the crash and the new worker): a CI
    // host under load once took more than 3 s, the bound this loop had.
    const end = performance.now() + 10_000;
    while (performance.now() < end && hb.stats().metabolic.workerStarts < 2) {
      states.push(await procState(pid));
      await Bun.sleep(2);
    }
    expect({ starts: hb.stats().metabolic.workerStarts, crashes: hb.stats().metabolic.workerCrashes }).toEqual({ starts: 2, crashes: 1 });
    expect(states).toContain("S"); // resumed (sleeping in nanosleep, not stopped) between the workers
    expect(hb.stats().metabolic.throttled).toEqual(["sleeper"]);
    let stoppedAgain = false;
    for (let i = 0; i < 200 && !stoppedAgain; i++) {
      stoppedAgain = (await procState(pid)) === "T";
      await Bun.sleep(10);
    }
    expect(stoppedAgain).toBe(true);
  } finally {
    await hb.stop();
    await s.close();
  }
}, 20_000);

test("a worker that stops publishing samples (stuck in a loop) is terminated and replaced", async () => {
  setLogSink((l) => lines.push(l));
  const hb = new Heartbeat({ periodMs: 20, workerUrl: faultWorker, config: { watchdog: false, sample_ms: 20, stale_periods: 2 } });
  hb.start();
  try {
    await waitFor("first samples", () => hb.stats().metabolic.samples >= 3);
    inject("hang");
    // Bounded for a loaded 2-core host: a new Worker can take seconds to start there (8 s was not enough in CI).
    await waitFor("the replacement worker", () => hb.stats().metabolic.workerStarts === 2, 25_000);
    const n = hb.stats().metabolic.samples;
    await waitFor("new samples", () => hb.stats().metabolic.samples > n + 3, 15_000);
    expect(lines.some((l) => l.includes("metabolic worker stalled; restarting"))).toBe(true);
    expect(hb.stats().state).toBe("running");
  } finally {
    await hb.stop();
  }
}, 60_000);

test("a worker blocked in a system call (a read that never returns) was only asked to terminate: it never closed, so no new worker came and a service it had stopped (duty cycle) stayed stopped; it is replaced at once and the service resumed", async () => {
  setLogSink((l) => lines.push(l));
  const fifo = mkfifo(tempDir("vb-blocked-worker-"), "sensor");
  const s = startSupervisor([{ name: "sleeper", argv: ["sleep", "30"] }]);
  const hb = new Heartbeat({ periodMs: 20, workerUrl: faultWorker, services: s.sup, config: { watchdog: false, sample_ms: 20, stale_periods: 2 } });
  hb.start();
  try {
    await waitFor("the service", () => s.sup.list()[0]!.pid !== null);
    const pid = s.sup.list()[0]!.pid!;
    await waitFor("the worker", () => hb.stats().metabolic.samples > 0);
    hb.metabolic.throttle("sleeper", pid, 0.01, 1000); // almost always stopped
    let stopped = false;
    for (let i = 0; i < 250 && !stopped; i++) {
      stopped = (await procState(pid)) === "T";
      await Bun.sleep(20);
    }
    expect(stopped).toBe(true);
    inject(`block ${fifo}`);
    const states: (string | null)[] = [];
    const end = performance.now() + 20_000;
    while (performance.now() < end && hb.stats().metabolic.workerStarts < 2) {
      states.push(await procState(pid));
      await Bun.sleep(2);
    }
    // Resumed between the workers: the new one throttles it again once it runs, which on a loaded host
    // is long after it was counted (the window can fall between two looks of the loop above).
    for (let i = 0; i < 50 && !states.includes("S"); i++) {
      states.push(await procState(pid));
      await Bun.sleep(2);
    }
    expect(hb.stats().metabolic.workerStarts).toBeGreaterThanOrEqual(2);
    expect(lines.some((l) => l.includes("metabolic worker stalled; restarting"))).toBe(true);
    expect(lines.some((l) => l.includes("throttled service resumed") && l.includes("why=\"worker stalled\""))).toBe(true);
    expect(states).toContain("S");
  } finally {
    // The blocked read gets its end of file: the old worker's thread can end (none still reading: ENXIO).
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      /* no reader left */
    }
    await hb.stop();
    await s.close();
  }
}, 40_000);

test("beats ran the cortex on the last sample of a worker that no longer published (hung, and its replacements too) and repeated the raised interrupt's action every repeat_ms on those frozen numbers; past the stale limit they wait for a fresh sample", async () => {
  const dir = tempDir("vb-stale-sample-");
  const fifo = mkfifo(dir, "sensor");
  // A /proc of the test's: load 6 on 2 CPUs, so the interrupt stays raised on every sample.
  const proc = join(dir, "proc");
  mkdirSync(proc);
  writeFileSync(join(proc, "meminfo"), "MemTotal: 1000000 kB\nMemAvailable: 900000 kB\n");
  writeFileSync(join(proc, "stat"), "cpu  1 0 1 1 0 0 0 0\ncpu0 1 0 1 1 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0\n");
  writeFileSync(join(proc, "loadavg"), "6.00 1.00 1.00 1/10 1\n");
  const model = testModel([{ name: "overload", input: "load.avg1_per_cpu", fireAt: 2, scale: 1 }]);
  const asked: number[] = [];
  const hb = new Heartbeat({ periodMs: 20, workerUrl: faultWorker, model, onShutdown: () => asked.push(performance.now()), config: { watchdog: false, proc_root: proc, sample_ms: 50, stale_periods: 2, interrupts: { overload: { action: "shutdown", repeat_ms: 50 } } } });
  hb.start();
  const unblock = () => {
    // Every blocked worker's open() returns once the FIFO has a writer (none blocked: ENXIO).
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      /* no reader */
    }
  };
  try {
    await waitFor("the interrupt's action, repeated", () => asked.length >= 3, 20_000);
    inject(`block-all ${fifo}`);
    // The stale limit: max(1 s, stale_periods x period, 3 x sample_ms) = 1 s; a beat past it.
    await waitFor("the sample to go stale", () => hb.stats().metabolic.sampleAgeMs > 1100, 10_000);
    const n = asked.length;
    await Bun.sleep(1000);
    expect(asked.length).toBe(n);
    expect(hb.stats().interrupts[0]!.active).toBe(true);
  } finally {
    clearFault();
    unblock();
    await hb.stop();
    unblock();
  }
}, 40_000);

test("a throttle is released as soon as the throttled service's process is replaced (its pid may be reused)", async () => {
  setLogSink((l) => lines.push(l));
  const s = startSupervisor([{ name: "sleeper", argv: ["sleep", "30"], restart: "always" }]);
  // A model whose one interrupt never fires (a load of a million per CPU): only for its dispatcher, which logs the worker's action records.
  const hb = new Heartbeat({ periodMs: 20, services: s.sup, model: testModel([{ name: "never", input: "load.avg1_per_cpu", fireAt: 1e6, scale: 1 }]), config: { watchdog: false } });
  hb.start();
  try {
    await waitFor("the service", () => s.sup.list()[0]!.pid !== null);
    const pid = s.sup.list()[0]!.pid!;
    await waitFor("the worker", () => hb.stats().metabolic.samples > 0);
    // A long duty period: the worker sends no signal for 9.9 s, so only the heartbeat can notice the change.
    hb.metabolic.throttle("sleeper", pid, 0.99, 10_000);
    // The worker has applied it (its first SIGCONT) before the process dies: its action record says so.
    await waitFor("the worker's throttle action", () => lines.some((l) => l.includes("throttle done by worker") && l.includes(`pid ${pid}: SIGSTOP/SIGCONT duty cycle`)));
    expect(lines.filter((l) => l.includes("throttle done by worker")).every((l) => l.includes("ok=true"))).toBe(true);
    await waitFor("the service to be replaced after SIGKILL", () => {
      if (s.sup.list()[0]!.pid === pid) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* dead already; the supervisor has not taken its exit yet */
        }
      }
      return s.sup.list()[0]!.pid !== null && s.sup.list()[0]!.pid !== pid;
    }, 5000);
    await waitFor("the throttle release", () => hb.stats().metabolic.throttled.length === 0, 2000);
    expect(lines.some((l) => l.includes("throttle released: the service's process changed") && l.includes(`throttled_pid=${pid}`))).toBe(true);
    expect(await procState(s.sup.list()[0]!.pid!)).not.toBe("T");
  } finally {
    await hb.stop();
    await s.close();
  }
}, 20_000);

test("a service in a cgroup v2 of its own is throttled through cpu.max (no signals), restored on release; one in our cgroup gets the duty cycle", async () => {
  const { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const s = startSupervisor([{ name: "own-cgroup", argv: ["sleep", "30"] }, { name: "shared-cgroup", argv: ["sleep", "30"] }]);
  await waitFor("the services", () => s.sup.list().every((v) => v.pid !== null));
  const [own, shared] = s.sup.list().map((v) => v.pid!);
  // The kernel's cgroup files, laid out as /proc and /sys show them (this host has cgroup v1 only).
  const proc = mkdtempSync(join(tmpdir(), "vb-cg-proc-"));
  const sys = mkdtempSync(join(tmpdir(), "vb-cg-sys-"));
  const put = (root: string, p: string, text: string) => {
    mkdirSync(join(root, p, ".."), { recursive: true });
    writeFileSync(join(root, p), text);
  };
  put(proc, "self/cgroup", "0::/init.scope\n");
  put(proc, `${own}/cgroup`, "0::/services/own\n");
  put(proc, `${shared}/cgroup`, "0::/init.scope\n");
  put(sys, "fs/cgroup/services/own/cpu.max", "max 100000\n");
  put(sys, "fs/cgroup/init.scope/cpu.max", "max 100000\n");
  const cpuMax = (p: string) => readFileSync(join(sys, "fs/cgroup", p, "cpu.max"), "utf8");
  const hb = new Heartbeat({ periodMs: 20, config: { watchdog: false, proc_root: proc, sys_root: sys } });
  hb.start();
  try {
    await waitFor("the worker", () => hb.stats().metabolic.samples > 0);
    hb.metabolic.throttle("own-cgroup", own!, 0.2, 100);
    hb.metabolic.throttle("shared-cgroup", shared!, 0.01, 1000);
    await waitFor("cpu.max written", () => cpuMax("services/own") === "20000 100000", 3000);
    let sharedStopped = false;
    for (let i = 0; i < 100 && !sharedStopped; i++) {
      sharedStopped = (await procState(shared!)) === "T";
      await Bun.sleep(10);
    }
    expect(sharedStopped).toBe(true); // our own cgroup is never limited: signals instead
    expect(cpuMax("init.scope")).toBe("max 100000\n");
    expect(await procState(own!)).toBe("S"); // cpu.max only, never SIGSTOP
    hb.metabolic.unthrottle("own-cgroup");
    await waitFor("cpu.max restored", () => cpuMax("services/own") === "max 100000", 3000);
  } finally {
    await hb.stop();
    await s.close();
    rmSync(proc, { recursive: true });
    rmSync(sys, { recursive: true });
  }
}, 20_000);

test("a worker that crashed while a service was throttled through cpu.max left the limit in place, the next worker took the limit for the value to restore, and the service stayed throttled after release; cpu.max is restored", async () => {
  const { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const s = startSupervisor([{ name: "own-cgroup", argv: ["sleep", "30"] }]);
  await waitFor("the service", () => s.sup.list()[0]!.pid !== null);
  const pid = s.sup.list()[0]!.pid!;
  const proc = mkdtempSync(join(tmpdir(), "vb-cg-proc-"));
  const sys = mkdtempSync(join(tmpdir(), "vb-cg-sys-"));
  const put = (root: string, p: string, text: string) => {
    mkdirSync(join(root, p, ".."), { recursive: true });
    writeFileSync(join(root, p), text);
  };
  put(proc, "self/cgroup", "0::/init.scope\n");
  put(proc, `${pid}/cgroup`, "0::/services/own\n");
  put(sys, "fs/cgroup/services/own/cpu.max", "max 100000\n");
  const cpuMax = () => readFileSync(join(sys, "fs/cgroup/services/own/cpu.max"), "utf8").trim();
  setLogSink((l) => lines.push(l));
  const hb = new Heartbeat({ periodMs: 20, workerUrl: faultWorker, config: { watchdog: false, proc_root: proc, sys_root: sys } });
  hb.start();
  try {
    await waitFor("the worker", () => hb.stats().metabolic.samples > 0);
    hb.metabolic.throttle("own-cgroup", pid, 0.2, 100);
    await waitFor("cpu.max written", () => cpuMax() === "20000 100000", 5000);
    inject("crash while throttling through cpu.max");
    // Bounded for a loaded 2-core host: a new Worker can take seconds to start there.
    await waitFor("the replacement worker", () => hb.stats().metabolic.workerStarts === 2, 25_000);
    expect(lines.some((l) => l.includes("cpu.max restored") && l.includes("worker exited"))).toBe(true);
    await waitFor("cpu.max written again by the new worker", () => cpuMax() === "20000 100000", 10_000);
    hb.metabolic.unthrottle("own-cgroup");
    await waitFor("cpu.max restored to what it held before the throttle", () => cpuMax() === "max 100000", 5000);
  } finally {
    await hb.stop();
    await s.close();
    rmSync(proc, { recursive: true });
    rmSync(sys, { recursive: true });
  }
}, 60_000);

test("a worker that samples slower than the beat's stale limit (sample_ms 1500, stale_periods 2 at 20 ms) is not restarted as stalled", async () => {
  setLogSink((l) => lines.push(l));
  const hb = new Heartbeat({ periodMs: 20, config: { watchdog: false, sample_ms: 1500, stale_periods: 2 } });
  hb.start();
  try {
    await waitFor("3 samples at 1.5 s", () => hb.stats().metabolic.samples >= 3, 15_000);
    expect(hb.stats().metabolic.workerStarts).toBe(1);
    expect(lines.some((l) => l.includes("metabolic worker stalled"))).toBe(false);
  } finally {
    await hb.stop();
  }
}, 30_000);
