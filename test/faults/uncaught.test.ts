// Uncaught errors as PID 1: an exception or rejection nobody catches must be logged, never end PID 1 (a kernel panic).
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { killLeftovers, start, tempDir, waitFor } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("as PID 1 an injected uncaught exception and an unhandled rejection are logged and the beats go on", async () => {
  const dir = tempDir();
  // Injected from outside the product: Bun preloads this into the shipped executable (BUN_OPTIONS).
  const inject = join(dir, "inject.ts");
  writeFileSync(
    inject,
    `const armed = setInterval(() => {
  if (!require("node:fs").existsSync(${JSON.stringify(join(dir, "go"))})) return;
  clearInterval(armed);
  setTimeout(() => { throw new Error("injected uncaught exception"); }, 0);
  setTimeout(() => { Promise.reject(new Error("injected unhandled rejection")); }, 10);
}, 20);
`,
  );
  const run = start(["boot", "--set", `run_dir=${join(dir, "run")}`, "--set", "heartbeat_ms=20", "--set", "heartbeat_log_every=5"], { pid1: true, env: { BUN_OPTIONS: `--preload ${inject}` } });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("phase heartbeat"), 30_000, "the boot");
  writeFileSync(join(dir, "go"), "");
  await waitFor(() => run.log().includes("injected uncaught exception") && run.log().includes("injected unhandled rejection"), 10_000, "both errors logged");
  expect(run.log()).toMatch(/ERROR boot: uncaught exception error=.*injected uncaught exception/);
  expect(run.log()).toMatch(/ERROR boot: unhandled rejection error=.*injected unhandled rejection/);
  const beats = () => (run.log().match(/heartbeat: beat n=/g) ?? []).length;
  const n = beats();
  await waitFor(() => beats() >= n + 3, 10_000, "beats after the errors");
  process.kill(init, "SIGTERM");
  const r = await run.result(30_000);
  expect(r.stderr).toContain("poweroff now");
  expect(r.code).toBe(130);
}, 90_000);
