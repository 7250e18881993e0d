// Ctrl-C during a command's long write: SIGINT, SIGTERM and SIGHUP counted in C while it runs, seen between chunks, then re-raised.
import { kill } from "./process.ts";
import { defaultSignal, installSignalCounter, Sig, signalCount, signalState } from "./signals.ts";

const STOP_SIGNALS: readonly number[] = [Sig.SIGINT, Sig.SIGTERM, Sig.SIGHUP];

/** Thrown by `throwIfInterrupted` inside `interruptible` work: the files being written are discarded on the way out. */
export class Interrupted extends Error {
  constructor(readonly signal: number) {
    super(`interrupted by signal ${signal}`);
    this.name = "Interrupted";
  }
}

/** Counts at the start of the work in progress (null: none, and `throwIfInterrupted` does nothing). */
let armed: Map<number, number> | null = null;

/** The first stop signal that arrived since `interruptible` began, or null. */
function arrived(): number | null {
  if (!armed) return null;
  for (const [sig, before] of armed) if (signalCount(sig) > before) return sig;
  return null;
}

/** Between two chunks of a copy or a hash: throws `Interrupted` once a stop signal has arrived during `interruptible` work. */
export function throwIfInterrupted(): void {
  const sig = arrived();
  if (sig !== null) throw new Interrupted(sig);
}

/**
 * Runs a command's synchronous work (pack, unpack, an initramfs write) with the stop signals only
 * counted, so that the copy loops see one (`throwIfInterrupted`) and the atomic write discards its
 * temporary files: killed at once by SIGINT, a pack left its partial `out.tmp-<pid>` (as large as the
 * model) behind. Afterwards the default dispositions are back, and a signal that arrived is raised
 * again, so the command ends by it (a shell sees 130 for Ctrl-C). A signal that was ignored (nohup, a
 * background job) stays ignored. For a command's process only: it resets these signals to SIG_DFL.
 */
export function interruptible<T>(work: () => T): T {
  const ignored = signalState().ignored;
  armed = new Map();
  for (const sig of STOP_SIGNALS) {
    if ((ignored >> BigInt(sig - 1)) & 1n) continue;
    installSignalCounter(sig);
    armed.set(sig, signalCount(sig));
  }
  try {
    return work();
  } finally {
    const sig = arrived();
    for (const s of armed.keys()) defaultSignal(s);
    armed = null;
    if (sig !== null) {
      kill(process.pid, sig);
      process.exit(128 + sig); // not reached: the signal ended the process
    }
  }
}
