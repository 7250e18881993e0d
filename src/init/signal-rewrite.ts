// Signal specs (numbers or names) and dumb-init's `-r s:r` rewrite table (r = 0 drops the signal).
import { UsageError } from "../errors.ts";
import { signalNumber } from "../sys/signals.ts";

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

/** Parses one signal option value or throws a UsageError naming the option. */
export function requireSignal(option: string, spec: string | undefined, allowZero = false): number {
  const n = spec === undefined ? undefined : parseSignal(spec, allowZero);
  if (n === undefined) throw new UsageError(`${option} needs a signal (a number 1-31 or 34-64, or a name such as TERM), got ${JSON.stringify(spec ?? "")}`);
  return n;
}

/** Received signal -> signal to forward (0: forward nothing). Signals not in the map go through unchanged. */
export type RewriteMap = ReadonlyMap<number, number>;

/** Adds `s:r` (dumb-init's --rewrite syntax) to `map`; a later rewrite of the same s replaces the earlier. */
export function addRewrite(map: Map<number, number>, spec: string | undefined): void {
  const parts = (spec ?? "").split(":");
  if (parts.length !== 2) throw new UsageError(`--rewrite needs s:r (e.g. 15:2 or TERM:INT, r = 0 drops s), got ${JSON.stringify(spec ?? "")}`);
  const from = requireSignal("--rewrite (the signal before the colon)", parts[0]);
  const to = requireSignal("--rewrite (the signal after the colon)", parts[1], true);
  map.set(from, to);
}

export function rewriteSignal(map: RewriteMap, sig: number): number {
  return map.get(sig) ?? sig;
}
