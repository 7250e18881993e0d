// Re-exec downtime: last beat before a live re-exec to the first beat after it, as PID 1; 10 runs in one boot.
import { mkdtempSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const exe = join(root, "dist/vector-boot");
mkdirSync(join(root, ".cache/bench"), { recursive: true });
const dir = mkdtempSync(join(root, ".cache/bench/reexec-"));
const period = 10;
const proc = Bun.spawn(["unshare", "--pid", "--fork", "--mount-proc", exe, "boot", "--set", `state_dir=${dir}/state`, "--set", `run_dir=${dir}/run`, "--set", `heartbeat_ms=${period}`, "--set", "heartbeat_log_every=1"], {
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
console.log("(the preflight of the new image runs before the beat stops; downtime = exec, Bun start-up, model map + validation + pixel test, journal recovery, first beat)");
