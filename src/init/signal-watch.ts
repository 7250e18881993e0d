// Catches every signal tini mode forwards: C counters with a wake pipe (never JavaScript in a signal handler).
import { logger } from "../log.ts";
import { gcSignal, installSignalCounters, onCountedSignal, Sig, signalCounts, signalName } from "../sys/signals.ts";

const log = logger("init");

// Built with plain loops: Array.from, a Set or an array spread from an iterable are JavaScriptCore
// builtins written in JS, compiled cold at their first call: this module's body took 0.60 ms of
// every `-- CMD` start with them, 0.07 ms without (compiled, in-process, six runs each).

/** The synchronous signals, counted only when sent by another process (installSignalCounters' `sentOnly`). */
const sentOnlyList = [Sig.SIGILL, Sig.SIGTRAP, Sig.SIGABRT, Sig.SIGBUS, Sig.SIGFPE, Sig.SIGSEGV, Sig.SIGSYS];
const sentOnly = new Set<number>();
for (const s of sentOnlyList) sentOnly.add(s);

/**
 * Signals forwarded to the main child (or its process group), as tini and dumb-init forward them:
 * every catchable asynchronous signal, real-time ones (34..64; 32 and 33 are glibc's own) included,
 * and the job-control ones (SIGTSTP, SIGTTIN, SIGTTOU: forwarded, then the init stops itself, as
 * dumb-init does), and the synchronous SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV and SIGSYS
 * when another process sent them with kill (as dumb-init forwards them; a real fault of the init's
 * own still crashes it). Not forwarded: SIGCHLD (the init reaps), SIGKILL and SIGSTOP (cannot be
 * caught), glibc's internal 32 and 33. The JS engine's GC signal (SIGPWR unless JSC_SIGNAL_FOR_GC
 * names another; the pre-init moves it to 40) is shared: forwarded when another process sent it, the
 * engine's own go to the engine.
 */
const forwarded: number[] = [
  Sig.SIGHUP, Sig.SIGINT, Sig.SIGQUIT, Sig.SIGUSR1, Sig.SIGUSR2, Sig.SIGPIPE, Sig.SIGALRM, Sig.SIGTERM,
  Sig.SIGSTKFLT, Sig.SIGCONT, Sig.SIGTSTP, Sig.SIGTTIN, Sig.SIGTTOU, Sig.SIGURG, Sig.SIGXCPU, Sig.SIGXFSZ,
  Sig.SIGVTALRM, Sig.SIGPROF, Sig.SIGWINCH, Sig.SIGIO, Sig.SIGPWR,
];
for (let s = 34; s <= 64; s++) forwarded.push(s);
for (const s of sentOnlyList) forwarded.push(s);
export const forwardedSignals: readonly number[] = forwarded;

/** The signals after which the init stops itself (dumb-init's job control). */
const suspend = new Set<number>();
for (const s of [Sig.SIGTSTP, Sig.SIGTTIN, Sig.SIGTTOU]) suspend.add(s);
export const suspendSignals: ReadonlySet<number> = suspend;

const FALLBACK_POLL_MS = 10;
/** A flood of one counted signal is forwarded at most this many times per look (the rest coalesce). */
const MAX_FORWARD_PER_LOOK = 1024;

/**
 * Calls `onSignal(num)` once per delivery of each forwarded signal (a standard signal the kernel
 * coalesced while pending comes once, as with tini's sigtimedwait; real-time ones are queued). Every
 * signal has a C handler that only counts it and wakes the loop (`process.on` cannot take the
 * real-time ones, SIGPWR or SIGSTKFLT at all), installed and read in one FFI call each: fourteen
 * `process.on` handlers and one call per other signal cost 1.5-4 ms of tini mode's start. Returns
 * `stop` (the C counters stay installed: the process is about to exit) and `now`, which hands over
 * at once what arrived and the loop has not yet seen.
 */
export function watchSignals(onSignal: (num: number) => void): { stop: () => void; now: () => void } {
  const seen = new Float64Array(65);
  let watched: readonly number[] = [];
  const look = () => {
    const counts = signalCounts();
    for (const sig of watched) {
      // Once per delivery: the kernel queues real-time signals, and so does CMD (tini forwards each).
      const times = Math.min(counts[sig]! - seen[sig]!, MAX_FORWARD_PER_LOOK);
      seen[sig] = counts[sig]!;
      for (let i = 0; i < times; i++) onSignal(sig);
    }
  };
  // Watching before any counter is installed: a signal right after its install still wakes the loop.
  let stopCounted: () => void;
  try {
    stopCounted = onCountedSignal(look);
  } catch (e) {
    // No pipe (out of descriptors): poll the counters instead.
    log.warn("no signal wake pipe: polling the signal counters", { every_ms: FALLBACK_POLL_MS, error: String(e) });
    const poll = setInterval(look, FALLBACK_POLL_MS);
    stopCounted = () => clearInterval(poll);
  }
  // The counts before any install: a delivery right after one is never taken for an old one.
  seen.set(signalCounts());
  const gc = gcSignal();
  // SIGPIPE and SIGXFSZ shared: only one another process sent is counted. The kernel's, for the
  // init's own write to a closed stderr (-v) or past the file size limit (`ulimit -f`, a -v log
  // appended to a file), was forwarded and killed CMD.
  const plain: number[] = [];
  const sent: number[] = [];
  const shared: number[] = [];
  for (const num of forwardedSignals) (num === gc || num === Sig.SIGPIPE || num === Sig.SIGXFSZ ? shared : sentOnly.has(num) ? sent : plain).push(num);
  const failed = installSignalCounters({ plain, sentOnly: sent, shared });
  for (const num of failed) log.warn("cannot watch signal; it will not be forwarded", { signal: signalName(num) });
  watched = failed.length === 0 ? forwardedSignals : forwardedSignals.filter((s) => !failed.includes(s));
  return { stop: stopCounted, now: look };
}
