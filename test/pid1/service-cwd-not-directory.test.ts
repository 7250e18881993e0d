// A service whose `cwd` is a file (or missing) failed to start with "chdir failed: ENOTDIR", naming neither `cwd` nor the path.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";

afterEach(killLeftovers);

test("a service whose cwd is a file failed to start saying only 'chdir failed: ENOTDIR'; the line names the working directory it could not enter", async () => {
  const dir = tempDir();
  const notDir = join(dir, "a-file");
  writeFileSync(notDir, "");
  const missing = join(dir, "missing");
  const cfg = writeJson(dir, "config.json", {
    state_dir: join(dir, "state"),
    run_dir: join(dir, "run"),
    heartbeat_log_every: 0,
    services: [
      { name: "in-file", argv: ["/bin/true"], cwd: notDir, restart: "never" },
      { name: "in-missing", argv: ["/bin/true"], cwd: missing, restart: "never" },
    ],
  });
  const run = start(["boot", "--config", cfg]);
  const line = (name: string) => run.log().split("\n").find((l) => l.includes(`service=${name}`) && l.includes("chdir")) ?? "";
  await waitFor(() => line("in-file") !== "" && line("in-missing") !== "", 30_000, "both services' start failures");
  expect(line("in-file")).toContain(`chdir to the working directory ${notDir} failed`);
  expect(line("in-file")).toContain("ENOTDIR");
  expect(line("in-missing")).toContain(`chdir to the working directory ${missing} failed`);
  expect(line("in-missing")).toContain("ENOENT");
  run.proc.kill("SIGTERM");
  await run.result(30_000);
}, 60_000);
