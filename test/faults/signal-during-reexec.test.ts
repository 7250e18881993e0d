// A SIGTERM that reached PID 1 between the two images of a live re-exec was dropped by the kernel (the new image had no handler yet): the machine ran on.
import { afterEach, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { shipped } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { betweenImages, killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

/**
 * Run by PID 1 between the two images: records whether SIGTERM is blocked, then sends SIGTERM to
 * itself (PID 1, with no handler: where a SIGTERM from outside would land in that window).
 */
function termBetweenImages(dir: string, report: string): string {
  return betweenImages(
    dir,
    "term-between.py",
    `blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
with open(${JSON.stringify(report)}, "a") as f:
    f.write("pid=%d term_blocked=%s\\n" % (os.getpid(), signal.SIGTERM in blocked))
os.kill(os.getpid(), signal.SIGTERM)`,
  );
}

test("as PID 1, a SIGTERM that arrives between the images of a live re-exec is kept: the new image shuts down in order", async () => {
  const dir = tempDir();
  const report = join(dir, "between.log");
  const holder = termBetweenImages(dir, report);
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: join(dir, "state"), heartbeat_ms: 50 });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  await run.initPid();
  await waitFor(() => run.log().includes("heartbeat: first heartbeat"), 20_000, "the first beat");
  const cli = Bun.spawn(shipped(["reexec", holder, "--socket", join(dir, "run/control"), "--timeout", "30000"]), { stdout: "pipe", stderr: "pipe" });
  const r = await run.result(40_000).catch((e) => {
    console.error(run.log(), "\nbetween.log:", existsSync(report) ? readFileSync(report, "utf8") : "(none)");
    throw e;
  });
  cli.kill();
  // The script ran as PID 1 with SIGTERM blocked (so its own SIGTERM stayed pending through execve).
  expect(readFileSync(report, "utf8").trim()).toBe("pid=1 term_blocked=True");
  const after = r.stderr.slice(r.stderr.indexOf("resuming after re-exec generation=1 "));
  expect(r.stderr).toContain("resuming after re-exec generation=1 ");
  expect(after).toMatch(/shutdown requested reason=SIGTERM/);
  expect(after).toContain("poweroff now");
}, 90_000);
