// A second shutdown signal of another kind (ctrl-alt-del during a SIGUSR2 poweroff) changes nothing, but is logged.
import { afterEach, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { bootArgs } from "../pid1/boot-args.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("as PID 1, a ctrl-alt-del (SIGINT: reboot) and a SIGTERM during a SIGUSR2 poweroff's shutdown were dropped without a line; the poweroff goes on and each is logged as ignored, naming the shutdown under way", async () => {
  const dir = tempDir();
  const trapped = join(dir, "trapped");
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    heartbeat_ms: 50,
    heartbeat_log_every: 0,
    // Ignores SIGTERM once it says so (`trapped`): the shutdown waits its grace period (3 s) before SIGKILL.
    services: [{ name: "stubborn", argv: ["/bin/sh", "-c", `trap '' TERM; touch "$0"; while :; do sleep 1; done`, trapped], grace_ms: 3_000 }],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  const init = await run.initPid();
  // Its trap in place, not only started: a SIGUSR2 sent before that ended the service at its first
  // SIGTERM and the whole shutdown in ~10 ms, before this test's SIGINT (the CI failures' log).
  await waitFor(() => /service started service=stubborn/.test(run.log()) && existsSync(trapped), 30_000, "the service, ignoring SIGTERM");
  process.kill(init, "SIGUSR2");
  await waitFor(() => run.log().includes("phase shutdown"), 10_000, "the shutdown to begin");
  process.kill(init, "SIGINT");
  // Timed out once in CI (load ~2, not reproduced): the init's own lines say next time whether the
  // SIGINT arrived and where the shutdown was.
  await waitFor(() => run.log().includes("shutdown already under way"), 10_000, "the SIGINT to be logged as ignored", {
    explain: () => `init's log:\n${run.log().slice(-6000)}`,
  });
  process.kill(init, "SIGTERM");
  const r = await run.result(30_000);
  // reboot(2) in a PID namespace: its init dies of SIGINT for a power-off (unshare 130), SIGHUP for a reboot (129).
  expect(r.code).toBe(130);
  const lines = r.stderr.split("\n");
  const ignored = lines.filter((l) => l.includes("shutdown already under way"));
  expect(ignored, r.stderr.slice(-3000)).toHaveLength(2);
  expect(ignored[0]).toContain("request of another mode ignored");
  expect(ignored[0]).toContain("ctrl-alt-del");
  expect(ignored[0]).toContain("under_way=SIGUSR2");
  expect(ignored[1]).toContain("reason=SIGTERM");
  // One request acted on (the signal may land while the boot still runs: "shutdown requested during the boot" is no second one).
  expect(lines.filter((l) => l.includes("signals: shutdown requested"))).toHaveLength(1);
}, 60_000);
