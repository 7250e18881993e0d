// Heartbeat benchmark: beat lateness p50/p99/max at 100 and 10 ms, idle and loaded, interleaved with a C clock_nanosleep loop in the same conditions.
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { Heartbeat } from "../src/heartbeat/heartbeat.ts";
import type { CortexModel } from "../src/heartbeat/cortex-adapter.ts";
import { ProcSampler } from "../src/heartbeat/proc-sampler.ts";
import { NeuralRuntime } from "../src/neural/runtime.ts";
import { setLogLevel } from "../src/log.ts";

const root = resolve(import.meta.dir, "..");
const outDir = join(root, ".cache/bench");
mkdirSync(outDir, { recursive: true });
const ref = join(outDir, "heartbeat-ref");
const cc = Bun.spawnSync(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", ref, join(root, "bench/c/heartbeat-ref.c")], { stderr: "inherit" });
if (cc.exitCode !== 0) throw new Error("gcc failed on bench/c/heartbeat-ref.c");
setLogLevel("warn");

const quick = process.argv.includes("--quick");
const durationMs = quick ? 3000 : 10_000;

interface Lateness {
  p50: number;
  p99: number;
  max: number;
  min: number;
}

function summarize(xs: number[]): Lateness {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  return { p50: at(0.5), p99: at(0.99), max: s[s.length - 1]!, min: s[0]! };
}

/** What a plain loop does: setTimeout to the absolute due time (no guard). Min < 0 means early beats. */
async function naive(periodMs: number, beats: number): Promise<Lateness> {
  const late: number[] = [];
  const origin = performance.now();
  for (let n = 1; n <= beats; n++) {
    const due = origin + n * periodMs;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
    late.push(performance.now() - due);
  }
  return summarize(late);
}

async function defaultModel(): Promise<CortexModel | null> {
  const gguf = join(root, "dist/vectorland.gguf");
  if (!existsSync(gguf)) return null;
  const rt = new NeuralRuntime();
  await rt.init(gguf);
  return rt;
}

type Wake = { wake: "futex" | "sleeper"; sleeper_fifo_priority: number; beat_fifo_priority: number };
/** The heartbeat's wake-ups measured, and how each one wakes (printed with the rows). */
const modes: [string, Wake, string][] = [
  ["heartbeat, futex", { wake: "futex", sleeper_fifo_priority: 0, beat_fifo_priority: 0 }, "setTimeout to guard_ms before, then Atomics.wait (futex, timeout) on the beat thread, then spin to the due time"],
  ["heartbeat, futex, beat SCHED_FIFO 1", { wake: "futex", sleeper_fifo_priority: 0, beat_fifo_priority: 1 }, "same, the beat thread SCHED_FIFO 1 from the futex wait through the tick, and from 0.5 ms before the coarse timer is due when that timer is late (its guard thread raises it and wakes the event loop); SCHED_OTHER the rest of the period"],
  ["heartbeat, sleeper", { wake: "sleeper", sleeper_fifo_priority: 0, beat_fifo_priority: 0 }, "setTimeout to guard_ms before, then Atomics.wait until a thread in clock_nanosleep(TIMER_ABSTIME) notifies"],
  ["heartbeat, sleeper SCHED_FIFO 1", { wake: "sleeper", sleeper_fifo_priority: 1, beat_fifo_priority: 0 }, "same, the sleeper thread at SCHED_FIFO priority 1 (the beat thread stays SCHED_OTHER)"],
];

async function heartbeat(periodMs: number, beats: number, model: CortexModel | null, wake: Wake) {
  const late: number[] = [];
  const hb = new Heartbeat({ periodMs, model, config: { watchdog: false, ...wake }, drain: () => 0, onBeat: (b) => late.push(b.lateMs) });
  hb.start();
  while (late.length < beats + 5) await new Promise((r) => setTimeout(r, Math.min(50, periodMs)));
  await hb.stop();
  return { late: late.slice(5, beats + 5), stats: hb.stats() };
}

/** The C loop's lateness samples for one segment (heartbeat-ref ... raw: one per line); `fifo`: under `chrt -f 1`. */
function cSegment(periodMs: number, beats: number, fifo: boolean): number[] {
  const r = Bun.spawnSync([...(fifo ? ["chrt", "-f", "1"] : []), ref, String(periodMs), String(beats), "raw"], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`heartbeat-ref${fifo ? " under chrt -f 1 (needs root)" : ""} failed (${r.exitCode}): ${r.stderr.toString().trim()}`);
  return r.stdout.toString().trim().split(/\s+/).map(Number);
}

/** One CPU hog with allocation churn per core (separate processes, like misbehaving services). */
function startLoad(): () => void {
  const hog = "let keep = []; for (;;) { const a = new Array(20000); for (let i = 0; i < a.length; i++) a[i] = { i, s: 'x' + i }; keep.push(a); if (keep.length > 50) keep = []; }";
  const procs = Array.from({ length: navigator.hardwareConcurrency }, () => Bun.spawn([process.execPath, "-e", hog], { stdout: "ignore", stderr: "ignore" }));
  return () => procs.forEach((p) => p.kill("SIGKILL"));
}

const f = (x: number) => x.toFixed(3).padStart(7);
const row = (name: string, l: Lateness) => console.log(`  ${name.padEnd(34)} p50 ${f(l.p50)}  p99 ${f(l.p99)}  max ${f(l.max)}  min ${f(l.min)} ms`);

const model = await defaultModel();
console.log(`## beat lateness (ms after the due time; negative min = a beat started early), ${durationMs / 1000} s per run`);
console.log(`   vector-boot heartbeat: ${model ? "default model (dist/vectorland.gguf)" : "no model (dist/vectorland.gguf missing)"}, metabolic worker sampling /proc`);
const ratios: string[] = [];
for (const load of ["idle", "loaded"] as const) {
  const stopLoad = load === "loaded" ? startLoad() : () => {};
  if (load === "loaded") await new Promise((r) => setTimeout(r, 500));
  try {
    for (const periodMs of [100, 10]) {
      const beats = Math.round(durationMs / periodMs);
      const rounds = 4;
      const seg = Math.ceil(beats / rounds);
      console.log(`### ${load}, period ${periodMs} ms, ${beats} beats per method in ${rounds} interleaved rounds (C, C SCHED_FIFO, then each heartbeat mode, repeated)`);
      const cLate: number[] = [];
      const cFifoLate: number[] = [];
      const hbLate = modes.map(() => [] as number[]);
      const hbMissed = modes.map(() => 0);
      let last: Awaited<ReturnType<typeof heartbeat>> | null = null;
      for (let round = 0; round < rounds; round++) {
        cLate.push(...cSegment(periodMs, seg, false));
        cFifoLate.push(...cSegment(periodMs, seg, true));
        for (const [i, [, wake]] of modes.entries()) {
          last = await heartbeat(periodMs, seg, model, wake);
          hbLate[i]!.push(...last.late);
          hbMissed[i] = hbMissed[i]! + last.stats.missed;
          const w = last.stats.wake;
          // A mode whose priority was refused measured something else: say so rather than print its row as that mode.
          for (const state of [w.beatFifo, w.fifo]) if (state && /^(refused|kept)/.test(state)) throw new Error(`${modes[i]![0]}: ${state}`);
        }
      }
      if (cLate.length === 0 || cFifoLate.length === 0) throw new Error("no C reference samples: no ratio");
      const c = summarize(cLate);
      const cFifo = summarize(cFifoLate);
      row("C clock_nanosleep(TIMER_ABSTIME)", c);
      row("C, SCHED_FIFO 1 (chrt -f 1)", cFifo);
      for (const [i, [name, wake]] of modes.entries()) {
        const l = summarize(hbLate[i]!);
        row(name, l);
        // A beat more than a period late takes the next slot (its lateness is then counted from that slot): the
        // heartbeat's lateness never exceeds a period, the skipped slots are these misses.
        if (hbMissed[i]! > 0) console.log(`    ${hbMissed[i]} slots missed (beats more than a period late; the C loop has no such rule)`);
        const ratio = l.p99 / Math.max(c.p99, 1e-3);
        ratios.push(`${load} ${periodMs} ms: ${name} p99 / C p99 = ${ratio.toFixed(2)} (${l.p99.toFixed(3)} / ${c.p99.toFixed(3)} ms)`);
        // A real-time mode against the C loop given the same priority, too (the comparison at equal footing).
        if (wake.beat_fifo_priority > 0) ratios.push(`${load} ${periodMs} ms: ${name} p99 / C SCHED_FIFO 1 p99 = ${(l.p99 / Math.max(cFifo.p99, 1e-3)).toFixed(2)} (${l.p99.toFixed(3)} / ${cFifo.p99.toFixed(3)} ms)`);
      }
      const nv = await naive(periodMs, Math.min(beats, 300));
      row("naive setTimeout(due - now)", nv);
      const p = last!.stats.partsMs;
      console.log(`  tick cost mean (ms, last run): read ${p.read.toFixed(4)}  cortex ${p.cortex.toFixed(4)}  dispatch ${p.dispatch.toFixed(4)}  drain ${p.drain.toFixed(4)}  watchdog ${p.watchdog.toFixed(4)}`);
    }
  } finally {
    stopLoad();
  }
}

// Sampling runs in the worker, never in the beat: its cost is what the worker spends per sample.
const sampler = new ProcSampler();
sampler.setServices([{ name: "self", pid: process.pid, state: "running", restarts: 0, throttled: false }]);
const times: number[] = [];
for (let i = 0; i < 50; i++) {
  const t0 = performance.now();
  sampler.sample(t0);
  times.push(performance.now() - t0);
}
const st = summarize(times);
console.log(`## sampling cost (metabolic worker, per sample, ${sampler.filesRead} files): p50 ${st.p50.toFixed(3)} ms, max ${st.max.toFixed(3)} ms`);
console.log("## how each wakes");
console.log("  C clock_nanosleep(TIMER_ABSTIME): a separate process sleeping in clock_nanosleep to the absolute due time");
console.log("  C, SCHED_FIFO 1: the same process started under chrt -f 1");
for (const [name, , how] of modes) console.log(`  ${name}: ${how}`);
console.log("## summary");
for (const r of ratios) console.log(`  ${r}`);
process.exit(0);
