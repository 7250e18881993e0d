// SIGBUS: truncating or overwriting a model file the running init had mapped used to kill PID 1 ("Bus error").
import { afterEach, expect, test } from "bun:test";
import { copyFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { killLeftovers, root, start, tempDir, waitFor } from "../pid1/harness.ts";

afterEach(killLeftovers);

function gen(out: string, extra: string[] = []): void {
  const g = Bun.spawnSync([process.execPath, join(root, "scripts/gen-vectorland.ts"), "-o", out, ...extra], { stderr: "pipe", timeout: 60_000 });
  if (g.exitCode !== 0) throw new Error(g.stderr.toString());
}

const beatsIn = (log: string) => (log.match(/heartbeat: beat n=/g) ?? []).length;

for (const how of ["truncated to 0 bytes", "overwritten by another model (cp)"] as const) {
  test(`as PID 1 the beats go on when the booted .gguf is ${how} under it`, async () => {
    const dir = tempDir();
    const model = join(dir, "model.gguf");
    // Matrices of 1 MiB: the mat-vec workers map the model too.
    gen(model, ["--pixel-hidden", "1024,256"]);
    const other = join(dir, "other.gguf");
    gen(other, ["--seed", "7"]);
    const run = start(["boot", "--model", model, "--set", `run_dir=${join(dir, "run")}`, "--set", "heartbeat_ms=20", "--set", "heartbeat_log_every=5"], { pid1: true });
    const init = await run.initPid();
    await waitFor(() => beatsIn(run.log()) >= 2, 30_000, "beats");
    if (how === "truncated to 0 bytes") truncateSync(model, 0);
    else copyFileSync(other, model); // opens with O_TRUNC: the old pages vanish
    const n = beatsIn(run.log());
    await waitFor(() => beatsIn(run.log()) >= n + 5, 20_000, "beats after the file changed");
    expect(run.log()).not.toContain("Bus error");
    process.kill(init, "SIGTERM");
    const r = await run.result(30_000);
    expect(r.stderr).toContain("poweroff now");
    expect(r.code).toBe(130);
  }, 90_000);
}

test("as PID 1 an .rts package truncated under the running init does not kill it", async () => {
  const dir = tempDir();
  const model = join(dir, "m.gguf");
  gen(model);
  const rts = join(dir, "m.rts");
  const bin = join(dir, "bin");
  writeFileSync(bin, new Uint8Array(4096));
  const p = Bun.spawnSync([process.execPath, join(root, "src/main.ts"), "pack", "--binary", bin, "--gguf", model, "-o", rts], { stderr: "pipe", timeout: 60_000 });
  expect(p.exitCode).toBe(0);
  const run = start(["boot", "--model", rts, "--set", `run_dir=${join(dir, "run")}`, "--set", "heartbeat_ms=20", "--set", "heartbeat_log_every=5"], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => beatsIn(run.log()) >= 2, 30_000, "beats");
  truncateSync(rts, 600);
  const n = beatsIn(run.log());
  await waitFor(() => beatsIn(run.log()) >= n + 5, 20_000, "beats after the truncation");
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 90_000);
