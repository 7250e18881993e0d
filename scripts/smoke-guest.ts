// Runs inside the QEMU guest of scripts/qemu-smoke.ts (a service: BUN_BE_BUN=1 /sbin/vector-boot THIS): reads the
// running init's status, mutates the live weights, burns CPU through the `burner` service, prints JSON lines.
// Self-contained (no imports from the project): it is copied into the initramfs alone.
// Every result is one console line `smoke: STEP {json}`; the host script judges them (this file asserts nothing).
// Ends by asking the init to power off.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import net from "node:net";

// The executable starts reluctant to JIT (scripts/compile-flags.ts: its boot code runs once); a script it
// runs as Bun (BUN_BE_BUN=1) is a workload: the normal policy, as src/util/jit-policy.ts sets it.
Bun.unsafe.setJITPolicy(1);

const EXE = "/sbin/vector-boot";
const CONTROL = "/run/vector-boot/control";
const PIXELS: Array<[number, number, number]> = [[72, 101, 108], [101, 108, 108], [108, 111, 111], [250, 255, 0]];
/** Kept in step with scripts/qemu-smoke.ts (pixel head output layer: changes the pixel output). */
const MUTATION = { tensor: "pixel.1.bias", offset: 0, values: [4.5] };
const BURNER = "burner";
/** Created by scripts/smoke-burner.c once SIGUSR1 is blocked. */
const BURNER_READY = "/run/smoke-burner.ready";
/** /proc/PID/stat utime and stime are in USER_HZ ticks: 100 on x86-64. */
const CLK_TCK = 100;
/** Timing of the burn test (ms), from the kernel command line `vbtest.*` the host sets (defaults: the host's). */
const arg = (key: string, dflt: number): number => {
  const m = new RegExp(`(?:^|\\s)vbtest\\.${key}=(\\d+)`).exec(readFileSync("/proc/cmdline", "utf8"));
  return m ? Number(m[1]) : dflt;
};
const SETTLE_MS = arg("settle_ms", 150_000);
const QUIET_MS = arg("quiet_ms", 120_000);
/** The burn starts once psi.cpu.some_avg10 is below this too (see the quiet wait). */
const QUIET_PSI = 0.2;
const RAISE_WAIT_MS = arg("raise_wait_ms", 30_000);
const AFTER_DELAY_MS = arg("after_delay_ms", 500);
const AFTER_MS = arg("after_ms", 4000);

const childEnv: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (k !== "BUN_BE_BUN" && v !== undefined) childEnv[k] = v;

const started = performance.now();
const now = () => Math.round(performance.now() - started);
const report = (step: string, value: unknown) => process.stdout.write(`smoke: ${step} ${JSON.stringify(value)}\n`);

type Json = Record<string, any>;

/** One vector-boot command; stdout parsed as JSON when it is. Bounded (60 s: Bun starts slowly under TCG). */
function vb(args: string[]): { exit: number | null; result: unknown; stderr: string; ms: number } {
  const t = performance.now();
  const r = Bun.spawnSync([EXE, ...args], { env: childEnv, stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  const out = r.stdout.toString().trim();
  let result: unknown = out;
  try {
    result = JSON.parse(out);
  } catch {
    // not JSON: kept as text
  }
  return { exit: r.exitCode, result, stderr: r.stderr.toString().trim().slice(0, 300), ms: Math.round(performance.now() - t) };
}

/** One control request on its own connection: { ok, result } or { ok: false, error }. Bounded (10 s). */
function ask(req: Json): Promise<Json> {
  return new Promise((resolve) => {
    const sock = net.createConnection(CONTROL);
    let buf = "";
    const timer = setTimeout(() => (sock.destroy(), resolve({ ok: false, error: "no answer within 10 s" })), 10_000);
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write(`${JSON.stringify({ id: 1, ...req })}\n`));
    sock.on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as Json);
      } catch (e) {
        resolve({ ok: false, error: String(e) });
      }
    });
    sock.on("error", (e) => (clearTimeout(timer), resolve({ ok: false, error: String(e) })));
  });
}

/** The parts of `status` the host judges (keeps the console lines short). */
function digest(st: Json | null): Json | null {
  const hb = st?.heartbeat as Json | null | undefined;
  if (!st || !hb) return st ? { generation: st.generation, heartbeat: null } : null;
  const m = hb.metabolic as Json | undefined;
  return {
    generation: st.generation,
    beats: hb.beats,
    metabolic: m ? { samples: m.samples, workerCrashes: m.workerCrashes, workerStarts: m.workerStarts, running: m.running, throttled: m.throttled, sample: m.sample ?? null } : null,
    interrupts: Array.isArray(hb.interrupts) ? hb.interrupts.map((i: Json) => [i.name, i.raised, i.active]) : null,
    beatFifo: (hb.wake as Json | undefined)?.beatFifo ?? null,
    beatGuard: (hb.wake as Json | undefined)?.beatGuard ?? null,
  };
}

