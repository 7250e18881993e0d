// Lineage tests' boots: a generated base model, one boot of it on a state dir (an optional mutation), its exit and log.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { root, start, waitFor } from "../pid1/harness.ts";

export const sha256Of = (p: string) => new Bun.CryptoHasher("sha256").update(readFileSync(p)).digest("hex");

/** Writes the default design's model with `seed` (another seed: another base, another SHA-256) to `out`. */
export function genModel(out: string, seed: string): string {
  const g = Bun.spawnSync([process.execPath, join(root, "scripts/gen-vectorland.ts"), "-o", out, "--seed", seed], { stderr: "pipe", timeout: 60_000 });
  if (g.exitCode !== 0) throw new Error(`gen-vectorland: ${g.stderr.toString()}`);
  return out;
}

/**
 * Boots `model` on `state` (run dir in `dir`); once the heartbeat runs, sends `mutate` (pixel.1.bias[0])
 * over the control socket, then SIGTERM. A boot that stops by itself (a refusal) is returned as it ended.
 */
export async function bootOnce(model: string, dir: string, state: string, mutate?: number): Promise<{ code: number; stderr: string; mutated?: Record<string, unknown> }> {
  const run = start(["boot", "--model", model, "--set", `state_dir=${state}`, "--set", `run_dir=${join(dir, "run")}`]);
  let ended = false;
  void run.proc.exited.then(() => (ended = true));
  await waitFor(() => ended || run.log().includes("phase heartbeat"), 30_000, "boot");
  let mutated: Record<string, unknown> | undefined;
  if (!ended) {
    if (mutate !== undefined) {
      const m = runShipped(["mutate", "pixel.1.bias", "0", "--values", String(mutate), "--confidence", "0.9", "--json", "--socket", join(dir, "run/control")]);
      mutated = JSON.parse(m.stdout);
    }
    process.kill(run.proc.pid, "SIGTERM");
  }
  const r = await run.result(30_000);
  return { code: r.code, stderr: r.stderr, mutated };
}
