// A shutdown asked while a live re-exec's preflight ran: the handoff went on beside the shutdown and PID 1 exec'd the new image in the middle of it.
import { afterEach, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { shipped } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { betweenImages, killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("SIGTERM while a live re-exec's preflight asked the new image: the re-exec went on after the preflight and exec'd in the middle of the shutdown; now it is refused and the machine shuts down in order", async () => {
  const dir = tempDir();
  const checking = join(dir, "checking");
  // The new image's `boot --check` (the preflight's last question) takes 2 s.
  const next = betweenImages(dir, "next-image", "", "", `    open(${JSON.stringify(checking)}, "w").close()\n    time.sleep(2)`);
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    heartbeat_ms: 50,
    // Slow to stop (SIGTERM ignored, SIGKILL after 4 s): the shutdown is still going when the preflight ends.
    services: [{ name: "stubborn", argv: ["sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"], grace_ms: 4000 }],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("service started service=stubborn") && run.log().includes("control socket listening"), 30_000, "the init and its service");
  const cli = Bun.spawn(shipped(["reexec", next, "--socket", join(dir, "run", "control"), "--timeout", "30000"]), { stdout: "pipe", stderr: "pipe" });
  await waitFor(() => existsSync(checking), 30_000, "the preflight asking the new image");
  process.kill(init, "SIGTERM");
  const r = await run.result(60_000);
  const [code, err] = await Promise.all([cli.exited, new Response(cli.stderr).text()]);
  expect(r.stderr).not.toContain("reexec: exec path=");
  expect(r.stderr).not.toContain("resuming after re-exec");
  expect(r.stderr).toContain("re-exec: the machine began shutting down while the new image was asked");
  expect(r.stderr).toContain("service stopped service=stubborn");
  expect(r.stderr).toContain("poweroff now");
  // The command was told (refused, or the socket closed as the machine went down): never "exec'd".
  expect({ code, err }).not.toMatchObject({ code: 0 });
}, 120_000);
