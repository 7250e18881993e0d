// Re-exec downtime: last beat before a live re-exec to the first beat after it, as PID 1; 10 runs in one boot; reference: cold start of the same image to its first beat, same run.
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const exe = join(root, "dist/vector-boot");
mkdirSync(join(root, ".cache/bench"), { recursive: true });
const dir = mkdtempSync(join(root, ".cache/bench/reexec-"));
const period = 10;
const bootArgs = (d: string) => ["boot", "--set", `state_dir=${d}/state`, "--set", `run_dir=${d}/run`, "--set", `heartbeat_ms=${period}`, "--set", "heartbeat_log_every=1"];

/** Reference: exec of the same image as PID 1 (new PID namespace) to its "first heartbeat" line (wall clock, includes unshare). */
async function coldStart(k: number): Promise<number> {
  const d = mkdtempSync(join(root, `.cache/bench/reexec-cold-${k}-`));
  const t0 = Bun.nanoseconds();
  const p = Bun.spawn(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child=SIGTERM", exe, ...bootArgs(d)], { stdout: "ignore", stderr: "pipe", env: { ...process.env, JSC_SIGNAL_FOR_GC: "40" } });
  let buf = "";
  let ms = -1;
  const dec = new TextDecoder();
  const timer = setTimeout(() => p.kill("SIGKILL"), 30_000);
  for await (const c of p.stderr) {
    buf += dec.decode(c, { stream: true });
    if (ms < 0 && buf.includes("first heartbeat")) {
      ms = (Bun.nanoseconds() - t0) / 1e6;
      p.kill("SIGTERM");
    }
  }
  await p.exited;
  clearTimeout(timer);
  rmSync(d, { recursive: true, force: true });
  if (ms < 0) throw new Error(`cold start: no first heartbeat; stderr:\n${buf}`);
  return ms;
}
const proc = Bun.spawn(["unshare", "--pid", "--fork", "--mount-proc", exe, ...bootArgs(dir)], {
  stdout: "ignore",
  stderr: "pipe",
  env: { ...process.env, JSC_SIGNAL_FOR_GC: "40" },
});
let log = "";
void (async () => {
  const dec = new TextDecoder();
  for await (const c of proc.stderr) log += dec.decode(c, { stream: true });
})();
const until = async (cond: () => boolean, ms: number, what: string) => {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out: ${what}`);
    await Bun.sleep(5);
  }
};
function childOf(pid: number): number {
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const s = readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim();
    if (s) return Number(s.split(/\s+/)[0]);
  }
  throw new Error("no init");
}
await until(() => log.includes("control socket listening"), 15_000, "boot");
const init = childOf(proc.pid);
const ts = (line: string) => Number(/^\[\s*([\d.]+)\]/.exec(line)![1]) * 1000;
const downtimes: number[] = [];
for (let i = 1; i <= 10; i++) {
  await Bun.sleep(200);
  const from = log.length;
  process.kill(init, "SIGHUP");
  await until(() => /first heartbeat/.test(log.slice(log.indexOf(`resuming after re-exec generation=${i} `) >>> 0)) && log.includes(`resuming after re-exec generation=${i} `), 10_000, `re-exec ${i}`);
  const lines = log.slice(from).split("\n");
  const execAt = lines.findIndex((l) => l.includes("reexec: exec "));
  const lastBefore = lines.slice(0, execAt).filter((l) => l.includes("heartbeat: beat n=")).at(-1) ?? lines[execAt]!;
  const firstAfter = lines.find((l, k) => k > execAt && l.includes("first heartbeat"))!;
  downtimes.push(ts(firstAfter) - ts(lastBefore));
}
process.kill(init, "SIGTERM");
await proc.exited;
const sorted = [...downtimes].sort((a, b) => a - b);
const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
console.log(`## live re-exec downtime (last beat before -> first beat after), ${downtimes.length} re-execs as PID 1, period ${period} ms`);
console.log(`p50 ${p(0.5).toFixed(1)} ms  p90 ${p(0.9).toFixed(1)} ms  max ${sorted.at(-1)!.toFixed(1)} ms  = ${(p(0.5) / period).toFixed(1)} periods (reference: the beat period)`);
const colds: number[] = [];
for (let k = 0; k < 5; k++) colds.push(await coldStart(k));
const cold = [...colds].sort((a, b) => a - b)[2]!;
console.log(`reference, same run: cold start of the same image as PID 1 to its first beat, median of 5: ${cold.toFixed(1)} ms`);
console.log(`ratio re-exec downtime p50 / cold start to first beat: ${(p(0.5) / cold).toFixed(2)}`);
console.log("(the preflight of the new image runs before the beat stops; downtime = exec, Bun start-up, model map + validation + pixel test, journal recovery, first beat)");
