// The evolution session socket's listener named by a live re-exec's handoff was adopted unchecked: a number that is something else at the new image's start (a file; the control socket's listener) disabled evolution, or left evolution.sock refusing producers. It is adopted only once it checks out, else bound anew.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { betweenImages, killLeftovers, start, tempDir, waitFor } from "./harness.ts";
import { hello } from "./session-hello.ts";

afterEach(killLeftovers);

/**
 * Boots as PID 1 (evolution on, `runDir`), live re-execs through a script that runs `body` (Python;
 * `h` the handoff, `evo` the evolution part's listener fd, `ctl` the control part's) before the real
 * image, and waits for the new image's control socket. Returns the run and the new image's log.
 */
async function reexecThrough(dir: string, runDir: string, body: string) {
  const script = betweenImages(
    dir,
    "between",
    `h = json.load(open(os.environ["VECTOR_BOOT_HANDOFF"]))
evo = h["parts"]["evolution"]["listener"]
ctl = h["parts"]["control"]["listener"]
${body}`,
  );
  const run = start(["boot", "--set", `run_dir=${runDir}`, "--set", `state_dir=${join(dir, "state")}`, "--set", "heartbeat_ms=50", "--set", "heartbeat_log_every=0"], { pid1: true });
  const init = await run.initPid();
  await waitFor(() => run.log().includes("control socket listening"), 30_000, "boot up");
  expect(await hello(join(runDir, "evolution.sock"))).toMatchObject({ ring: 0 });
  const r = await runShippedAsync(["reexec", script, "--socket", join(runDir, "control"), "--timeout", "30000"], 60_000);
  expect(r.code, r.err).toBe(0);
  await waitFor(() => /resuming after re-exec generation=1 [^]*control socket listening/.test(run.log()), 30_000, "the new image");
  return { run, init, after: run.log().split("resuming after re-exec generation=1 ")[1]! };
}

test("a handoff whose evolution listener fd is now a regular file: the new image's session server threw on it and PID 1 went on without evolution (base weights); it is bound anew, logged, and producers are served", async () => {
  const dir = tempDir();
  const runDir = join(dir, "run");
  const { run, init, after } = await reexecThrough(dir, runDir, `f = os.open(${JSON.stringify(join(dir, "between"))}, os.O_RDONLY)\nos.dup2(f, evo)`);
  expect(after).not.toContain("evolution disabled");
  expect(after).toMatch(/evolution session socket handed over at the re-exec not adopted; listening anew fd=\d+ why=".*is not a listening Unix stream socket bound to .*evolution\.sock \(ENOTSOCK\)" closed=false/);
  expect(after).toContain("phase evolution");
  expect(await hello(join(runDir, "evolution.sock"))).toMatchObject({ ring: expect.any(Number) });
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 120_000);

test("a handoff whose evolution listener fd is now the control socket's listener: the new image's session server listened on the control socket, and evolution.sock refused every producer (ECONNREFUSED); evolution.sock is bound anew and the control socket answers", async () => {
  const dir = tempDir();
  const runDir = join(dir, "run");
  const { run, init, after } = await reexecThrough(dir, runDir, "os.dup2(ctl, evo)");
  expect(await hello(join(runDir, "evolution.sock"))).toMatchObject({ ring: expect.any(Number) });
  expect(after).toMatch(/evolution session socket handed over at the re-exec not adopted; listening anew fd=\d+ why=".*\(EADDRNOTAVAIL\)" closed=false/);
  // Every control request is answered by the control server (none gets a session's hello).
  for (let i = 0; i < 5; i++) {
    const s = await runShippedAsync(["status", "--json", "--socket", join(runDir, "control")]);
    expect(s.code, s.err).toBe(0);
    expect(JSON.parse(s.out)).toMatchObject({ generation: 1 });
  }
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 120_000);

test("the real listener of a session socket path over sun_path's 107 bytes (bound through /proc/self/fd/N of its directory) is still adopted across a live re-exec, not bound anew", async () => {
  const dir = tempDir();
  const runDir = join(dir, `run-${"x".repeat(Math.max(10, 120 - dir.length))}`);
  expect(join(runDir, "evolution.sock").length).toBeGreaterThan(107);
  const { run, init, after } = await reexecThrough(dir, runDir, "pass");
  expect(after).not.toContain("not adopted");
  expect(after).toContain("producer sessions adopted across re-exec");
  expect(await hello(join(runDir, "evolution.sock"))).toMatchObject({ ring: expect.any(Number) });
  process.kill(init, "SIGTERM");
  await run.result(30_000);
}, 120_000);
