// A live re-exec while a service was being killed for a failed readiness check: the new image waited for its readiness again and sent its stop signal a second time.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShipped } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { compileC } from "../harness/compile-c.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";
import { read } from "./file-text.ts";

afterEach(killLeftovers);

/** Records "start" and every SIGTERM ("term", from the handler: write(2) is async-signal-safe), and never exits by itself. */
const STUBBORN = `
#include <signal.h>
#include <fcntl.h>
#include <unistd.h>
static int fd;
static void on(int s) { (void)s; if (write(fd, "term\\n", 5) < 0) _exit(3); }
int main(int argc, char **argv) {
  (void)argc;
  fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT, 0644);
  struct sigaction sa = {0};
  sa.sa_handler = on;
  sigaction(SIGTERM, &sa, 0);
  if (write(fd, "start\\n", 6) < 0) return 3;
  for (;;) pause();
}
`;

test("a live re-exec during the grace of a readiness-timeout kill made the new image wait for the service's readiness again and send it SIGTERM a second time, SIGKILL a whole grace later; it now keeps the kill: one SIGTERM, then SIGKILL when the first grace ends", async () => {
  const dir = tempDir();
  const exe = compileC(dir, "stubborn", STUBBORN);
  const record = join(dir, "signals.log");
  // Never ready (no READY=1): killed 1 s after its start; it ignores SIGTERM, so SIGKILL ends it 8 s later.
  const cfg = writeJson(dir, "config.json", {
    run_dir: join(dir, "run"),
    heartbeat_ms: 100,
    heartbeat_log_every: 0,
    services: [{ name: "stubborn", argv: [exe, record], restart: "never", ready: { notify: true, timeout_ms: 1000 }, grace_ms: 8000 }],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { pid1: true });
  const init = await run.initPid();
  const sock = join(dir, "run/control");
  await waitFor(() => read(record).includes("term"), 30_000, "the readiness timeout's SIGTERM");
  expect(run.log()).toContain("service not ready within 1000 ms; killing it");
  expect(runShipped(["reexec", "--socket", sock, "--timeout", "60000"], { timeoutMs: 90_000 }).code).toBe(0);
  await waitFor(() => run.log().includes("resuming after re-exec generation=1 "), 30_000, "the re-exec");
  const after = () => run.log().split("resuming after re-exec generation=1 ")[1] ?? "";
  // The first grace's SIGKILL, with no second readiness wait and no second SIGTERM in between.
  await waitFor(() => /sending SIGKILL service=stubborn/.test(after()), 30_000, "the SIGKILL at the end of the first grace");
  await waitFor(() => /staying down service=stubborn/.test(after()), 10_000, "the service's end");
  expect(read(record)).toBe("start\nterm\n");
  expect(after()).not.toContain("killing it");
  expect(after()).toMatch(/service adopted service=stubborn .*being_killed=/);
  process.kill(init, "SIGTERM");
  expect((await run.result(30_000)).stderr).toContain("poweroff now");
}, 90_000);
