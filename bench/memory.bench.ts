// Memory benchmark: peak RSS of `-- true` and idle RSS of `boot`, each against an empty Bun program measured in the same run.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildFloorProgram } from "./floor-program.ts";
import { median } from "./stats.ts";

const root = resolve(import.meta.dir, "..");
const built = join(root, "dist/vector-boot");
if (!existsSync(built)) throw new Error(`${built} is missing: build it first (bun scripts/build.ts)`);
const outDir = join(root, ".cache/bench");
mkdirSync(outDir, { recursive: true });

// The references. For `-- true`: a program that only exits. For the idle boot, whose shape is a
// main thread and the metabolic Worker both waking every 100 ms: the same shape doing nothing else.
const emptyBuilt = buildFloorProgram(outDir, "empty-bun", { "empty.ts": "process.exit(0);\n" });
const idleBuilt = buildFloorProgram(outDir, "idle-bun", {
  "idle.ts": 'new Worker("./idle-worker.ts");\nsetInterval(() => {}, 100);\n',
  "idle-worker.ts": "setInterval(() => {}, 100);\n",
});

// Every executable is copied to a scratch directory on disk, outside the checkout, just before the
// runs: the same page-cache state for all of them (RSS of a file depends on how it was cached,
// README "Choices"), and vector-boot runs as shipped, away from its source tree.
const scratchRoot = existsSync("/var/tmp") ? "/var/tmp" : tmpdir();
const scratch = mkdtempSync(join(scratchRoot, "vb-memory-bench-"));
const place = (from: string, name: string) => {
  const to = join(scratch, name);
  copyFileSync(from, to);
  return to;
};
const exe = place(built, "vector-boot");
const empty = place(emptyBuilt, "empty-bun");
const idle = place(idleBuilt, "idle-bun");
const env = { ...process.env, TMPDIR: scratch };

const mib = (bytes: number) => bytes / 1048576;

function peakRss(argv: string[]): number {
  const r = Bun.spawnSync(argv, { stdout: "ignore", stderr: "ignore", env });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${r.exitCode}`);
  const max = r.resourceUsage?.maxRSS;
  if (!max) throw new Error(`no rusage for ${argv.join(" ")}`);
  return mib(max);
}

const PEAK_RUNS = 15;
console.log(`## peak RSS (MiB, wait4's ru_maxrss), ${PEAK_RUNS} runs each, interleaved; files written just before`);
const peak = { vb: [] as number[], empty: [] as number[] };
for (let i = 0; i < PEAK_RUNS; i++) {
  peak.vb.push(peakRss([exe, "--", "true"]));
  peak.empty.push(peakRss([empty]));
}
const peakVb = median(peak.vb);
const peakEmpty = median(peak.empty);
console.log(`vector-boot -- true   median ${peakVb.toFixed(1)} MiB (min ${Math.min(...peak.vb).toFixed(1)}, max ${Math.max(...peak.vb).toFixed(1)})`);
console.log(`empty Bun program     median ${peakEmpty.toFixed(1)} MiB (min ${Math.min(...peak.empty).toFixed(1)}, max ${Math.max(...peak.empty).toFixed(1)})`);
console.log(`ratio peak RSS vector-boot -- true / empty Bun program: ${(peakVb / peakEmpty).toFixed(2)}x (issue 14's goal: at most 30 MiB)`);

interface Idle {
  rss: number;
  anon: number;
}

/** RSS and anonymous memory from smaps_rollup `settleMs` after `ready` resolved. */
async function idleRss(argv: string[], readyLine: string | null, settleMs: number): Promise<Idle> {
  const p = Bun.spawn(argv, { stdout: "ignore", stderr: "pipe", env });
  try {
    if (readyLine !== null) {
      let buf = "";
      const dec = new TextDecoder();
      const reader = p.stderr.getReader();
      const deadline = setTimeout(() => p.kill("SIGKILL"), 30_000);
      while (!buf.includes(readyLine)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`${argv.join(" ")} ended before "${readyLine}": ${buf.slice(-400)}`);
        buf += dec.decode(value, { stream: true });
      }
      clearTimeout(deadline);
      void (async () => {
        while (!(await reader.read()).done) {
          /* keep the pipe drained */
        }
      })();
    }
    await Bun.sleep(settleMs);
    if (p.exitCode !== null) throw new Error(`${argv.join(" ")} exited ${p.exitCode} while idle`);
    const s = readFileSync(`/proc/${p.pid}/smaps_rollup`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN);
    return { rss: kb("Rss") / 1024, anon: kb("Anonymous") / 1024 };
  } finally {
    p.kill("SIGTERM");
    await p.exited;
  }
}

const IDLE_RUNS = 5;
const SETTLE_MS = 5000;
console.log(`\n## idle RSS (MiB, smaps_rollup ${SETTLE_MS / 1000} s after the first beat / the start), ${IDLE_RUNS} runs each, interleaved`);
const idleVb: Idle[] = [];
const idleRef: Idle[] = [];
for (let i = 0; i < IDLE_RUNS; i++) {
  idleVb.push(await idleRss([exe, "boot", "--set", "heartbeat_log_every=0"], "first heartbeat", SETTLE_MS));
  idleRef.push(await idleRss([idle], null, SETTLE_MS));
}
rmSync(scratch, { recursive: true, force: true });
const show = (name: string, xs: Idle[]) => {
  const rss = median(xs.map((x) => x.rss));
  const anon = median(xs.map((x) => x.anon));
  console.log(`${name.padEnd(34)} Rss ${rss.toFixed(1)} MiB: anonymous ${anon.toFixed(1)}, file-backed ${(rss - anon).toFixed(1)} (medians)`);
  return { rss, anon };
};
const vb = show("vector-boot boot (default model)", idleVb);
const ref = show("empty Bun program with one Worker", idleRef);
if (!Number.isFinite(ref.rss) || ref.rss <= 0) throw new Error("no reference idle RSS: no ratio");
console.log(`ratio idle RSS vector-boot boot / empty Bun program with one Worker: ${(vb.rss / ref.rss).toFixed(2)}x; anonymous ${(vb.anon / ref.anon).toFixed(2)}x (issue 14's goal: at most 40 MiB)`);
