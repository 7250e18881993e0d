// Ends every remaining descendant: SIGTERM, wait (event-driven, bounded), SIGKILL, wait.
import { logger } from "../log.ts";
import { getpid, hasChildren, kill } from "../sys/process.ts";
import { Sig } from "../sys/signals.ts";
import { descendants } from "./proc-tree.ts";
import type { Reaper } from "./reaper.ts";

const log = logger("drain");

/**
 * Resolves when this process has no live descendant left, re-checking after every reaped child
 * (the last descendant to exit is always our own child, so each exit we could be waiting for
 * arrives as a SIGCHLD). Resolves false if `ms` passes first.
 */
export function waitNoDescendants(reaper: Reaper, ms: number): Promise<boolean> {
  const self = getpid();
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      unsubscribe();
      clearTimeout(timer);
      resolve(ok);
    };
    const check = () => {
      reaper.reapNow();
      if (!noDescendants(self)) return;
      // The last one may have exited between the reap and the look, leaving zombies (it, and its
      // children it made ours): with nothing alive below us no more can come, so one more reap takes
      // them all (the init exited with one unreaped).
      reaper.reapNow();
      finish(true);
    };
    const unsubscribe = reaper.onReap(() => queueMicrotask(check));
    const timer = setTimeout(() => {
      reaper.reapNow();
      const none = noDescendants(self);
      if (none) reaper.reapNow();
      finish(none);
    }, ms);
    check();
  });
}

/** No live descendant: no child at all (cheap, the usual case), else none found under /proc. */
function noDescendants(self: number): boolean {
  return !hasChildren() || descendants(self).length === 0;
}

function signalAll(sig: number, useKillAll: boolean): number {
  const self = getpid();
  if (useKillAll) {
    // As PID 1: kill(-1) reaches every process but ourselves (in this PID namespace).
    try {
      kill(-1, sig);
    } catch {
      /* nothing left */
    }
    return descendants(self).length;
  }
  let n = 0;
  for (const p of descendants(self)) {
    try {
      if (kill(p.pid, sig)) n++;
    } catch {
      /* raced with its exit */
    }
  }
  return n;
}

/**
 * Stops all remaining descendants: SIGTERM, up to `graceMs` for them to go, then SIGKILL and up to
 * `killWaitMs` more. `killAll` uses kill(-1) (PID 1 only). Returns how many were still there.
 */
export async function drainDescendants(reaper: Reaper, opts: { graceMs: number; killWaitMs?: number; killAll?: boolean }): Promise<number> {
  const self = getpid();
  reaper.reapNow();
  if (!hasChildren()) return 0;
  const left = descendants(self).length;
  if (left === 0) return 0;
  log.info("stopping remaining processes", { count: left, signal: "SIGTERM", grace_ms: opts.graceMs });
  signalAll(Sig.SIGTERM, opts.killAll ?? false);
  signalAll(Sig.SIGCONT, opts.killAll ?? false);
  if (await waitNoDescendants(reaper, opts.graceMs)) return left;
  const stubborn = descendants(self);
  log.warn("processes ignored SIGTERM; sending SIGKILL", { count: stubborn.length, pids: stubborn.slice(0, 16).map((p) => p.pid).join(",") });
  signalAll(Sig.SIGKILL, opts.killAll ?? false);
  if (!(await waitNoDescendants(reaper, opts.killWaitMs ?? 2000))) {
    log.error("processes survived SIGKILL (uninterruptible?)", { count: descendants(self).length });
  }
  return left;
}
