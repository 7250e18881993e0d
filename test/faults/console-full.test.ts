// The status line of the shutdown, written to a console that does not drain: bounded, as the shutdown is.
import { afterEach, expect, test } from "bun:test";
import { closeSync, constants, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { shipped, shippedDir, shippedEnv } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { childrenOf, killLeftovers, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("as PID 1, a console (stdout) that does not drain held the shutdown forever at the status line, never reaching reboot(2); the line is given up after its 2 s and the machine powers off", async () => {
  const dir = tempDir();
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: join(dir, "state"), heartbeat_ms: 50, heartbeat_log_every: 0, services: [] });
  // A FIFO held open for reading by this test (O_RDWR) and never read, filled to the brim: the
  // init's stdout is a blocking writer on it, as a console stopped by XOFF or a host not reading.
  const fifo = join(dir, "console");
  if (Bun.spawnSync(["mkfifo", fifo]).exitCode !== 0) throw new Error("mkfifo failed");
  const keep = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  const filler = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  const chunk = new Uint8Array(4096).fill(0x2e);
  for (;;) {
    try {
      writeSync(filler, chunk);
    } catch {
      break;
    }
  }
  closeSync(filler);
  const out = openSync(fifo, constants.O_WRONLY);
  const proc = Bun.spawn(shipped(["boot", ...bootArgs(), "--config", cfg], { pid1: true }), { stdin: "ignore", stdout: out, stderr: "pipe", cwd: shippedDir, env: shippedEnv({ JSC_SIGNAL_FOR_GC: "40" }) });
  closeSync(out);
  let log = "";
  const logDone = (async () => {
    const dec = new TextDecoder();
    for await (const c of proc.stderr) log += dec.decode(c, { stream: true });
  })();
  try {
    let init = 0;
    await waitFor(() => (init = childrenOf(proc.pid)[0] ?? 0) > 0, 10_000, "the namespace's PID 1");
    await waitFor(() => log.includes("first heartbeat"), 30_000, "the boot");
    process.kill(init, "SIGTERM");
    const timer = setTimeout(() => {
      for (const c of childrenOf(proc.pid)) process.kill(c, "SIGKILL");
    }, 20_000);
    const code = await proc.exited;
    clearTimeout(timer);
    await logDone;
    expect(log).toContain("status line not written to the console");
    expect(log).toContain("poweroff now");
    // reboot(2) in a PID namespace: its init dies of SIGINT for a power-off (unshare 130).
    expect(code).toBe(130);
  } finally {
    closeSync(keep);
  }
}, 60_000);
