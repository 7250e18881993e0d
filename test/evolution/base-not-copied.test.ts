// A boot that applied no mutation writes no checkpoint: the base model is in the executable already.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { killLeftovers, start, tempDir, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

const checkpoints = (dir: string) => (existsSync(join(dir, "state/checkpoints")) ? readdirSync(join(dir, "state/checkpoints")).filter((f) => f.endsWith(".gguf")) : []);

test("a boot without mutations copied the whole base model into a checkpoint at every shutdown and timer tick", async () => {
  const dir = tempDir();
  // The timer ticks several times before the shutdown: neither it nor the shutdown writes a copy.
  const cfg = writeJson(dir, "config.json", { state_dir: join(dir, "state"), run_dir: join(dir, "run"), evolution: { checkpoint_every_s: 0.2 }, shutdown_after: 1.5 });
  const r = await start(["boot", "--config", cfg]).result(30_000);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("no checkpoint: nothing was applied to the base model");
  expect(r.stderr).not.toContain("checkpoint written");
  expect(checkpoints(dir)).toEqual([]);

  // A second boot still starts from the base, with the same lineage.
  const r2 = await start(["boot", "--config", cfg, "--set", "shutdown_after=0.3"]).result(30_000);
  expect(r2.code).toBe(0);
  expect(r2.stderr).toMatch(/phase evolution .*checkpoint=base/);
  expect(checkpoints(dir)).toEqual([]);
}, 90_000);
