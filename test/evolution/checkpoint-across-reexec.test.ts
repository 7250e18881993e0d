// The periodic checkpoint across live re-execs: each new image restarted the period, so re-execs more often than it postponed checkpoints for ever.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

const checkpoints = (state: string) => (existsSync(join(state, "checkpoints")) ? readdirSync(join(state, "checkpoints")).filter((n) => /^ckpt-\d{20}\.gguf$/.test(n)) : []);

test("re-execs back to back, more often than checkpoint_every_s (6): no checkpoint was ever written (each image started the period again) and the replay grew; the period counts from the last checkpoint, or the boot", async () => {
  const dir = tempDir();
  const state = join(dir, "state");
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), heartbeat_ms: 50, heartbeat_log_every: 0, evolution: { checkpoint_every_s: 6 } });
  const run = start(["boot", ...bootArgs(), "--config", cfg, "--set", `state_dir=${state}`], { pid1: true });
  const init = await run.initPid();
  const sock = join(dir, "run/control");
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "the control socket");
  const m = runShipped(["mutate", "pixel.1.bias", "0", "--values", "0.125", "--confidence", "0.9", "--socket", sock]);
  expect(m.code).toBe(0);
  const t0 = performance.now();
  // Re-exec back to back (each under a second or two: the preflight runs the new image twice) until
  // the checkpoint is written; before, it never was while the re-execs went on.
  let generation = 0;
  while (checkpoints(state).length === 0 && performance.now() - t0 < 30_000) {
    const r = runShipped(["reexec", "--socket", sock, "--timeout", "60000"], { timeoutMs: 90_000 });
    expect(r.code).toBe(0);
    generation++;
    await waitFor(() => run.log().includes(`resuming after re-exec generation=${generation} `) && run.log().split(`resuming after re-exec generation=${generation} `)[1]!.includes("control socket listening"), 30_000, `re-exec ${generation}`);
  }
  expect(checkpoints(state).length).toBeGreaterThan(0);
  expect(generation).toBeGreaterThan(0);
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 120_000);
