// PID-1 benchmark: start-up of `X -- true` and orphan-reaping throughput, vector-boot vs tini and dumb-init.
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildFloorProgram } from "./floor-program.ts";
import { percentile } from "./stats.ts";

const root = resolve(import.meta.dir, "..");
const exe = join(root, "dist/vector-boot");
const outDir = join(root, ".cache/bench");
mkdirSync(outDir, { recursive: true });

/** tini and dumb-init are the references: installed from Debian (apt-get update first), or the bench fails. */
function ensurePeers(): void {
  if (existsSync("/usr/bin/tini") && existsSync("/usr/bin/dumb-init")) return;
  console.error("bench: installing tini and dumb-init from Debian's packages");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const u = Bun.spawnSync(["apt-get", "update", "-qq"], { stdout: "ignore", stderr: "inherit", env });
  const i = Bun.spawnSync(["apt-get", "install", "-y", "-qq", "tini", "dumb-init"], { stdout: "ignore", stderr: "inherit", env });
  if (!existsSync("/usr/bin/tini") || !existsSync("/usr/bin/dumb-init")) {
    console.error(`bench: tini and dumb-init are needed as references and could not be installed (apt-get update exit ${u.exitCode}, install exit ${i.exitCode}): no numbers without them`);
    process.exit(1);
  }
}

const storm = join(outDir, "orphan-storm");
Bun.spawnSync(["gcc", "-O2", "-o", storm, join(root, "bench/c/orphan-storm.c")], { stderr: "inherit" });
ensurePeers();

interface Peer {
  name: string;
  argv: (cmd: string[]) => string[];
}
const peers: Peer[] = [
  { name: "vector-boot", argv: (c) => [exe, "--", ...c] },
  { name: "tini", argv: (c) => ["/usr/bin/tini", "-s", "--", ...c] },
  { name: "dumb-init", argv: (c) => ["/usr/bin/dumb-init", ...c] },
];

function timeRun(argv: string[]): number {
  const t0 = Bun.nanoseconds();
  const r = Bun.spawnSync(argv, { stdout: "ignore", stderr: "ignore" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${r.exitCode}`);
  return (Bun.nanoseconds() - t0) / 1e6;
}

// The floor for any Bun-compiled init: an empty program compiled with the same flags as ours
// (scripts/build.ts: bytecode, nothing autoloaded from the start directory).
const floorExe = buildFloorProgram(outDir, "empty-bun", { "empty.ts": "process.exit(0);\n" });
// A second reference: the least any Bun program does to run CMD (Bun's own spawn, no init duties), so
// that the ratio above can be read against what spawning alone adds to the empty program.
const runsTrueExe = buildFloorProgram(outDir, "bun-runs-true", { "runs-true.ts": 'const r = Bun.spawnSync(["true"]);\nprocess.exit(r.exitCode ?? 1);\n' });

const RUNS = 40;
console.log(`## start-up: wall time of \`INIT -- true\` (ms), ${RUNS} runs each, interleaved, as PID 1 of a new PID namespace`);
const startArgv: Record<string, string[]> = Object.fromEntries(peers.map((p) => [p.name, ["unshare", "--pid", "--fork", "--mount-proc", ...p.argv(["true"])]]));
startArgv.floor = ["unshare", "--pid", "--fork", "--mount-proc", floorExe];
startArgv.runsTrue = ["unshare", "--pid", "--fork", "--mount-proc", runsTrueExe];
startArgv.unshare = ["unshare", "--pid", "--fork", "--mount-proc", "true"];
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(startArgv).map((k) => [k, []]));
for (const argv of Object.values(startArgv)) timeRun(argv); // page cache warm for all
// Round-robin: a change of load on the shared machine hits every program alike.
for (let i = 0; i < RUNS; i++) for (const [k, argv] of Object.entries(startArgv)) samples[k]!.push(timeRun(argv));
const startup: Record<string, number> = {};
for (const p of peers) {
  const xs = samples[p.name]!;
  startup[p.name] = percentile(xs, 50);
  console.log(`${p.name.padEnd(12)} p50 ${percentile(xs, 50).toFixed(2)} ms  p90 ${percentile(xs, 90).toFixed(2)} ms`);
}
console.log(`(unshare + true alone: ${percentile(samples.unshare!, 50).toFixed(2)} ms)`);
const floor = percentile(samples.floor!, 50);
console.log(`(an empty Bun-compiled program: p50 ${floor.toFixed(2)} ms; vector-boot's own share: ${(startup["vector-boot"]! - floor).toFixed(2)} ms)`);
console.log(`ratio vector-boot/empty Bun program start-up: ${(startup["vector-boot"]! / floor).toFixed(2)}x`);
const runsTrue = percentile(samples.runsTrue!, 50);
console.log(`(a Bun-compiled program that only runs true with Bun.spawnSync: p50 ${runsTrue.toFixed(2)} ms, ${(runsTrue / floor).toFixed(2)}x the empty program)`);
console.log(`ratio vector-boot/Bun program that only runs true: ${(startup["vector-boot"]! / runsTrue).toFixed(2)}x`);
for (const p of peers.slice(1)) console.log(`ratio vector-boot/${p.name} start-up: ${(startup["vector-boot"]! / startup[p.name]!).toFixed(2)}x`);

console.log("\n## reaping: 2000 double-forked orphans, time until the init has reaped them all (as PID 1)");
const rate: Record<string, number> = {};
for (const p of peers) {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = Bun.spawnSync(["unshare", "--pid", "--fork", "--mount-proc", ...p.argv([storm, "2000"])], { stdout: "pipe", stderr: "ignore" });
    const m = /orphans=(\d+) spawn_s=([\d.]+) total_s=([\d.]+)/.exec(r.stdout.toString());
    if (!m) throw new Error(`${p.name}: ${r.stdout}`);
    runs.push(Number(m[1]) / Number(m[3]));
  }
  rate[p.name] = percentile(runs, 50);
  console.log(`${p.name.padEnd(12)} ${rate[p.name]!.toFixed(0)} orphans/s (median of 3; includes the fork cost, same for all)`);
}
for (const p of peers.slice(1)) console.log(`ratio vector-boot/${p.name} reaping throughput: ${(rate["vector-boot"]! / rate[p.name]!).toFixed(2)}x`);
