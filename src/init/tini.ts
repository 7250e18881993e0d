// tini-style mode: run one command as the main child, forward signals, reap everything, exit with its status.
import { ExecError } from "../errors.ts";
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
  let child: number;
  try {
    child = spawn({ argv: opts.argv, newProcessGroup: true, foreground: isatty(0) });
  } catch (e) {
    reaper.stop();
    if (e instanceof ExecError) throw e;
    throw e;
  }
  let mainExit: Reaped | null = null;
  const exited = new Promise<Reaped>((resolve) => {
    reaper.watch(child, (r) => {
      mainExit = r;
      resolve(r);
    });
  });
  log.info("ready", { mode: pid1 ? "pid1" : "subreaper", child, command: opts.argv[0] });

  const handlers: Array<[string, () => void]> = [];
  for (const name of forwardedSignals) {
    const num = Sig[name];
    const h = () => {
      if (mainExit) return;
      try {
        kill(opts.group ? -child : child, num);
      } catch (e) {
        log.warn("could not forward signal", { signal: name, error: String(e) });
      }
    };
    process.on(name, h);
    handlers.push([name, h]);
  }
  reaper.reapNow(); // the child may already be gone
  const r = await exited;
  log.info("main child exited", { pid: child, status: r.status, ...(r.signal !== null ? { signal: r.signal } : {}) });
  await drainDescendants(reaper, { graceMs: opts.graceMs, killAll: pid1 });
  for (const [name, h] of handlers) process.off(name, h);
  reaper.stop();
  return r.status;
}
