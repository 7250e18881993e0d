// A handoff file that cannot be read (cut short) is reported naming it and removed, not left in run_dir.
import { expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { tempDir, writeJson } from "./harness.ts";

test("a handoff file cut short was logged as unreadable but left in run_dir; it is now removed and named in the log", () => {
  const dir = tempDir("vb-handoff-cut-");
  const runDir = join(dir, "run");
  mkdirSync(runDir, { mode: 0o700 });
  // What a re-exec's write cut short leaves: the start of the JSON the next image reads.
  const file = join(runDir, "handoff-4242-1.json");
  writeFileSync(file, '{"version":4,"generation":1,"execBoottimeNs":12', { mode: 0o600 });
  const config = writeJson(dir, "config.json", { pixel_test: false, run_dir: runDir, state_dir: join(dir, "state"), shutdown_after: 0.3 });
  const r = runShipped(["boot", "--config", config], { env: { VECTOR_BOOT_HANDOFF: file }, timeoutMs: 20_000 });
  expect(r.code).toBe(0);
  expect(readdirSync(runDir).filter((n) => n.startsWith("handoff-"))).toEqual([]);
  expect(existsSync(file)).toBe(false);
  expect(r.stdout + r.stderr).toContain(`handoff state unreadable (file removed)`);
  expect(r.stdout + r.stderr).toContain(`handoff ${file}: not JSON`);
});

test("a stray $VECTOR_BOOT_HANDOFF naming a file that is not a handoff file is reported and not deleted", () => {
  const dir = tempDir("vb-handoff-stray-");
  const file = join(dir, "notes.txt");
  writeFileSync(file, "not a handoff\n");
  const config = writeJson(dir, "config.json", { pixel_test: false, run_dir: join(dir, "run"), state_dir: join(dir, "state"), shutdown_after: 0.3 });
  const r = runShipped(["boot", "--config", config], { env: { VECTOR_BOOT_HANDOFF: file }, timeoutMs: 20_000 });
  expect(r.code).toBe(0);
  expect(r.stdout + r.stderr).toContain(`handoff ${file}: not JSON`);
  expect(existsSync(file)).toBe(true);
});
