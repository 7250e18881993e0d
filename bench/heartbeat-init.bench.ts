// The real init's beat lateness under load: the shipped executable booted as root, with the C clock_nanosleep loop (plain and SCHED_FIFO 1) running beside it in the same seconds.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { controlRequest } from "../src/control/client.ts";

const root = resolve(import.meta.dir, "..");
const built = join(root, "dist/vector-boot");
if (!existsSync(built)) throw new Error("bench: dist/vector-boot missing (bun scripts/build.ts)");
if (process.getuid?.() !== 0) throw new Error("bench: needs root (the init's real-time window and `chrt -f 1` for the reference); no figures without them");
const outDir = join(root, ".cache/bench");
mkdirSync(outDir, { recursive: true });
const ref = join(outDir, "heartbeat-ref");
const cc = Bun.spawnSync(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", ref, join(root, "bench/c/heartbeat-ref.c")], { stderr: "inherit" });
if (cc.exitCode !== 0) throw new Error("gcc failed on bench/c/heartbeat-ref.c");

// Run as shipped: a copy outside the checkout (the executable carries its model, workers and shim).
const scratch = mkdtempSync(join(process.env.VB_BENCH_DIR ?? tmpdir(), "vb-hb-init-"));
const exe = join(scratch, "vector-boot");
copyFileSync(built, exe);
Bun.spawnSync(["chmod", "755", exe]);

const quick = process.argv.includes("--quick");
const rounds = quick ? 1 : 3;
const variants: [string, object][] = [
  ["init (default: window + guard thread)", {}],
  ["init, beat_fifo_priority 0 (SCHED_OTHER)", { heartbeat: { beat_fifo_priority: 0 } }],
];

const live = new Set<{ kill(sig?: number): void }>();
const killAll = () => {
  for (const p of live) p.kill(9);
  live.clear();
};
process.on("exit", killAll);

/** One CPU hog with allocation churn per core (as in bench/heartbeat.bench.ts). */
function startLoad(): () => void {
  const hog = "let keep = []; for (;;) { const a = new Array(20000); for (let i = 0; i < a.length; i++) a[i] = { i, s: 'x' + i }; keep.push(a); if (keep.length > 50) keep = []; }";
  const procs = Array.from({ length: navigator.hardwareConcurrency }, () => Bun.spawn([process.execPath, "-e", hog], { stdout: "ignore", stderr: "ignore" }));
  procs.forEach((p) => live.add(p));
  return () => procs.forEach((p) => (p.kill(9), live.delete(p)));
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
}

type HbStats = { heartbeat: { beats: number; latenessRecentMs: number[]; wake: { beatFifo: string | null; beatGuard: string | null } } };

/** Boots the init, waits a second, then samples its beats while the C loops run beside it; all under the caller's load. */
async function measure(periodMs: number, extra: object) {
  const dir = mkdtempSync(join(scratch, "run-"));
  const cfg = join(dir, "config.json");
  const beats = Math.round((periodMs >= 100 ? 10_000 : 5_000) / periodMs);
  writeFileSync(cfg, JSON.stringify({ state_dir: join(dir, "state"), run_dir: join(dir, "run"), heartbeat_ms: periodMs, heartbeat_log_every: 0, evolution: { checkpoint_every_s: 0 }, ...extra }));
  const init = Bun.spawn([exe, "boot", "--config", cfg], { cwd: scratch, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  live.add(init);
  let log = "";
  void (async () => {
    for await (const c of init.stderr) log += new TextDecoder().decode(c);
  })();
  try {
    const ctl = join(dir, "run/control");
    const until = Date.now() + 30_000;
    while (!existsSync(ctl)) {
      if (Date.now() > until || init.exitCode !== null) throw new Error(`the init did not come up:\n${log}`);
      await Bun.sleep(20);
    }
    await Bun.sleep(1000);
    const stats = async () => (await controlRequest({ op: "stats" }, { path: ctl })) as HbStats;
    const from = (await stats()).heartbeat.beats;
    const seen = new Map<number, number>();
    let polling = true;
    let last: HbStats | null = null;
    // The newest 64 beats every ~30 periods: every beat is seen at least once.
    const poll = (async () => {
      while (polling) {
        last = await stats();
        const h = last.heartbeat;
        h.latenessRecentMs.forEach((x, i) => {
          const n = h.beats - h.latenessRecentMs.length + 1 + i;
          if (n > from) seen.set(n, x);
        });
        await Bun.sleep(Math.min(periodMs * 30, 500));
      }
    })();
    const c = (fifo: boolean) => {
      const p = Bun.spawn([...(fifo ? ["chrt", "-f", "1"] : []), ref, String(periodMs), String(beats), "raw"], { stdout: "pipe", stderr: "pipe" });
      live.add(p);
      return Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]).then(([out, err, code]) => {
        live.delete(p);
        if (code !== 0) throw new Error(`heartbeat-ref${fifo ? " under chrt -f 1" : ""} failed (${code}): ${err.trim()}`);
        return out.trim().split(/\s+/).map(Number);
      });
    };
    const [cOther, cFifo] = await Promise.all([c(false), c(true)]);
    await Bun.sleep(periodMs * 2);
    polling = false;
    await poll;
    const wake = (last as HbStats | null)?.heartbeat.wake ?? null;
    return { init: [...seen.values()], cOther, cFifo, wake };
  } finally {
    init.kill(9);
    await init.exited;
    live.delete(init);
    rmSync(dir, { recursive: true, force: true });
  }
}

const f = (x: number) => x.toFixed(3).padStart(7);
console.log(`## the shipped init's beat lateness under load (one allocating spinner per core), ${rounds} rounds, the variants interleaved; the C loops run beside each init in the same seconds`);
const pooled = new Map<string, { init: number[]; cOther: number[]; cFifo: number[] }>();
const stopLoad = startLoad();
try {
  await Bun.sleep(500);
  for (let round = 0; round < rounds; round++) {
    for (const periodMs of [100, 10]) {
      for (const [name, extra] of variants) {
        const m = await measure(periodMs, extra);
        if (m.init.length === 0 || m.cOther.length === 0 || m.cFifo.length === 0) throw new Error(`${name} ${periodMs} ms: no samples (init ${m.init.length}, C ${m.cOther.length}, C SCHED_FIFO ${m.cFifo.length}): no ratio`);
        if (name.includes("default") && m.wake?.beatFifo !== "SCHED_FIFO 1") throw new Error(`${name}: the window is ${JSON.stringify(m.wake?.beatFifo)}, not SCHED_FIFO 1`);
        const key = `${periodMs} ms | ${name}`;
        const p = pooled.get(key) ?? { init: [], cOther: [], cFifo: [] };
        p.init.push(...m.init);
        p.cOther.push(...m.cOther);
        p.cFifo.push(...m.cFifo);
        pooled.set(key, p);
        console.log(`  round ${round} ${String(periodMs).padStart(3)} ms ${name.padEnd(42)} init p99 ${f(percentile(m.init, 0.99))} (n ${m.init.length}, guard ${m.wake?.beatGuard ?? "-"})  C p99 ${f(percentile(m.cOther, 0.99))}  C SCHED_FIFO 1 p99 ${f(percentile(m.cFifo, 0.99))} ms  ratio ${(percentile(m.init, 0.99) / Math.max(percentile(m.cOther, 0.99), 1e-3)).toFixed(2)}`);
      }
    }
  }
} finally {
  stopLoad();
  killAll();
  rmSync(scratch, { recursive: true, force: true });
}
console.log("## summary (all rounds pooled; p50 / p99 / max in ms)");
for (const [key, p] of pooled) {
  const s = (xs: number[]) => `${f(percentile(xs, 0.5))} / ${f(percentile(xs, 0.99))} / ${f(percentile(xs, 1))}`;
  console.log(`  ${key}: init ${s(p.init)}   C ${s(p.cOther)}   C SCHED_FIFO 1 ${s(p.cFifo)}`);
  console.log(`    ratio real init p99 / C p99 = ${(percentile(p.init, 0.99) / Math.max(percentile(p.cOther, 0.99), 1e-3)).toFixed(2)}; / C SCHED_FIFO 1 p99 = ${(percentile(p.init, 0.99) / Math.max(percentile(p.cFifo, 0.99), 1e-3)).toFixed(2)}`);
}
process.exit(0);
