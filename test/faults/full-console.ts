// Boots the shipped executable with its stdout (the console) on a FIFO filled to the brim and never read: the set-up of the full-console shutdown tests.
import { closeSync, constants, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { shipped, shippedDir, shippedEnv } from "../harness/artifact.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { tempDir, writeJson } from "../pid1/harness.ts";

export interface FullConsoleBoot {
  proc: Bun.Subprocess<"ignore", number, "pipe">;
  /** stderr (the init's log) received so far. */
  log: () => string;
  /** Settles once stderr has ended (all of the log received). */
  logDone: Promise<void>;
  /** Closes this test's hold on the FIFO (call from a `finally`). */
  close: () => void;
}

/**
 * Boots with no services (`pid1`: as PID 1 under unshare). The FIFO is held open for reading by this
 * test (O_RDWR) and never read, and filled before the boot: the init's stdout is a blocking writer
 * on it, as a console stopped by XOFF or a host not reading, so the shutdown's status line waits its
 * 2 s for it.
 */
export function bootOnFullConsole(opts: { pid1?: boolean } = {}): FullConsoleBoot {
  const dir = tempDir();
  const cfg = writeJson(dir, "config.json", { run_dir: join(dir, "run"), state_dir: join(dir, "state"), heartbeat_ms: 50, heartbeat_log_every: 0, services: [] });
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
    const proc = Bun.spawn(shipped(["boot", ...bootArgs(), "--config", cfg], opts), { stdin: "ignore", stdout: out, stderr: "pipe", cwd: shippedDir, env: shippedEnv({ JSC_SIGNAL_FOR_GC: "40" }) });
    closeSync(out);
    let log = "";
    const logDone = (async () => {
      const dec = new TextDecoder();
      for await (const c of proc.stderr) log += dec.decode(c, { stream: true });
    })();
    return { proc, log: () => log, logDone, close: () => closeSync(keep) };
  } catch (e) {
    closeSync(keep);
    throw e;
  }
}
