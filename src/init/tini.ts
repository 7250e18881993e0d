// tini-style mode: run one command as the main child, forward signals, reap everything, exit with its status.
import { logger } from "../log.ts";
import { getpid, isatty, kill, setSubreaper, spawn, type Reaped } from "../sys/process.ts";
import { ignoreSignal, installSignalCounter, Sig, signalCount, signalName, signalState } from "../sys/signals.ts";
import { drainDescendants } from "./drain.ts";
import { Reaper } from "./reaper.ts";

const log = logger("init");

/**
 * Signals forwarded to the main child (or its process group), as tini forwards them: every catchable
 * asynchronous signal, real-time ones included. Not forwarded: SIGCHLD (the init reaps), SIGKILL and
 * SIGSTOP (cannot be caught), the synchronous SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV and
 * SIGSYS (they concern the init itself), SIGTTIN and SIGTTOU (ignored once the terminal is handed
 * over), glibc's internal 32 and 33, and the JS engine's GC signal (SIGPWR unless JSC_SIGNAL_FOR_GC
 * names another; the pre-init moves it to 40).
 */
export const forwardedSignals: readonly number[] = [
  Sig.SIGHUP, Sig.SIGINT, Sig.SIGQUIT, Sig.SIGUSR1, Sig.SIGUSR2, Sig.SIGPIPE, Sig.SIGALRM, Sig.SIGTERM,
  Sig.SIGSTKFLT, Sig.SIGCONT, Sig.SIGTSTP, Sig.SIGURG, Sig.SIGXCPU, Sig.SIGXFSZ, Sig.SIGVTALRM,
  Sig.SIGPROF, Sig.SIGWINCH, Sig.SIGIO, Sig.SIGPWR,
  ...Array.from({ length: 31 }, (_, i) => 34 + i),
];

/** Signals Bun's `process.on` cannot take: a C handler counts them and the loop polls the counters. */
const countedSignals = new Set<number>([Sig.SIGSTKFLT, Sig.SIGPWR, ...Array.from({ length: 31 }, (_, i) => 34 + i)]);
const COUNTER_POLL_MS = 10;

/** The signal JavaScriptCore's garbage collector uses to suspend threads (never ours to take). */
function gcSignal(): number {
  const n = Number(process.env.JSC_SIGNAL_FOR_GC ?? "");
  return Number.isInteger(n) && n > 0 && n < 65 ? n : Sig.SIGPWR;
}

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
  // What the caller ignored stays ignored in the child (nohup). SIGPIPE and SIGXFSZ are left out:
  // Bun ignores them for itself (as Node does), so whether the caller did cannot be told; the child
  // gets them back by default.
  let keepIgnored = 0n;
  try {
    keepIgnored = signalState().ignored & ~(1n << BigInt(Sig.SIGPIPE - 1)) & ~(1n << BigInt(Sig.SIGXFSZ - 1));
  } catch (e) {
    log.warn("could not read the signal dispositions", { error: String(e) });
  }
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
  const counted: Array<{ sig: number; seen: number }> = [];
  const gc = gcSignal();
  for (const num of forwardedSignals) {
    if (num === gc) continue;
    if (countedSignals.has(num)) {
      try {
        installSignalCounter(num);
        counted.push({ sig: num, seen: signalCount(num) });
      } catch (e) {
        log.warn("cannot watch signal; it will not be forwarded", { signal: signalName(num), error: String(e) });
      }
      continue;
    }
    const name = signalName(num);
    const h = () => forward(num, name);
    process.on(name as NodeJS.Signals, h);
    handlers.push([name, h]);
  }
  // One delivery or several coalesced into one, as the kernel does for standard signals.
  const poll = counted.length
    ? setInterval(() => {
        for (const c of counted) {
          const n = signalCount(c.sig);
          if (n !== c.seen) {
            c.seen = n;
            forward(c.sig, signalName(c.sig));
          }
        }
      }, COUNTER_POLL_MS)
    : null;
  const cleanup = () => {
    for (const [name, h] of handlers) process.off(name, h);
    if (poll) clearInterval(poll);
    reaper.stop();
  };
  try {
    child = spawn({ argv: opts.argv, newProcessGroup: true, foreground: isatty(0), keepIgnored });
  } catch (e) {
    cleanup();
    throw e;
  }
  if (isatty(0)) {
    // The terminal now belongs to the child's group: a background read or write by the init must
    // not stop it.
    try {
      ignoreSignal(Sig.SIGTTIN);
      ignoreSignal(Sig.SIGTTOU);
    } catch (e) {
      log.warn("could not ignore SIGTTIN/SIGTTOU", { error: String(e) });
    }
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
