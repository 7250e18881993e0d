// Bun's compiled programs read .env and bunfig.toml from the directory they start in: a .env there went into the environment of CMD and of the boot.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { killLeftovers, start, tempDir } from "./harness.ts";

afterEach(killLeftovers);

test("a .env in the start directory leaked into CMD's environment (tini mode)", async () => {
  const dir = tempDir();
  writeFileSync(join(dir, ".env"), "VB_DOTENV_LEAK=yes\n");
  const r = await start(["--", "sh", "-c", 'echo "leak=${VB_DOTENV_LEAK:-none}"'], { cwd: dir }).result(10_000);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe("leak=none\n");
});

test("a .env in the start directory set the boot's kernel command line (VECTOR_BOOT_CMDLINE) and its services' environment", async () => {
  const dir = tempDir();
  const out = join(dir, "env.txt");
  // Were it read, the boot would end after 0.2 s by the .env's command line, not by the SIGTERM below.
  writeFileSync(join(dir, ".env"), "VECTOR_BOOT_CMDLINE=vector.shutdown_after=0.2\nVB_DOTENV_LEAK=yes\n");
  const cfg = join(dir, "config.json");
  writeFileSync(cfg, JSON.stringify({ state_dir: join(dir, "state"), run_dir: join(dir, "run"), services: [{ name: "show", argv: ["sh", "-c", `echo "leak=\${VB_DOTENV_LEAK:-none}" > ${out}; exec sleep 1000`] }] }));
  const run = start(["boot", "--config", cfg], { cwd: dir });
  const { waitFor } = await import("../harness/wait.ts");
  await waitFor(() => run.log().includes("first heartbeat"), 30_000, "the first beat");
  await waitFor(() => Bun.file(out).size > 0, 10_000, "the service's output");
  expect(await Bun.file(out).text()).toBe("leak=none\n");
  expect(run.log()).toContain("shutdown_after=0 ");
  process.kill(run.proc.pid, "SIGTERM");
  const r = await run.result(30_000);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("phase shutdown reason=SIGTERM ");
}, 60_000);

test("a bunfig.toml in the start directory is not read (an init takes no settings from where it was started)", async () => {
  const dir = tempDir();
  // Not even a malformed one stops it: the file is never opened.
  writeFileSync(join(dir, "bunfig.toml"), "[run\nthis is not toml = = =\n");
  const r = await start(["--", "true"], { cwd: dir }).result(10_000);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe("");
});
