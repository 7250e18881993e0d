// A live re-exec and the watchdog the previous image handed over: a config without one left it open, armed and unpetted (the machine reset); nothing petted it from the exec to the first beat.
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { standInWatchdog } from "../harness/stand-in-watchdog.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("a re-exec into a config without the watchdog (heartbeat.watchdog false) left the device handed over open and armed, petted by nobody until it reset the machine: it is disarmed (magic close)", async () => {
  const dir = tempDir();
  const wd = standInWatchdog(dir);
  const config = { run_dir: join(dir, "run"), heartbeat_ms: 50, heartbeat: { watchdog: wd.path as string | false } };
  const cfg = writeJson(dir, "config.json", config);
  const run = start(["boot", "--config", cfg], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("watchdog armed") && wd.bytes.length >= 3, 30_000, "pets from the beat");
  // The operator turns the watchdog off, then re-execs.
  writeFileSync(cfg, JSON.stringify({ ...config, heartbeat: { watchdog: false } }));
  process.kill(init, "SIGHUP");
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
  await waitFor(() => wd.closedAt() !== null, 10_000, "the device handed over to be closed");
  expect(wd.bytes.at(-1)?.byte).toBe(0x56); // "V": the magic close, no reset
  expect(run.log()).toContain("the config has no watchdog: the one handed over is disarmed");
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);

test("after a re-exec nothing petted the watchdog until the new image's first beat (past the config, the model load, the journal's replay, the services): the device handed over is petted from the start of the new image", async () => {
  const dir = tempDir();
  const wd = standInWatchdog(dir);
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), heartbeat_ms: 50, heartbeat: { watchdog: wd.path } });
  const run = start(["boot", "--config", cfg], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("watchdog armed") && wd.bytes.length >= 3, 30_000, "pets from the beat");
  process.kill(init, "SIGHUP");
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
  await waitFor(() => /phase heartbeat[^\n]*\n[\s\S]*heartbeat: beat/.test(run.log().slice(run.log().indexOf("resuming after re-exec generation=1 "))), 30_000, "the new image's beats");
  // Adopted (and petted) before the new image loads its config and its model: the first phase after the reaper.
  const after = run.log().slice(run.log().indexOf("resuming after re-exec generation=1 "));
  const adopted = after.indexOf("watchdog adopted");
  expect(adopted).toBeGreaterThanOrEqual(0);
  expect(adopted).toBeLessThan(after.indexOf("model mapped"));
  expect(wd.closedAt()).toBeNull();
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).code).toBe(130);
}, 120_000);
