// tini-style mode: run one command as the main child, forward signals, reap everything, exit with its status.
import { logger } from "../log.ts";
import { getpid, isatty, kill, setSubreaper, spawn, type Reaped } from "../sys/process.ts";
import { Sig } from "../sys/signals.ts";
import { drainDescendants } from "./drain.ts";
import { Reaper } from "./reaper.ts";

const log = logger("init");

/** Signals forwarded to the main child (or its process group). */
export const forwardedSignals = ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"] as const;

export interface TiniOptions {
  argv: string[];
  /** Forward signals to the child's whole process group instead of the child alone. */
  group: boolean;
  /** Bound on waiting for the remaining descendants after the main child exits (then SIGKILL). */
  graceMs: number;
}

/** Runs the command and resolves to the exit status to use (child's code, 128+N if signalled). */
export async function runTini(opts: TiniOptions): Promise<number> {
  const pid1 = getpid() === 1;
  if (!pid1) setSubreaper(true);
  const reaper = new Reaper().start();
  // Handlers go in before the child exists: a signal that arrives in between is queued, not lost
  // (and as PID 1 a signal without a handler would be dropped by the kernel).
  let child = 0;
  let mainExit: Reaped | null = null;
  const pending: number[] = [];
  const forward = (num: number, name: string) => {
    if (mainExit) return;
    if (child === 0) {
      pending.push(num);
      return;
    }
    try {
      kill(opts.group ? -child : child, num);
    } catch (e) {
      log.warn("could not forward signal", { signal: name, error: String(e) });
    }
  };
  const handlers: Array<[string, () => void]> = [];
  for (const name of forwardedSignals) {
    const h = () => forward(Sig[name], name);
    process.on(name, h);
    handlers.push([name, h]);
  }
  const cleanup = () => {
    for (const [name, h] of handlers) process.off(name, h);
    reaper.stop();
  };
  try {
    child = spawn({ argv: opts.argv, newProcessGroup: true, foreground: isatty(0) });
  } catch (e) {
    cleanup();
    throw e;
  }
  const exited = new Promise<Reaped>((resolve) => {
    reaper.watch(child, (r) => {
      mainExit = r;
      resolve(r);
    });
  });
  log.info("ready", { mode: pid1 ? "pid1" : "subreaper", child, command: opts.argv[0] });
  for (const num of pending.splice(0)) forward(num, String(num));
  reaper.reapNow(); // the child may already be gone
  const r = await exited;
  log.info("main child exited", { pid: child, status: r.status, ...(r.signal !== null ? { signal: r.signal } : {}) });
  await drainDescendants(reaper, { graceMs: opts.graceMs, killAll: pid1 });
  cleanup();
  return r.status;
}
