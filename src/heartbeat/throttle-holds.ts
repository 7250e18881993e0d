// Which interrupts hold each service's throttle, until when, and the limit that applies: the strictest of theirs.

/** A throttle's limit: the service runs `duty` of each `periodMs`. */
export interface ThrottleLimit {
  duty: number;
  periodMs: number;
}

interface Hold extends ThrottleLimit {
  sinceMs: number;
  holdMs: number;
  /** The interrupt cleared: the hold ends once its hold time is over. */
  releasePending: boolean;
}

/** What ending holds changed for one service (`after` null: no hold is left, the throttle is released). */
export interface HoldsEnded {
  service: string;
  ended: { interrupt: string; heldMs: number }[];
  before: ThrottleLimit;
  after: ThrottleLimit | null;
  /** Interrupts still holding it. */
  remaining: string[];
}

/** The stricter limit: the smaller share of the CPU (on a tie, the shorter period). */
function strictest(holds: Iterable<ThrottleLimit>): ThrottleLimit | null {
  let best: ThrottleLimit | null = null;
  for (const h of holds) if (!best || h.duty < best.duty || (h.duty === best.duty && h.periodMs < best.periodMs)) best = h;
  return best ? { duty: best.duty, periodMs: best.periodMs } : null;
}

export const sameLimit = (a: ThrottleLimit | null, b: ThrottleLimit | null) => a !== null && b !== null && a.duty === b.duty && a.periodMs === b.periodMs;

/**
 * The throttle table was keyed by service with one interrupt each: a second interrupt's hold replaced
 * the first's, so its clear (hold 0) released a throttle the first, still raised, held for 60 s.
 * Each service now has the set of interrupts holding it; it is released when the last one's hold ends.
 */
export class ThrottleHolds {
  private readonly byService = new Map<string, Map<string, Hold>>();

  /** Adds `interrupt`'s hold on `service`, or restarts it; the limit before (null: not held) and after. */
  hold(service: string, interrupt: string, limit: ThrottleLimit, holdMs: number, nowMs: number): { before: ThrottleLimit | null; after: ThrottleLimit } {
    let holds = this.byService.get(service);
    if (!holds) this.byService.set(service, (holds = new Map()));
    const before = strictest(holds.values());
    holds.set(interrupt, { duty: limit.duty, periodMs: limit.periodMs, sinceMs: nowMs, holdMs, releasePending: false });
    return { before, after: strictest(holds.values())! };
  }

  has(service: string): boolean {
    return this.byService.has(service);
  }

  get size(): number {
    return this.byService.size;
  }

  services(): string[] {
    return [...this.byService.keys()];
  }

  /** The interrupts holding `service`. */
  holders(service: string): string[] {
    return [...(this.byService.get(service)?.keys() ?? [])];
  }

  /** `interrupt` cleared: each of its holds ends once its hold time is over. */
  cleared(interrupt: string): void {
    for (const holds of this.byService.values()) {
      const h = holds.get(interrupt);
      if (h) h.releasePending = true;
    }
  }

  /** Forgets every hold on `service` (its throttle ended); returns the interrupts that still wanted it (not cleared). */
  drop(service: string): string[] {
    const holds = this.byService.get(service);
    this.byService.delete(service);
    return holds ? [...holds].filter(([, h]) => !h.releasePending).map(([i]) => i) : [];
  }

  /** Ends the holds whose interrupt cleared and whose hold time is over; returns what changed, by service. */
  endDue(nowMs: number): HoldsEnded[] {
    const out: HoldsEnded[] = [];
    for (const [service, holds] of this.byService) {
      const before = strictest(holds.values())!;
      const ended: HoldsEnded["ended"] = [];
      for (const [interrupt, h] of holds) {
        if (!h.releasePending || nowMs - h.sinceMs < h.holdMs) continue;
        holds.delete(interrupt);
        ended.push({ interrupt, heldMs: nowMs - h.sinceMs });
      }
      if (ended.length === 0) continue;
      if (holds.size === 0) this.byService.delete(service);
      out.push({ service, ended, before, after: strictest(holds.values()), remaining: [...holds.keys()] });
    }
    return out;
  }
}
