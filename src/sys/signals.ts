// Signal numbers, C-side signal counters (they wake the loop through a pipe; never JS in a handler) and dispositions.
import { logger } from "../log.ts";
import { check } from "./lib.ts";
import { native } from "./native.ts";
import { bootNative } from "./native-boot.ts";

/** Linux signal numbers (x86-64 / generic). */
export const Sig = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8,
  SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15,
  SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22,
  SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29,
  SIGPWR: 30, SIGSYS: 31,
} as const;
export type SignalName = keyof typeof Sig;

export function signalNumber(name: string): number | undefined {
  const n = name.toUpperCase().startsWith("SIG") ? name.toUpperCase() : `SIG${name.toUpperCase()}`;
  return (Sig as Record<string, number>)[n];
}

/** glibc's SIGRTMIN and SIGRTMAX as seen by programs (the kernel's 32 and 33 are glibc's own). */
export const SIGRTMIN = 34;
export const SIGRTMAX = 64;

/**
 * A signal given on the command line: a number (1-31 or 34-64; glibc keeps 32 and 33 for itself) or
 * a name with or without SIG (TERM, SIGUSR1, RTMIN+3, RTMAX-1). `allowZero` admits 0 (dumb-init's "drop it").
 * Returns undefined when `spec` names no signal.
 */
export function parseSignal(spec: string, allowZero = false): number | undefined {
  const s = spec.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return (n >= 1 && n <= 31) || (n >= SIGRTMIN && n <= SIGRTMAX) || (allowZero && n === 0) ? n : undefined;
  }
  const rt = /^(?:SIG)?RT(MIN|MAX)(?:([+-])(\d+))?$/i.exec(s);
  if (rt) {
    const base = rt[1]!.toUpperCase() === "MIN" ? SIGRTMIN : SIGRTMAX;
    const n = base + (rt[2] === "-" ? -1 : 1) * Number(rt[3] ?? 0);
    return n >= SIGRTMIN && n <= SIGRTMAX ? n : undefined;
  }
  return signalNumber(s);
}

/**
 * The signal JavaScriptCore's garbage collector suspends threads with: JSC_SIGNAL_FOR_GC read as C's
 * atoi reads it in native/carried-signals.h (leading blanks, a sign, the leading digits: "40x" is 40,
 * "0x28" is 0), SIGPWR when unset or no signal number. The boot and tini mode read it here only: two
 * readers had disagreed with the C side ("40x": SIGPWR for them, 40 for it).
 */
export function gcSignal(value: string | undefined = process.env.JSC_SIGNAL_FOR_GC): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(value ?? "");
  const n = m ? Number(m[1]) : 0;
  return n > 0 && n < 65 ? n : Sig.SIGPWR;
}

export function signalName(num: number): string {
  for (const [k, v] of Object.entries(Sig)) if (v === num) return k;
  return `SIG${num}`;
}

/** Installs a C handler that only counts deliveries of `sig` (read with `signalCount`). */
export function installSignalCounter(sig: number): void {
  check(bootNative().vb_sigcount_install(sig), "sigaction", `signal ${sig}`);
}

/**
 * Counts `sig` when another process sends it and leaves the rest to the handler already there: for
 * the JS engine's GC signal (SIGPWR unless JSC_SIGNAL_FOR_GC moves it), whose own pthread_kill
 * calls must still reach the engine.
 */
export function installSharedSignalCounter(sig: number): void {
  check(bootNative().vb_sigcount_install_shared(sig), "sigaction", `signal ${sig}`);
}

export function signalCount(sig: number): number {
  return bootNative().vb_sigcount_read(sig);
}

/**
 * Takes the deliveries of counted `sig` not taken yet: each is taken once, here or, at a live
 * re-exec, by the exec (raised again for the next image), so none is lost nor acted on twice.
 */
export function takeSignal(sig: number): number {
  return bootNative().vb_sigcount_take(sig);
}

/** Unblocks in this thread the signals an exec into the init carried blocked (pre-init, re-exec): one that waited is counted now. */
export function unblockCarriedSignals(): void {
  check(bootNative().vb_sigcount_unblock_carried(), "pthread_sigmask", "the carried signals");
}

/** A signal set as the two 32-bit halves of a 64-bit mask (bit n-1 = signal n): numbers, not BigInt (about 1 ms of cold code). */
function addToMask(sigs: Iterable<number>, into: Uint32Array, at: number): void {
  for (const s of sigs) into[at + (s > 32 ? 1 : 0)]! |= 1 << ((s - 1) % 32);
}

/**
 * Installs counters for a whole set in one call (one FFI call per signal cost tini mode 2-3 ms of
 * start-up): `plain` as installSignalCounter, `sentOnly` counted only when another process sent them with
 * kill (a real fault of the init's own, SIGSEGV say, still reaches the crash handler), `shared` as
 * installSharedSignalCounter. Returns the signals that could not be installed (every one is tried).
 */
export function installSignalCounters(set: { plain: Iterable<number>; sentOnly: Iterable<number>; shared: Iterable<number> }): number[] {
  const masks = new Uint32Array(6);
  addToMask(set.plain, masks, 0);
  addToMask(set.sentOnly, masks, 2);
  addToMask(set.shared, masks, 4);
  const failed = new Uint32Array(2);
  native.vb_sigcount_install_set(masks, failed);
  const out: number[] = [];
  for (let sig = 1; sig < 65; sig++) if (failed[sig > 32 ? 1 : 0]! & (1 << ((sig - 1) % 32))) out.push(sig);
  return out;
}

const allCounts = new Float64Array(65);

/** Every counter at once (index = signal number): one FFI call instead of one per signal. */
export function signalCounts(): Float64Array {
  native.vb_sigcount_read_all(allCounts);
  return allCounts;
}

let wakeListeners: Set<() => void> | null = null;

/**
 * Calls `fn` from the event loop after a counted signal arrived (then read `signalCount`; several
 * arrivals may come as one call). Event-driven: the C handler writes a byte to a pipe whose read end
 * Bun's loop watches, so an idle init does not wake to poll. Subscribe before installing counters.
 * Returns the unsubscribe function; the pipe stays watched (the process is about to exit then).
 */
export function onCountedSignal(fn: () => void): () => void {
  if (!wakeListeners) {
    const fd = check(native.vb_sigcount_wake_fd(), "pipe2", "signal wake pipe");
    const listeners = (wakeListeners = new Set());
    // The reader starts once the caller's synchronous work is done (tini mode: after the spawn, so
    // its set-up overlaps CMD's start); a signal before then waits in the pipe.
    queueMicrotask(() => {
      void (async () => {
        try {
          for await (const _bytes of Bun.file(fd).stream()) for (const f of [...listeners]) f();
        } catch (e) {
          logger("signals").error("the signal wake pipe failed: counted signals are no longer seen", { error: String(e) });
        }
      })();
    });
  }
  const set = wakeListeners;
  set.add(fn);
  return () => void set.delete(fn);
}

export function ignoreSignal(sig: number): void {
  check(bootNative().vb_signal_disposition(sig, 1), "sigaction(SIG_IGN)", `signal ${sig}`);
}

export function defaultSignal(sig: number): void {
  check(bootNative().vb_signal_disposition(sig, 0), "sigaction(SIG_DFL)", `signal ${sig}`);
}

/** Blocked and ignored signal masks of the calling thread/process (bit n-1 = signal n). */
export function signalState(): { blocked: bigint; ignored: bigint } {
  const out = new BigUint64Array(2);
  check(native.vb_signal_state(out), "sigprocmask");
  return { blocked: out[0]!, ignored: out[1]! };
}