const cpuPressure = (st: Json | null): { raised: number; active: boolean } | null => {
  const i = (st?.heartbeat?.interrupts as Json[] | undefined)?.find((x) => x.name === "cpu_pressure");
  return i && typeof i.raised === "number" ? { raised: i.raised, active: i.active === true } : null;
};
const throttled = (st: Json | null): string[] => (Array.isArray(st?.heartbeat?.metabolic?.throttled) ? st!.heartbeat.metabolic.throttled : []);

/**
 * One reading of the burner: when (ms since its start signal), its utime + stime (USER_HZ ticks), its time on CPU
 * from schedstat (ms; -1 without CONFIG_SCHED_INFO), its state letter, and the machine's idle + iowait time
 * (USER_HZ ticks, /proc/stat): the CPU nobody used.
 */
type Reading = [t: number, ticks: number, cpuMs: number, state: string, idle: number];
function reading(pid: number, t0: number): Reading | null {
  const t = performance.now();
  let s: string;
  try {
    s = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  const f = s.slice(s.lastIndexOf(")") + 2).split(" "); // fields from 3 (state) on
  let cpuMs = -1;
  try {
    cpuMs = +(Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1e6).toFixed(2);
  } catch {
    // no CONFIG_SCHED_INFO: ticks only
  }
  const cpu = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.split(/\s+/); // cpu user nice system idle iowait ...
  return [Math.round(t - t0), Number(f[11]) + Number(f[12]), cpuMs, f[0]!, Number(cpu[4]) + Number(cpu[5])];
}

/** CPU ticks of every process (and of PID 1's threads, as "1/TID"), with their names: who loads the machine. */
function cpuTable(): Map<string, { comm: string; ticks: number }> {
  const m = new Map<string, { comm: string; ticks: number }>();
  const read = (key: string, file: string) => {
    try {
      const s = readFileSync(file, "utf8");
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      m.set(key, { comm: s.slice(s.indexOf("(") + 1, s.lastIndexOf(")")), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // gone
    }
  };
  for (const e of readdirSync("/proc")) if (/^\d+$/.test(e)) read(e, `/proc/${e}/stat`);
  for (const t of readdirSync("/proc/1/task")) read(`1/${t}`, `/proc/1/task/${t}/stat`);
  return m;
}
/** The biggest CPU users between two tables: [key, name, share of one CPU], at most `n`. */
function topUsers(a: Map<string, { comm: string; ticks: number }>, b: Map<string, { comm: string; ticks: number }>, ms: number, n = 8): Array<[string, string, number]> {
  const out: Array<[string, string, number]> = [];
  for (const [k, v] of b) out.push([k, v.comm, +((v.ticks - (a.get(k)?.ticks ?? 0)) / CLK_TCK / (ms / 1000)).toFixed(3)]);
  return out.filter((x) => x[2] > 0).sort((x, y) => y[2] - x[2]).slice(0, n);
}

/** Whether the cgroup of `pid` has a cpu.max quota (the throttle's cgroup form), from /proc/PID/cgroup. */
function cpuMaxSet(pid: number): boolean {
  try {
    const cg = /^0::(\/.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, "utf8"))?.[1];
    return cg !== undefined && !readFileSync(`/sys/fs/cgroup${cg}/cpu.max`, "utf8").startsWith("max");
  } catch {
    return false;
  }
}

/**
 * Whether the burner `pid` is waiting for SIGUSR1: it creates BURNER_READY once the signal is blocked
 * (a process inside sigwait shows an empty SigBlk: the kernel unblocks the awaited set for the wait).
 */
function burnerWaiting(pid: number): boolean {
  return existsSync(`/proc/${pid}`) && existsSync(BURNER_READY);
}

// 1. The boot settles: the live re-exec is done (generation 1), the one-shot services have exited. Polled
//    gently (every request costs PID 1 CPU, and the machine has one).
let st: Json | null = null;
let services: Json[] = [];
for (const until = performance.now() + SETTLE_MS; performance.now() < until; await Bun.sleep(1000)) {
  const s = await ask({ op: "status" });
  const l = await ask({ op: "services" });
  st = s.ok ? (s.result as Json) : null;
  services = l.ok && Array.isArray(l.result) ? (l.result as Json[]) : [];
  const oneShotsDone = services.length > 0 && services.filter((x) => x.name === "smoke-verify" || x.name === "live-reexec").every((x) => x.state !== "running" && x.state !== "starting");
  if (st && st.generation >= 1 && st.heartbeat && oneShotsDone) break;
}
report("settled", { atMs: now(), generation: st?.generation ?? null, services: services.map((x) => [x.name, x.state, x.pid]) });

// 2. status --json (the CLI, as an operator runs it): the metabolic worker's samples and counters.
const s1 = vb(["status", "--json"]);
report("status-1", { exit: s1.exit, ms: s1.ms, stderr: s1.stderr, status: digest(typeof s1.result === "object" ? (s1.result as Json) : null) });

// 3. A mutation: the pixel result of the running weights (control socket `pixels`) before and after.
const pixels = async (): Promise<Json> => {
  const r = await ask({ op: "pixels", pixels: PIXELS });
  return r.ok ? { output: ((r.result as Json).output as number[]).map((v) => +v.toPrecision(6)) } : { error: r.error };
};
report("pixels-before", await pixels());
const mut = vb(["mutate", MUTATION.tensor, String(MUTATION.offset), `--values=${MUTATION.values.join(",")}`, "--confidence", "0.95", "--json"]);
report("mutate", { exit: mut.exit, ms: mut.ms, result: mut.result, stderr: mut.stderr });
report("pixels-after", await pixels());

// 4. The burner: wait until the machine is quiet (cpu_pressure clear, PSI low, nothing throttled), start it, watch.
const burner = services.find((x) => x.name === BURNER);
const pid = typeof burner?.pid === "number" ? burner.pid : null;
let ready = false;
for (const until = performance.now() + 30_000; pid !== null && performance.now() < until && !(ready = burnerWaiting(pid)); ) await Bun.sleep(100);
let quietSt: Json | null = null;
let quiet = false;
const quietFrom = performance.now();
const load0 = cpuTable();
for (const until = quietFrom + QUIET_MS; performance.now() < until; await Bun.sleep(1000)) {
  const r = await ask({ op: "status" });
  quietSt = r.ok ? (r.result as Json) : null;
  const cp = cpuPressure(quietSt);
  // PSI's 10 s average low as well: cpu_pressure clears below its clear threshold while psi.cpu.some_avg10 can
  // still hold 0.4 from the boot, and then the burner tipped it over within 70 ms, too soon to measure the
  // unthrottled window (MIN_BEFORE_MS of scripts/qemu-smoke.ts).
  const psi = quietSt?.heartbeat?.metabolic?.sample?.["psi.cpu.some_avg10"];
  if ((quiet = cp !== null && !cp.active && throttled(quietSt).length === 0 && typeof psi === "number" && psi < QUIET_PSI)) break;
}
const waited = performance.now() - quietFrom;
report("quiet", { pid, ready, quiet, waitedMs: Math.round(waited), cpuPressure: cpuPressure(quietSt), throttled: throttled(quietSt), sample: quietSt?.heartbeat?.metabolic?.sample ?? null, load: topUsers(load0, cpuTable(), waited) });

const burn: Json = { pid, clkTck: CLK_TCK, raisedBefore: cpuPressure(quietSt)?.raised ?? null };
const series: Reading[] = [];
if (pid !== null && ready && quiet) {
  // The burner every 50 ms until it is seen stopped, then every 100 ms (three small /proc reads), and nothing else:
  // a status request costs the init and this driver tens of ms of the one CPU under TCG, taken from the burner.
  // The host cuts the series into the unthrottled and the throttled windows at the init's console lines (dispatch
  // and application of the throttle).
  const load1 = cpuTable();
  const t0 = performance.now();
  series.push(reading(pid, t0)!);
  // Seconds since boot, the scale of the init's console stamps (it aligns them on /proc/uptime).
  burn.triggerUptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
  process.kill(pid, "SIGUSR1");
  let stoppedAt: number | null = null;
  for (;;) {
    await Bun.sleep(stoppedAt === null ? 50 : 100);
    const r = reading(pid, t0);
    if (!r) break; // the burner is gone: the series ends early
    series.push(r);
    // The throttle reached the burner when its cgroup's cpu.max holds a quota, or the kernel shows it
    // stopped (SIGSTOP of the duty cycle, without a cgroup).
    if (stoppedAt === null && (r[3] === "T" || cpuMaxSet(pid))) {
      stoppedAt = r[0];
      burn.how = r[3] === "T" ? "stopped, state T" : "cpu.max quota on its cgroup";
    }
    if (stoppedAt !== null && r[0] - stoppedAt >= AFTER_DELAY_MS + AFTER_MS + 200) break;
    if (stoppedAt === null && r[0] > RAISE_WAIT_MS) break;
  }
  const fin = await ask({ op: "status" });
  const last = fin.ok ? (fin.result as Json) : null;
  const end = series.at(-1)!;
  Object.assign(burn, {
    stoppedMs: stoppedAt,
    stoppedReads: series.filter((r) => stoppedAt !== null && r[0] >= stoppedAt && r[3] === "T").length,
    reads: series.length,
    stillThrottled: throttled(last).includes(BURNER),
    cpuMaxAtEnd: cpuMaxSet(pid),
    raisedAfter: cpuPressure(last)?.raised ?? null,
    sample: last?.heartbeat?.metabolic?.sample ?? null,
    // Who used the CPU over the whole series (the burner included).
    load: topUsers(load1, cpuTable(), end[0], 5),
  });
}
report("burn", burn);
// [ms since the start signal, burner ticks, burner ms on CPU, state, machine idle ticks], every 50-100 ms.
report("burn-series", { series });
const stop = await ask({ op: "stop", name: BURNER });
report("burner-stopped", { ok: stop.ok, state: stop.ok ? (stop.result as Json)?.state : stop.error });

// 5. status --json again: samples went on, no worker crash, the interrupt counted.
const s2 = vb(["status", "--json"]);
report("status-2", { exit: s2.exit, ms: s2.ms, stderr: s2.stderr, status: digest(typeof s2.result === "object" ? (s2.result as Json) : null) });
report("done", { atMs: now() });
report("poweroff", vb(["poweroff"]));
