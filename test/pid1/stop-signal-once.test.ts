// A service's stop signal is delivered once: it went to the process group, again to the leader and again to every process of its cgroup.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { bootArgs } from "./boot-args.ts";
import { compileC } from "../harness/compile-c.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";
import { lines, read } from "./file-text.ts";

afterEach(killLeftovers);

/**
 * Real-time signals queue (one delivery per kill, never merged), so this C program records every
 * SIGRTMIN+2 it gets: each delivery writes "stop" (write(2) is async-signal-safe); it exits 0.3 s
 * after the first, so a second delivery of the same stop would be on record.
 */
const COUNTER = `
#include <signal.h>
#include <fcntl.h>
#include <unistd.h>
#include <time.h>
static int fd;
static volatile sig_atomic_t got;
static void on(int s) { (void)s; if (write(fd, "stop\\n", 5) < 0) _exit(3); got = 1; }
int main(int argc, char **argv) {
  (void)argc;
  fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT, 0644);
  struct sigaction sa = {0};
  sa.sa_handler = on;
  sigaction(SIGRTMIN + 2, &sa, 0);
  /* Blocked until sigsuspend: a stop arriving between the test of got and a pause() would be missed. */
  sigset_t stop, old;
  sigemptyset(&stop);
  sigaddset(&stop, SIGRTMIN + 2);
  sigprocmask(SIG_BLOCK, &stop, &old);
  if (write(fd, "start\\n", 6) < 0) return 3;
  while (!got) sigsuspend(&old);
  sigprocmask(SIG_SETMASK, &old, 0);
  struct timespec t = {0, 300000000};
  nanosleep(&t, 0);
  return 0;
}
`;

describe("service stop signal", () => {
  test("a service gets its stop signal once, not once per way of reaching it (group, leader, cgroup)", async () => {
    const dir = tempDir();
    const exe = compileC(dir, "counter", COUNTER);
    const out = join(dir, "events.log");
    const cfg = writeJson(dir, "config.json", {
      heartbeat_ms: 50,
      services: [{ name: "counter", argv: [exe, out], stop_signal: "SIGRTMIN+2", grace_ms: 5000 }],
    });
    const run = start(["boot", ...bootArgs(), "--config", cfg]);
    await waitFor(() => read(out).includes("start"), 10_000, "the service to start");
    process.kill(run.proc.pid, "SIGTERM");
    const r = await run.result(15_000);
    expect(r.code).toBe(0);
    expect(lines(out)).toEqual(["start", "stop"]);
  }, 30_000);
});

/** As COUNTER, but lingers 1.5 s after the first stop (a service flushing its state), recording every delivery meanwhile. */
const LINGER = COUNTER.replace("struct timespec t = {0, 300000000};\n  nanosleep(&t, 0);", "struct timespec t = {1, 500000000};\n  while (nanosleep(&t, &t) != 0) {}");

test("a service killed for failing its readiness check got its stop signal again when the machine shut down meanwhile; it gets it once", async () => {
  expect(LINGER).not.toBe(COUNTER);
  const dir = tempDir();
  const exe = compileC(dir, "linger", LINGER);
  const out = join(dir, "events.log");
  const cfg = writeJson(dir, "config.json", {
    heartbeat_ms: 50,
    services: [{ name: "linger", argv: [exe, out], stop_signal: "SIGRTMIN+2", grace_ms: 5000, ready: { file: join(dir, "never"), timeout_ms: 300 }, restart: "never" }],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg]);
  // The readiness timeout's stop signal arrived: the machine shuts down while the service lingers.
  await waitFor(() => read(out).includes("stop"), 10_000, "the readiness timeout's stop signal");
  process.kill(run.proc.pid, "SIGTERM");
  const r = await run.result(15_000);
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/service not ready within 300 ms; killing it/);
  expect(lines(out)).toEqual(["start", "stop"]);
}, 30_000);
