// QEMU smoke test: boots dist/vector-boot in an initramfs on a Debian kernel, checks the serial console, and proves
// the appliance works inside the VM: real metabolic samples, cpu_pressure raised by a CPU burner and the throttle
// reaching it, a mutation changing the live pixel result, no worker crash, a clean power-off. Strict: every check
// that finds nothing fails, with the console log.
// Usage: bun scripts/qemu-smoke.ts [--timeout S] [--shutdown-after S] [--model FILE.gguf] [--compress zstd|xz|gzip|none]
//        [--keep-log FILE] [--verbose-kernel]
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildInitramfs } from "../src/initramfs/build.ts";
import { COMPRESSION_SUFFIX, COMPRESSIONS, type Compression } from "../src/initramfs/compress.ts";
import { applianceCmdline, bootQemu, die, ensureKernel, ensureQemu, imageBase, prepareExecutable, qemuDir, root, sayer, sh } from "./qemu-support.ts";
import { bootFailure, type Check, printConsole, runChecks } from "./qemu-console.ts";

const say = sayer("qemu-smoke");

/**
 * The guest machine: `-m` and `-smp` (one CPU: the burner alone can saturate it). 2 GiB: the kernel keeps about
 * 65 MiB of any size for itself (image, struct pages), which is 6 % of 1 GiB but under 5 % of 2 GiB.
 */
const MEM_MIB = 2048;
const SMP = 1;
/** Heartbeat period (the default). */
const HEARTBEAT_MS = 100;
/**
 * Metabolic sampling period. Under TCG one sample of /proc costs ~30 ms of the one CPU: at the default (the
 * heartbeat period) the worker alone takes ~30 % of the machine, and the init ~60 % at rest.
 */
const SAMPLE_MS = 500;
/**
 * Time constant of the CPU-use smoothing (default 250 ms). 1 s: the burner runs unthrottled for about a second before
 * cpu.total crosses the threshold (at 250 ms the throttle can land within 300 ms, too short a window to measure its
 * unthrottled share on a loaded host); the raise stays far inside RAISE_WITHIN_MS.
 */
const SMOOTHING_MS = 1000;
/** The handler of cpu_pressure the image is configured with (README "The heartbeat"), aimed at the burner by name. */
const THROTTLE = { action: "throttle", target: "burner", duty: 0.2, duty_period_ms: 100, hold_ms: 8000 } as const;
/** Acceptance: cpu_pressure raised within this long after the burner starts. */
const RAISE_WITHIN_MS = 10_000;
/** The unthrottled window (start to the throttle's dispatch) must last this long; the throttled share is at most MAX_DROP_RATIO of it. */
const MIN_BEFORE_MS = 250;
const MAX_DROP_RATIO = 0.75;
/** Guest driver timing (ms): the throttled window starts AFTER_DELAY_MS after the throttle and lasts AFTER_MS, inside hold_ms. */
const AFTER_DELAY_MS = 5 * HEARTBEAT_MS;
const AFTER_MS = 4000;
if (AFTER_DELAY_MS + AFTER_MS + 10 * HEARTBEAT_MS > THROTTLE.hold_ms) throw new Error("the measured throttled window must end well inside hold_ms");
/** Kept in step with scripts/smoke-guest.ts. */
const MUTATION = { tensor: "pixel.1.bias", offset: 0, value: 4.5 };
const GUEST = "/etc/vector-boot/smoke-guest.ts";
const BURNER = "/sbin/smoke-burner";
const LIMITS = "/sbin/smoke-limits";
/** The limits service: at most PIDS_MAX processes (itself included) and MEMORY_MAX_MIB of memory. */
const PIDS_MAX = 4;
const MEMORY_MAX_MIB = 24;

