// Service logs benchmark: heartbeat lateness p99 with a service writing flat out through its log pipe vs the same heartbeat without it (same run); the pipe's throughput.
import { validateConfig, startOrder } from "../src/config/load.ts";
import { Heartbeat } from "../src/heartbeat/heartbeat.ts";
import { Reaper } from "../src/init/reaper.ts";
import { setLogLevel } from "../src/log.ts";
import { Supervisor } from "../src/supervisor/supervisor.ts";

setLogLevel("warn");
const quick = process.argv.includes("--quick");
const durationMs = quick ? 3000 : 10_000;
const periodMs = 10;
/** The acceptance bound (issue 13 §3): the writer moves p99 by at most this much. */
const BOUND_MS = 1;

function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)]!;
}

async function beats(): Promise<number> {
  const late: number[] = [];
  const hb = new Heartbeat({ periodMs, model: null, config: { watchdog: false }, drain: () => 0, onBeat: (b) => late.push(b.lateMs) });
  hb.start();
  const n = Math.round(durationMs / periodMs);
  while (late.length < n) await Bun.sleep(50);
  await hb.stop();
  return p99(late.slice(5));
}

const reaper = new Reaper().start(100);
// 100-byte lines, as fast as `yes` writes them; kept in the ring only (log_console off: the terminal would be the bottleneck).
const line = "x".repeat(99);
const config = validateConfig({ services: [{ name: "flood", argv: ["yes", line], log_console: false }] });

const reference = await beats();
const sup = new Supervisor(config.services, startOrder(config), reaper, process.env, { logs: { fileDir: null, kmsg: false } });
sup.startAll();
await Bun.sleep(200);
const before = sup.logLines("flood", 0, 1)!.next;
const t0 = performance.now();
const loaded = await beats();
const lines = sup.logLines("flood", 0, 1)!.next - before;
const secs = (performance.now() - t0) / 1000;
await sup.stopAll();
reaper.stop();

if (!(reference > 0)) throw new Error("no reference measurement (heartbeat without the writer)");
const delta = loaded - reference;
console.log(`## heartbeat lateness p99 at ${periodMs} ms, ${durationMs / 1000} s per run (no model: the beat itself, not the cortex)`);
console.log(`  without the writer (reference) ${reference.toFixed(3)} ms`);
console.log(`  with a service writing flat out ${loaded.toFixed(3)} ms   ratio ${(loaded / reference).toFixed(2)}   delta ${delta.toFixed(3)} ms (bound ${BOUND_MS} ms)`);
console.log(`## log pipe throughput: ${Math.round(lines / secs)} lines/s, ${((lines * 100) / secs / 1e6).toFixed(1)} MB/s read by PID 1 into the ring`);
if (delta > BOUND_MS) {
  console.log(`OVER: the writer moved p99 by ${delta.toFixed(3)} ms`);
  process.exit(1);
}
