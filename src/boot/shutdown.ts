// Boot phase "shutdown": stop services in reverse order, end the rest, flush, sync, reboot(2) or exit.
import type { Config } from "../config/schema.ts";
import { describeError } from "../errors.ts";
import { drainDescendants } from "../init/drain.ts";
import type { Reaper } from "../init/reaper.ts";
import { disableKmsg, logger } from "../log.ts";
import { reboot, sync, type RebootMode } from "../sys/machine.ts";
import type { Supervisor } from "../supervisor/supervisor.ts";
import type { BootContext } from "./early-setup.ts";
import type { ShutdownRequest } from "./shutdown-signals.ts";

const log = logger("shutdown");

/** Something to close before the machine goes down (heartbeat, journal, checkpoint), in order. */
export interface Closer {
  name: string;
  close(): Promise<void> | void;
}

export interface ShutdownParts {
  supervisor: Supervisor | null;
  reaper: Reaper;
  /** Closed before services stop (e.g. the heartbeat, so it does not act on stopping services). */
  before: Closer[];
  /** Closed after every process is gone (journal flush, checkpoint). */
  after: Closer[];
}

async function closeAll(list: Closer[]): Promise<void> {
  for (const c of list) {
    try {
      await c.close();
      log.info("closed", { part: c.name });
    } catch (e) {
      log.error("close failed", { part: c.name, error: describeError(e) });
    }
  }
}

/**
 * Runs the ordered shutdown. As PID 1 it ends with reboot(2) and never returns (if reboot fails it
 * logs and waits forever: PID 1 must not exit). Otherwise resolves to the exit status.
 */
export async function shutdown(ctx: BootContext, config: Config, req: ShutdownRequest, parts: ShutdownParts, status = 0): Promise<number> {
  const mode: RebootMode = req.mode ?? config.shutdown;
  log.info("phase shutdown", { reason: req.reason, mode: ctx.pid1 ? mode : "exit" });
  parts.reaper.start(); // idempotent; a boot that failed early never started it
  await closeAll(parts.before);
  if (parts.supervisor) {
    await parts.supervisor.stopAll();
    log.info("services stopped", { order: parts.supervisor.stopLog.join(",") });
  }
  await drainDescendants(parts.reaper, { graceMs: config.grace_ms, killAll: ctx.pid1 });
  await closeAll(parts.after);
  sync();
  log.info("synced");
  parts.reaper.stop();
  if (!ctx.pid1) {
    log.info("shutdown complete", { status });
    return status;
  }
  log.info(`${mode} now`);
  disableKmsg();
  try {
    reboot(mode);
  } catch (e) {
    log.error("reboot(2) failed; staying up", { error: describeError(e) });
  }
  return new Promise<number>(() => {
    setInterval(() => parts.reaper.reapNow(), 1000);
  });
}
