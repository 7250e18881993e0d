// The configured mounts (the state disk) as PID 1 across a live re-exec and after a mount that failed, or one that was already there.
import { afterEach, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { exe, hidden, runAsync, runShippedAsync, shippedEnv } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("a configured mount that failed before a live re-exec was taken by the new image as mounted: its unmount at shutdown failed (EINVAL, an error line); only what is mounted is unmounted", async () => {
  const dir = tempDir();
  const good = join(dir, "good");
  const bad = join(dir, "bad");
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    heartbeat_ms: 50,
    mounts: [
      { source: "none", target: good, fstype: "tmpfs" },
      { source: "none", target: bad, fstype: "vb-no-such-fs", optional: true },
    ],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("control socket listening") && run.log().includes("first heartbeat"), 30_000, "boot up", { explain: () => run.log() });
  expect(run.log()).toContain(`mount failed source=none target=${bad}`);
  expect((await runShippedAsync(["reexec", "--socket", join(dir, "run", "control"), "--timeout", "60000"], 90_000)).code).toBe(0);
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 ") && run.log().split("resuming after re-exec")[1]!.includes("first heartbeat"), 30_000, "the new image's beat");
  process.kill(init, "SIGTERM");
  const r = await run.result(30_000);
  expect(r.stderr).toContain(`unmounted target=${good}`);
  expect(r.stderr).not.toContain("could not unmount or remount read-only");
}, 90_000);

test("a configured target already mounted when the boot began (a re-exec whose handoff could not be read boots as a fresh image) was mounted again on top, hiding what was on it: it is taken as mounted", async () => {
  const dir = tempDir();
  const disk = join(dir, "disk");
  mkdirSync(disk);
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: join(dir, "state"), heartbeat_ms: 50, shutdown_after: 1, mounts: [{ source: "none", target: disk, fstype: "tmpfs" }] });
  // The harness mounts a tmpfs on `disk` in the init's mount namespace before it starts.
  const r = await runAsync(hidden([exe, "boot", ...bootArgs(), "--config", cfg], { pid1: true, alsoHide: [disk] }), { timeoutMs: 60_000, env: shippedEnv() });
  expect(r.err).toContain(`already mounted target=${disk}`);
  expect(r.err).not.toContain(`mounted source=none target=${disk}`);
  expect(r.err.match(new RegExp(`unmounted target=${disk}\\b`, "g")) ?? []).toHaveLength(1);
}, 90_000);
