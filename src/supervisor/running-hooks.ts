// A service's pre_start, post_stop and exec probes while they run: their pids and timeouts, handed to the next image at a live re-exec.

export type HookKind = "pre_start" | "post_stop" | "probe";

/**
 * A command running at the handoff: the next image waits for a pre_start or post_stop (the rest of
 * its timeout) instead of running another, and ends a probe (it probes again itself).
 */
export interface HookHandover {
  kind: HookKind;
  pid: number;
  timeoutLeftMs: number;
}

/** Gets the pid of the command just spawned (or adopted) and how long its timeout runs from now. */
export type OnHookSpawn = (pid: number, timeoutMs: number) => void;

export class RunningHooks {
  private readonly running = new Map<number, { kind: HookKind; due: number }>();

  /** Tracks the command `start` spawns, from its spawn (`start` calls onSpawn) to its end. */
  track<T>(kind: HookKind, start: (onSpawn: OnHookSpawn) => Promise<T>): Promise<T> {
    const mine: number[] = [];
    const p = start((pid, timeoutMs) => {
      mine.push(pid);
      this.running.set(pid, { kind, due: performance.now() + timeoutMs });
    });
    return p.finally(() => {
      for (const pid of mine) this.running.delete(pid);
    });
  }

  /** A pre_start whose run ended (it is being killed, its result ignored): not handed over. Returns the pids forgotten. */
  forget(kind: HookKind): number[] {
    const gone: number[] = [];
    for (const [pid, h] of this.running) {
      if (h.kind !== kind) continue;
      this.running.delete(pid);
      gone.push(pid);
    }
    return gone;
  }

  /** For the next image: each running one, with what is left of its timeout. */
  handover(now: number): HookHandover[] {
    return [...this.running].map(([pid, h]) => ({ kind: h.kind, pid, timeoutLeftMs: Math.max(0, h.due - now) }));
  }
}