const SERVICES = ["smoke-verify", "live-reexec", "burner", "smoke-guest", "limits"];
/** What the console must show, in boot order (`ordered: false`: anywhere; `count`: that many matches). */
const CHECKS: Check[] = [
  { step: "pre-init ran as PID 1", re: /vector-boot pre-init: started \(pid 1\)/ },
  { step: "pre-init mounted and exec'd /sbin/vector-boot", re: /vector-boot pre-init: mounted .* exec \/sbin\/vector-boot/ },
  { step: "phase early as PID 1", re: /boot: phase early mode=pid1 pid=1 preinit=true/ },
  { step: `phase config (${SERVICES.length} services from /etc/vector-boot/config.json)`, re: new RegExp(`config: phase config services=${SERVICES.length} `) },
  { step: "phase init-runtime", re: /boot: phase init-runtime/ },
  { step: "model mapped from the executable", re: /boot: phase load-gguf origin=embedded .*bytes_mapped=(\d+)/ },
  { step: "model validated (tensor count)", re: /boot: .*\btensors=(\d+)/ },
  { step: "pixel test succeeded", re: /boot: phase pixel-test .*\b(ok|passed|succeeded)\b/ },
  { step: "phase services", re: new RegExp(`boot: phase services count=${SERVICES.length} order=${SERVICES.join(",")}`) },
  { step: "service started", re: /supervisor: service started service=smoke-verify pid=\d+/ },
  { step: "service ran (its output on the console)", re: /\/sbin\/vector-boot: embedded, \d+ bytes, model \d+ bytes at \d+, checksums ok, GGUF ok \(\d+ tensors\)/, ordered: false },
  { step: "phase heartbeat", re: /heartbeat: phase heartbeat period_ms=\d+/ },
  { step: "first heartbeat with boot timings", re: /heartbeat: first heartbeat .*since_kernel_ms=([\d.]+) .*since_exec_ms=([\d.]+)/ },
  { step: "at least three heartbeats", re: /heartbeat: beat n=\d+/, count: 3 },
  { step: "metabolic worker ready", re: /metabolic: metabolic worker ready generation=\d+/, ordered: false },
  { step: "live re-exec (the live-reexec service asks over the control socket): new image resumes", re: /reexec: resuming after re-exec generation=1 /, ordered: false },
  { step: "live re-exec: the running service is adopted by the new image", re: /supervisor: service adopted service=live-reexec pid=\d+/, ordered: false },
  { step: "live re-exec: the beat goes on in the new image", re: /heartbeat: first heartbeat n=\d+/, count: 2, ordered: false },
  { step: "guest driver started", re: /supervisor: service (started|adopted) service=smoke-guest pid=\d+/, ordered: false },
  { step: "the burner burns", re: /smoke-burner: burning pid=\d+/, ordered: false },
  { step: "cpu_pressure raised with the throttle action", re: /interrupt: interrupt raised interrupt=cpu_pressure .*action=throttle/, ordered: false },
  { step: "throttle dispatched to the burner", re: /interrupt: action interrupt=cpu_pressure action=throttle service=burner ok=true/, ordered: false },
  { step: "throttle applied by the metabolic worker", re: /interrupt: action interrupt=- action="?throttle done by worker"? service=burner ok=true/, ordered: false },
  // cgroup v2 (the pre-init mounts a pure one): each service in its own, limits enforced by the kernel.
  { step: "services get cgroups with the memory, pids and cpu controllers", re: /cgroup: services get cgroups dir=\/sys\/fs\/cgroup\/vector-boot controllers=(?=\S*memory)(?=\S*pids)(?=\S*cpu)/, ordered: false },
  { step: `pids_max ${PIDS_MAX}: the limits service's fork is refused after ${PIDS_MAX - 1} children`, re: new RegExp(`smoke-limits: forked ${PIDS_MAX - 1} of 16 \\(Resource temporarily unavailable\\)`), ordered: false },
  { step: `memory_max ${MEMORY_MAX_MIB}M: the limits service is killed before it touches ${MEMORY_MAX_MIB} MiB`, re: /supervisor: service exited; restart=never, staying down service=limits signal=9/, ordered: false },
  { step: "guest driver finished", re: /smoke: done \{/, ordered: false },
  { step: "shutdown requested by the guest driver (control socket)", re: /shutdown: phase shutdown reason="?control socket: poweroff"? mode=poweroff/ },
  { step: "init powers off", re: /shutdown: poweroff now/ },
  { step: "kernel powered down", re: /reboot: Power down/ },
];
/** Lines that fail the run wherever they appear. */
const FORBIDDEN = [/metabolic worker (crashed|exited|stalled)/, /cannot start the metabolic worker/, /boot failed/, /smoke-limits: touched (3[2-9]|[4-9]\d|\d{3}) MiB/, /cgroup controller "\w+" is not available/];

const { values: opt } = parseArgs({
  options: {
    timeout: { type: "string", default: "300" },
    "shutdown-after": { type: "string", default: "240" },
    model: { type: "string" },
    compress: { type: "string", default: COMPRESSIONS[0] },
    "keep-log": { type: "string" },
    "verbose-kernel": { type: "boolean", default: false },
  },
});
const timeoutS = Number(opt.timeout);
const shutdownAfter = Number(opt["shutdown-after"]);
if (!(timeoutS > 0) || !(shutdownAfter > 0)) die(say, "--timeout and --shutdown-after must be positive numbers of seconds");
const compression = opt.compress as Compression;
if (!COMPRESSIONS.includes(compression)) die(say, `--compress must be one of ${COMPRESSIONS.join(", ")}`);

mkdirSync(qemuDir, { recursive: true });
const qemu = ensureQemu(say);
const kernel = ensureKernel(say).vmlinuz;
const exe = await prepareExecutable(say, opt.model);
const burner = join(qemuDir, "smoke-burner");
sh(say, ["gcc", "-O2", "-Wall", "-static", "-s", "-o", burner, join(root, "scripts/smoke-burner.c")], "gcc scripts/smoke-burner.c");
const limits = join(qemuDir, "smoke-limits");
sh(say, ["gcc", "-O2", "-Wall", "-static", "-s", "-o", limits, join(root, "scripts/smoke-limits.c")], "gcc scripts/smoke-limits.c");
const config = join(qemuDir, "config.json");
writeFileSync(
  config,
  `${JSON.stringify(
    {
      heartbeat_ms: HEARTBEAT_MS,
      heartbeat: { sample_ms: SAMPLE_MS, smoothing_ms: SMOOTHING_MS, interrupts: { cpu_pressure: THROTTLE } },
      services: [
        // vector-boot itself checking its embedded model; its output on the console shows it ran.
        { name: "smoke-verify", argv: ["/sbin/vector-boot", "verify", "/sbin/vector-boot"], restart: "never" },
        // Asks PID 1 for one live re-exec through the control socket (waits for the boot to finish).
        { name: "live-reexec", argv: ["/sbin/vector-boot", "reexec"], restart: "never" },
        // Idle until the guest driver sends SIGUSR1, then spins: the target of the cpu_pressure throttle.
        // Its exec health probe runs in its cgroup every 200 ms while it is throttled: each one rewrote the
        // service's limits, cpu.max too, and lifted a cpu.max throttle (the throttled share check below fails).
        { name: "burner", argv: [BURNER], restart: "never", health: { probe: { exec: [BURNER, "--probe"] }, interval_ms: 200, timeout_ms: 5000, failures: 1000 } },
        // The guest driver (scripts/smoke-guest.ts): status, mutation, burn test, then power-off.
        { name: "smoke-guest", argv: ["/sbin/vector-boot", GUEST], env: { BUN_BE_BUN: "1" }, restart: "never" },
        // Forks and allocates until its cgroup's pids.max and memory.max stop it (scripts/smoke-limits.c).
        { name: "limits", argv: [LIMITS], restart: "never", pids_max: PIDS_MAX, memory_max: `${MEMORY_MAX_MIB}M` },
      ],
    },
    null,
    2,
  )}\n`,
);
const t0 = performance.now();
const image = buildInitramfs({
  ...imageBase(exe, config, say),
  files: [
    { src: join(root, "scripts/smoke-guest.ts"), dest: GUEST },
    { src: burner, dest: BURNER },
    { src: limits, dest: LIMITS },
  ],
  compression,
});
const initrd = join(qemuDir, `initramfs.cpio${COMPRESSION_SUFFIX[compression]}`);
writeFileSync(initrd, image.bytes);
say(`initramfs ${initrd}: ${image.bytes.length} bytes in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// Boot. Bun needs SSE4.2/AVX2-class instructions: "-cpu max" gives them under TCG (the default qemu64 CPU traps).
// vector.shutdown_after is only a fallback: the guest driver powers off when it is done.
const cmdline = [
  ...applianceCmdline(opt["verbose-kernel"]),
  `vector.shutdown_after=${shutdownAfter}`,
  "vector.heartbeat_log_every=10",
  `vbtest.after_delay_ms=${AFTER_DELAY_MS}`,
  `vbtest.after_ms=${AFTER_MS}`,
];
const boot = await bootQemu({ say, qemu, kernel, initrd, cmdline, timeoutS, memMib: MEM_MIB, smp: SMP });
const { text, wallS } = boot;
if (opt["keep-log"]) writeFileSync(opt["keep-log"], text);
const lines = text.split("\n");

/** Fails the run: the console log, the step, exit 1. */
function fail(step: string): never {
  printConsole(text);
  die(say, `FAILED at step: ${step}`);
}
const ok = (cond: boolean, step: string, detail: string) => {
  if (!cond) fail(`${step}: ${detail}`);
  say(`ok       ${step}: ${detail}`);
};

// 1. The console.
const checked = runChecks(say, lines, CHECKS);
const ended = bootFailure(boot);
if (checked.failed) fail(`${checked.failed}${ended ? ` (${ended})` : ""}`);
if (ended) fail(ended);
const bad = lines.filter((l) => FORBIDDEN.some((re) => re.test(l)));
ok(bad.length === 0, "no metabolic worker crash (or failed boot) on the console", bad.length === 0 ? "none" : `${bad.length} line(s), first: ${bad[0]!.trim()}`);

// The init gave back its executable's start-up pages (image_trim_ms after the first beat). In the
// appliance the executable lives in the initramfs's tmpfs with no swap: the pages stay in memory but
// leave the init's resident set, except those the other vector-boot processes here (the guest
// driver, the re-exec asker) map too, which the kernel leaves alone (54 -> 47 MiB under Linux 6.1).
// Each image trims once: the first image's trim may come while the re-exec asker is running (a CI
// run: 53.2 -> 50.2 MiB, the check failed at "> 3"; the image after the re-exec, 53.4 -> 45.1), so
// every trim must give pages back and the running image's (the last) more than 3 MiB.
const trims = [...text.matchAll(/init: image trimmed rss_mib_before=([\d.]+) rss_mib_after=([\d.]+)/g)].map((m) => ({ before: Number(m[1]), after: Number(m[2]) }));
const lastTrim = trims[trims.length - 1];
ok(lastTrim !== undefined && lastTrim.before - lastTrim.after > 3 && trims.every((t) => t.after < t.before), "the executable's start-up pages given back (image trimmed)", trims.length > 0 ? trims.map((t) => `RSS ${t.before} -> ${t.after} MiB`).join(", ") : "no `image trimmed` line");

// 2. The guest driver's results: `smoke: STEP {json}` lines, the last readable one of each step.
type Json = Record<string, any>;
const guest = new Map<string, Json>();
for (const line of lines) {
  const m = /^(?:smoke-guest: )?smoke: (\S+) (\{.*\})\s*$/.exec(line); // the init prefixes service output with its name
  if (!m) continue;
  try {
    guest.set(m[1]!, JSON.parse(m[2]!) as Json);
  } catch {
    // a line cut by other console output: that step counts as missing
  }
}
const get = (step: string): Json => guest.get(step) ?? fail(`the guest printed no (readable) \`smoke: ${step}\` line`);
const num = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

const settled = get("settled");
ok(settled.generation === 1, "guest driver ran after the live re-exec", `generation ${settled.generation}, services ${JSON.stringify(settled.services)}`);

// The metabolic worker runs and its samples are real.
function statusOf(step: string): Json {
  const s = get(step);
  ok(s.exit === 0 && s.status?.metabolic, `${step}: \`vector-boot status --json\` answered with heartbeat.metabolic`, `exit ${s.exit} in ${s.ms} ms${s.stderr ? `, stderr ${s.stderr}` : ""}`);
  const m = s.status.metabolic as Json;
  ok(num(m.samples) && m.samples > 0 && m.workerCrashes === 0 && m.running === true, `${step}: metabolic worker running, sampling, never crashed`, `samples ${m.samples}, workerCrashes ${m.workerCrashes}, workerStarts ${m.workerStarts}, running ${m.running}`);
  // PID 1 kept CAP_SYS_NICE through its capability drop: the beats wait and tick in their real-time window.
  ok(s.status.beatFifo === "SCHED_FIFO 1", `${step}: the beat thread's real-time window (heartbeat.beat_fifo_priority)`, `stats.wake.beatFifo ${JSON.stringify(s.status.beatFifo)}`);
  // Its guard thread runs (on the guest's one CPU too) and opens the window when the coarse timer is late.
  ok(typeof s.status.beatGuard === "string" && /^\d+ raises, \d+ beats started, \d+ lowered$/.test(s.status.beatGuard), `${step}: the beat's guard thread runs`, `stats.wake.beatGuard ${JSON.stringify(s.status.beatGuard)}`);
  const ints = s.status.interrupts as unknown;
  ok(Array.isArray(ints) && ints.length > 0 && ints.every((i) => Array.isArray(i) && typeof i[0] === "string" && num(i[1])) && ints.some((i) => i[0] === "cpu_pressure"), `${step}: each interrupt's raised count`, JSON.stringify(ints));
  return s.status;
}
const st1 = statusOf("status-1");
const sample = st1.metabolic.sample as Json | null;
const memTotal = sample?.["mem.total_mib"];
const cpuCount = sample?.["cpu.count"];
ok(num(memTotal) && Math.abs(memTotal - MEM_MIB) <= 0.05 * MEM_MIB, "sampled memory total within 5 % of QEMU's -m", `mem.total_mib ${memTotal} vs -m ${MEM_MIB} (${num(memTotal) ? ((100 * (memTotal - MEM_MIB)) / MEM_MIB).toFixed(1) : "?"} %)`);
ok(cpuCount === SMP, "sampled CPU count equals QEMU's -smp", `cpu.count ${cpuCount} vs -smp ${SMP}`);

// A mutation submitted inside the VM is acknowledged and changes the pixel result of the running weights.
const mut = get("mutate");
ok(mut.exit === 0 && mut.result?.statusName === "ACCEPTED" && num(mut.result?.journalSeq) && mut.result.journalSeq >= 1, "mutation acknowledged (vector-boot mutate in the guest)", `${MUTATION.tensor}[${MUTATION.offset}] = ${MUTATION.value}: exit ${mut.exit}, ${JSON.stringify(mut.result)}${mut.stderr ? `, stderr ${mut.stderr}` : ""}`);
const before = get("pixels-before").output as unknown;
const after = get("pixels-after").output as unknown;
const outputs = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every(num);
ok(outputs(before) && outputs(after) && before.length === after.length, "live pixel result read before and after (control socket)", `${JSON.stringify(get("pixels-before"))} / ${JSON.stringify(get("pixels-after"))}`);
const moved = (before as number[]).map((b, i) => Math.abs((after as number[])[i]! - b)).reduce((a, b) => Math.max(a, b), 0);
ok(moved > 1e-4, "the mutation changed the live pixel result", `output[${MUTATION.offset}] ${(before as number[])[MUTATION.offset]} -> ${(after as number[])[MUTATION.offset]}; largest change ${moved.toPrecision(3)}`);

// A service that burns CPU raises cpu_pressure within 10 s, and the throttle reaches it.
const quiet = get("quiet");
ok(num(quiet.pid) && quiet.ready === true, "burner running and waiting for its start signal", `pid ${quiet.pid}, waiting for SIGUSR1 (its ready file) ${quiet.ready}`);
ok(quiet.quiet === true, "machine quiet before the burn (cpu_pressure clear, psi.cpu.some_avg10 < 0.2, nothing throttled)", `after ${quiet.waitedMs} ms: ${JSON.stringify(quiet.cpuPressure)}, throttled ${JSON.stringify(quiet.throttled)}, sample ${JSON.stringify(quiet.sample)}; CPU users meanwhile ${JSON.stringify(quiet.load)}`);
const burn = get("burn");
// The init's console stamps and the guest's trigger stamp are both seconds since boot (/proc/uptime, 10 ms steps).
const trigger: number = num(burn.triggerUptime) ? burn.triggerUptime : fail(`the guest driver never started the burner: ${JSON.stringify(burn)}`);
say(`ok       the guest driver started the burner: at ${trigger} s since boot (pid ${burn.pid})`);
const stampedAfter = (re: RegExp): { at: number; line: string } | null => {
  for (const l of lines) {
    const m = /^\[\s*([\d.]+)\]/.exec(l);
    if (m && Number(m[1]) >= trigger - 0.02 && re.test(l)) return { at: Number(m[1]), line: l.trim() };
  }
  return null;
};
const raised = stampedAfter(/interrupt: interrupt raised interrupt=cpu_pressure .*action=throttle/);
const dispatched = stampedAfter(new RegExp(`interrupt: action interrupt=cpu_pressure action=throttle service=burner ok=true detail="pid ${burn.pid} `));
const applied = stampedAfter(new RegExp(`action="?throttle done by worker"? service=burner ok=true detail="pid ${burn.pid}: `));
const latencyMs = raised ? Math.round((raised.at - trigger) * 1000) : NaN;
ok(raised !== null && latencyMs <= RAISE_WITHIN_MS, `cpu_pressure raised within ${RAISE_WITHIN_MS / 1000} s of the burner starting (console)`, raised ? `${latencyMs} ms: ${raised.line}` : "no `interrupt raised interrupt=cpu_pressure` line after the start");
ok(num(burn.raisedAfter) && burn.raisedAfter > burn.raisedBefore, "status counted it", `cpu_pressure raised ${burn.raisedBefore} -> ${burn.raisedAfter} (status before the start and after the throttled window)`);
ok(dispatched !== null && applied !== null, "the throttle action was dispatched to the burner's pid and applied by the metabolic worker", `${dispatched ? Math.round((dispatched.at - trigger) * 1000) : "?"} / ${applied ? Math.round((applied.at - trigger) * 1000) : "?"} ms after the start: ${applied?.line ?? dispatched?.line ?? "no action line"}`);
ok(num(burn.stoppedMs) && burn.stillThrottled === true, "the throttle reached the burner (cpu.max of its cgroup, or stopped by the duty cycle) and held", `first seen throttled (${burn.how}) ${burn.stoppedMs} ms after the start, stopped in ${burn.stoppedReads} of ${burn.reads} reads since; still throttled at the end: ${burn.stillThrottled}`);

// The burner's CPU share, from the guest's readings (every 50-100 ms: [ms since the start, utime+stime ticks, ms on CPU
// from schedstat or -1, state, machine idle ticks]) cut at the console's stamps: unthrottled from the start to the
// throttle's dispatch, throttled from AFTER_DELAY_MS after the worker applied it, over AFTER_MS.
type Reading = [number, number, number, string, number];
const series = (get("burn-series").series as unknown[]).filter((r): r is Reading => Array.isArray(r) && r.length === 5 && num(r[0]) && num(r[1]) && num(r[2]) && num(r[4]));
const dispatchMs = (dispatched!.at - trigger) * 1000;
const appliedMs = (applied!.at - trigger) * 1000;
const r0 = series[0];
const r1 = series.filter((r) => r[0] <= dispatchMs - 20).at(-1);
const a0 = series.find((r) => r[0] >= appliedMs + AFTER_DELAY_MS);
const a1 = a0 && series.find((r) => r[0] >= a0[0] + AFTER_MS);
if (!r0 || !r1 || r1 === r0 || !a0 || !a1) fail(`the guest's readings do not cover both windows (throttle dispatched ${dispatchMs.toFixed(0)} ms, applied ${appliedMs.toFixed(0)} ms after the start): ${JSON.stringify(series)}`);
/** CPU time of the burner (schedstat when the kernel has it, else 10 ms ticks), its share of the window, and of the CPU left idle by everything else. */
const windowOf = (x: Reading, y: Reading) => {
  const ms = y[0] - x[0];
  const burnerMs = x[2] >= 0 && y[2] >= 0 ? y[2] - x[2] : (y[1] - x[1]) * (1000 / 100);
  const idleMs = (y[4] - x[4]) * (1000 / 100);
  return { ms, burnerMs: Math.round(burnerMs), idleMs, share: +(burnerMs / ms).toFixed(3), spare: +(burnerMs / (burnerMs + idleMs)).toFixed(3) };
};
const b = windowOf(r0, r1);
const a = windowOf(a0, a1);
const describe = (w: ReturnType<typeof windowOf>) => `${w.share} of the CPU (${w.burnerMs} ms in ${w.ms} ms; ${w.spare} of what the rest left, idle ${w.idleMs} ms)`;
ok(b.ms >= MIN_BEFORE_MS, "the unthrottled window is long enough to measure", `${b.ms} ms (at least ${MIN_BEFORE_MS})`);
// Unthrottled, the burner takes all the CPU the init and the driver leave (the machine is never idle); throttled it
// runs `duty` of each period (slack: TCG timers are late), at most MAX_DROP_RATIO of its unthrottled share, and the
// CPU goes idle meanwhile. (The init's own share grows when the host is loaded: the share of the spare CPU does not.)
ok(b.spare >= 0.8, "unthrottled, the burner takes all the CPU the rest leaves", describe(b));
ok(a.share <= THROTTLE.duty + 0.1 && a.share <= MAX_DROP_RATIO * b.share && a.spare <= 0.6, "the burner's CPU share dropped under the throttle", `${describe(b)} -> ${describe(a)}; duty ${THROTTLE.duty}; CPU users over both ${JSON.stringify(burn.load)}`);

// status --json keeps reporting: samples went on, still no crash, the interrupt counted.
const st2 = statusOf("status-2");
ok(st2.metabolic.samples > st1.metabolic.samples, "samples went on between the two status calls", `${st1.metabolic.samples} -> ${st2.metabolic.samples}`);
const cp2 = (st2.interrupts as Array<[string, number, boolean]>).find((i) => i[0] === "cpu_pressure");
// (A count that only grows, compared with a null raisedAfter, could not fail: the count itself is checked.)
ok(cp2 !== undefined && num(cp2[1]) && num(burn.raisedAfter) && cp2[1] >= burn.raisedAfter && cp2[1] >= 1, "status reports cpu_pressure's raised count", `raised ${cp2?.[1]} (${burn.raisedAfter} after the burn)`);
// The throttle is undone: the burner, stopped through the control socket, is released (its cpu.max restored or
// SIGCONT) as it stops, and is throttled no more.
const stopped = get("burner-stopped");
ok(stopped.ok === true, "the burner stopped through the control socket", JSON.stringify(stopped));
const released = stampedAfter(/throttle released: .* service=burner /);
ok(released !== null && Array.isArray(st2.metabolic.throttled) && !st2.metabolic.throttled.includes("burner"), "the throttle was released when the burner stopped", `${released?.line ?? "no `throttle released` line for the burner"}; throttled at the end ${JSON.stringify(st2.metabolic.throttled)}`);

// Boot timings the init and the pre-init log.
const stamp = (re: RegExp) => {
  const l = lines.find((x) => re.test(x));
  const m = l && /^\[\s*([\d.]+)\]/.exec(l);
  return m ? Number(m[1]) : null;
};
const preinitAt = stamp(/pre-init: started/);
const execAt = stamp(/pre-init: mounted/);
const first = /first heartbeat .*since_kernel_ms=([\d.]+) .*since_exec_ms=([\d.]+)/.exec(text);
// The pre-init's exec stamp and the init's since_kernel_ms are both CLOCK_BOOTTIME: their difference is exec -> first beat.
const execToBeat = first && execAt !== null ? (Number(first[1]) - execAt * 1000).toFixed(1) : "?";
const powerAt = stamp(/reboot: Power down/);
say(
  `timings: kernel -> pre-init ${preinitAt ?? "?"} s; pre-init -> exec ${preinitAt !== null && execAt !== null ? ((execAt - preinitAt) * 1000).toFixed(1) : "?"} ms; ` +
    `first heartbeat ${first ? `${first[1]} ms after kernel start (init says ${first[2]} ms after exec; from the pre-init's exec stamp: ${execToBeat} ms)` : "?"}; ` +
    `guest driver done ${get("done").atMs} ms after it started; power down at ${powerAt ?? "?"} s; QEMU wall time ${wallS.toFixed(1)} s`,
);
say("passed");
