// What the heartbeat keeps about its beats: how many ran, missed, failed and drained, their timings over a sliding window, and the periodic beat log line.
import { describeError } from "../errors.ts";
import { logger } from "../log.ts";
import { Ring, type TickPart, tickParts } from "./beat-stats.ts";
import type { HeartbeatStats } from "./heartbeat-types.ts";

const log = logger("heartbeat");

const WINDOW = 4096;
/** How many of the newest lateness samples the stats carry (a sparkline in `top`). */
const RECENT_LATENESS = 64;

export class BeatTally {
  beats = 0;
  /** Slots skipped because a beat was more than a period late. */
  missed = 0;
  errors = 0;
  /** Evolution submissions the beats drained. */
  drained = 0;
  private readonly jitter = new Ring(WINDOW);
  private readonly cost = new Ring(WINDOW);
  private readonly parts = Object.fromEntries(tickParts.map((p) => [p, new Ring(WINDOW)])) as Record<TickPart, Ring>;

  /** Times the parts of a beat started at `startMs`: `lap(part)` records the time since the last lap as that part's cost and returns the time now. */
  laps(startMs: number): (part: TickPart) => number {
    let t = startMs;
    return (part) => {
      const u = performance.now();
      this.parts[part].push(u - t);
      t = u;
      return t;
    };
  }

  /** A beat threw: counted, and logged the first five times, then every hundredth. */
  failed(n: number, err: unknown): void {
    this.errors++;
    if (this.errors <= 5 || this.errors % 100 === 0) log.error("beat failed", { n, errors: this.errors, error: describeError(err) });
  }

  /** A beat ended: its lateness and its whole cost (ms). */
  ended(lateMs: number, tickMs: number): void {
    this.beats++;
    this.jitter.push(lateMs);
    this.cost.push(tickMs);
  }

  /** The periodic beat line: beat `n`, lateness p50/p99/max and tick mean/max over the window, missed slots, the active interrupts. */
  logLine(n: number, periodMs: number, active: string): void {
    const j = this.jitter.percentiles();
    const c = this.cost.percentiles();
    log.info("beat", {
      n,
      period_ms: periodMs,
      jitter_ms: `${j.p50.toFixed(3)}/${j.p99.toFixed(3)}/${j.max.toFixed(3)}`,
      tick_ms: `${this.cost.mean().toFixed(3)}/${c.max.toFixed(3)}`,
      missed: this.missed,
      active,
    });
  }

  /** The timings part of the heartbeat's stats. */
  timings(): Pick<HeartbeatStats, "jitterMs" | "latenessRecentMs" | "tickMs" | "partsMs"> {
    return {
      jitterMs: this.jitter.percentiles(),
      latenessRecentMs: this.jitter.recent(RECENT_LATENESS),
      tickMs: this.cost.percentiles(),
      partsMs: Object.fromEntries(tickParts.map((p) => [p, this.parts[p].mean()])) as Record<TickPart, number>,
    };
  }
}
