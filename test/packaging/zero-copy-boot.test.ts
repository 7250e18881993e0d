// Zero-copy shown on the real boot: a 512 MiB model and a 1 MiB model give the same RSS after the first heartbeat.
import { afterAll, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { killLeftovers, root, start, tempDir, waitFor } from "../pid1/harness.ts";

const dir = tempDir("vb-zerocopy-");
afterAll(() => {
  killLeftovers();
  rmSync(dir, { recursive: true, force: true });
});

function generate(mib: number): string {
  const out = join(dir, `model-${mib}.gguf`);
  const r = Bun.spawnSync([process.execPath, join(root, "scripts/gen-vectorland.ts"), "-o", out, "--pad-mib", String(mib)], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return out;
}

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);

/** Boots with `model`; returns RSS right after the first heartbeat and the init's exec -> first beat time. */
async function bootOnce(model: string): Promise<{ rssMiB: number; execToBeatMs: number }> {
  const run = start(["boot", "--model", model, "--set", "evolution=0", "--set", "heartbeat_log_every=0", "--set", `run_dir=${join(dir, "run")}`]);
  await waitFor(() => run.log().includes("first heartbeat"), 20_000, "first heartbeat");
  const rss = rssKiB(run.proc.pid) / 1024;
  const ms = Number(/first heartbeat .*since_exec_ms=([\d.]+)/.exec(run.log())![1]);
  process.kill(run.proc.pid, "SIGTERM");
  await run.result(15_000);
  return { rssMiB: rss, execToBeatMs: ms };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

test("RSS after the first heartbeat differs by less than 16 MiB between a 1 MiB and a 512 MiB model (mapped, never read)", async () => {
  const small = generate(1);
  const big = generate(512);
  const s: { rssMiB: number; execToBeatMs: number }[] = [];
  const b: { rssMiB: number; execToBeatMs: number }[] = [];
  for (let i = 0; i < 3; i++) {
    s.push(await bootOnce(small));
    b.push(await bootOnce(big));
  }
  const ds = median(b.map((x) => x.rssMiB)) - median(s.map((x) => x.rssMiB));
  const ratio = median(b.map((x) => x.execToBeatMs)) / median(s.map((x) => x.execToBeatMs));
  console.log(`zero-copy boot: RSS 1 MiB model ${median(s.map((x) => x.rssMiB)).toFixed(1)} MiB, 512 MiB model ${median(b.map((x) => x.rssMiB)).toFixed(1)} MiB (diff ${ds.toFixed(1)}); exec->first beat ratio ${ratio.toFixed(2)} (timed in bench/packaging.bench.ts)`);
  expect(Math.abs(ds)).toBeLessThan(16);
}, 180_000);
