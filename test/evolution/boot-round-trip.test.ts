// The real executable + the real Python client: a mutation is acknowledged, survives a restart, and
// changes the pixel output; kernel.* and low confidence are refused with their reason codes.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { shipped } from "../harness/artifact.ts";
import { killLeftovers, shippedPython, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";
import { python } from "../harness/python.ts";
import { newestCheckpoint } from "./shipped-cli.ts";

afterEach(killLeftovers);

function evolve(socket: string, args: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync([python, "-m", "vector_boot_evolution", "--socket", socket, ...args], {
    env: { ...process.env, PYTHONPATH: shippedPython },
    stdout: "pipe",
    stderr: "pipe",
    timeout: 30_000,
  });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

function pixels(model?: string): string {
  const r = Bun.spawnSync(shipped(["pixels", ...(model ? ["--model", model] : []), "--json", "72,101,108", "250,255,0"]), { stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  expect(r.exitCode).toBe(0);
  return r.stdout.toString();
}

test("a mutation from Python is acknowledged, kernel.* is refused with PROTECTED_TENSOR and confidence 0.8 with LOW_CONFIDENCE (never journaled), and the weights survive a restart", async () => {
  const dir = tempDir();
  const cfg = writeJson(dir, "config.json", { state_dir: join(dir, "state"), run_dir: join(dir, "run"), evolution: { checkpoint_every_s: 0 } });
  const socket = join(dir, "run/evolution.sock");
  const boot1 = start(["boot", "--config", cfg]);
  await waitFor(() => boot1.log().includes("phase heartbeat"), 30_000, "boot 1 up");

  const ok = evolve(socket, ["mutate", "pixel.1.bias", "0", "5,-5,3", "--confidence", "0.95"]);
  expect(ok.code).toBe(0);
  const done = JSON.parse(ok.out.trim());
  expect(done.status).toBe("ACCEPTED");
  expect(done.journal_seq).toBe(1);

  // Each refusal carries the reason code of the rule that refused it (docs/evolution-protocol.md),
  // is never journaled (journal_seq 0) and names what it refused.
  const kernel = evolve(socket, ["mutate", "kernel.cortex.threshold", "0", "0", "--confidence", "0.99"]);
  expect(kernel.code).toBe(1);
  const kernelDone = JSON.parse(kernel.out.trim());
  expect(kernelDone.status).toBe("PROTECTED_TENSOR");
  expect(kernelDone.journal_seq).toBe(0);
  expect(kernelDone.text).toContain("kernel.cortex.threshold");

  const unsure = evolve(socket, ["mutate", "pixel.1.bias", "0", "1", "--confidence", "0.8"]);
  expect(unsure.code).toBe(1);
  const unsureDone = JSON.parse(unsure.out.trim());
  expect(unsureDone.status).toBe("LOW_CONFIDENCE"); // 0.8 itself is refused: confidence must exceed it
  expect(unsureDone.journal_seq).toBe(0);
  expect(unsureDone.text).toContain("0.8");

  // The refusals took no journal sequence: the next accepted mutation is record 2.
  const again = evolve(socket, ["mutate", "pixel.1.bias", "3", "0.5", "--confidence", "0.81"]);
  expect(again.code).toBe(0);
  expect(JSON.parse(again.out.trim())).toMatchObject({ status: "ACCEPTED", journal_seq: 2 });

  process.kill(boot1.proc.pid, "SIGTERM");
  const r1 = await boot1.result(30_000);
  expect(r1.code).toBe(0);
  expect(r1.stderr).toContain("checkpoint written");

  // Boot 2 loads the checkpoint that covers the mutation.
  const boot2 = start(["boot", "--config", cfg, "--set", "shutdown_after=0.3"]);
  const r2 = await boot2.result(30_000);
  expect(r2.code).toBe(0);
  expect(r2.stderr).toMatch(/phase evolution .*checkpoint=\S*ckpt-0*2\.gguf/);

  // The checkpoint is a complete GGUF whose pixel output differs from the base model's.
  const mutated = pixels(newestCheckpoint(join(dir, "state")));
  const base = pixels();
  expect(mutated).not.toBe(base);
}, 150_000);
