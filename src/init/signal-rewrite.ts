// Signal specs (numbers or names) and dumb-init's `-r s:r` rewrite table (r = 0 drops the signal).
import { UsageError } from "../errors.ts";
import { parseSignal } from "../sys/signals.ts";

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
