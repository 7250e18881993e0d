// A signal in the last steps of a shutdown (after the phases, during the sync and the status line) killed a development init.
import { afterEach, expect, test } from "bun:test";
import { closeSync, constants, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { shipped, shippedDir, shippedEnv } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { killLeftovers, tempDir, waitFor, writeJson } from "../pid1/harness.ts";

afterEach(killLeftovers);

test("outside PID 1 a SIGINT after the phases had stopped (during the sync and the status line) killed the init (130, no status line, no 'shutdown complete'); the handlers stay to the end: it is ignored and the init exits 0", async () => {
  const dir = tempDir();
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: join(dir, "state"), heartbeat_ms: 50, heartbeat_log_every: 0, services: [] });
  // stdout: a FIFO filled to the brim and never read (held open here), so the status line waits its
  // 2 s for it after the sync: the window in which the second signal lands.
  const fifo = join(dir, "console");
  if (Bun.spawnSync(["mkfifo", fifo]).exitCode !== 0) throw new Error("mkfifo failed");
  const keep = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  try {
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
    const proc = Bun.spawn(shipped(["boot", ...bootArgs(), "--config", cfg]), { stdin: "ignore", stdout: out, stderr: "pipe", cwd: shippedDir, env: shippedEnv({ JSC_SIGNAL_FOR_GC: "40" }) });
    closeSync(out);
    let log = "";
    const logDone = (async () => {
      const dec = new TextDecoder();
      for await (const c of proc.stderr) log += dec.decode(c, { stream: true });
    })();
    const timer = setTimeout(() => proc.kill("SIGKILL"), 40_000);
    await waitFor(() => log.includes("first heartbeat"), 30_000, "the boot");
    proc.kill("SIGTERM");
    await waitFor(() => log.includes("shutdown: synced") || proc.exitCode !== null, 20_000, "the shutdown's sync");
    proc.kill("SIGINT");
    const code = await proc.exited;
    clearTimeout(timer);
    await logDone;
    expect({ code, signal: proc.signalCode }).toEqual({ code: 0, signal: null });
    expect(log).toContain("shutdown already under way: request ignored reason=SIGINT");
    expect(log).toContain("status line not written to the console");
    expect(log).toContain("shutdown complete status=0");
  } finally {
    closeSync(keep);
  }
}, 60_000);
