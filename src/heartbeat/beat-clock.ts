// Waits for absolute due times without ever waking early: coarse timer, then a futex wait (or the sleeper thread), then a spin check.
import type { BeatPriority } from "./beat-priority.ts";
import type { BeatSleeper } from "./beat-sleeper.ts";

const now = () => performance.now();

/**
 * The guard thread raises the beat thread this long before the coarse timer is due (Bun's timer
 * fires up to ~1 ms early, and a wake before its time is ignored but for this margin).
 */
const GUARD_LEAD_MS = 0.5;
/**
 * If the beat has not started this long after the guard's due time (the thread is in a long
 * callback), the guard lowers the thread: that callback's rest runs SCHED_OTHER, as before the raise.
 */
const GUARD_HOLD_SLACK_MS = 3;
const futexWord = new Int32Array(new SharedArrayBuffer(4));

/**
 * Bun's setTimeout can fire up to ~1 ms before its due time and is ~1 ms coarse; Atomics.wait (a futex
 * with a timeout) is never early and is late by ~0.1 ms. The clock sleeps with setTimeout until
 * `guardMs` before the due time (the event loop stays free), then blocks in Atomics.wait for the
 * rest, then spins the last microseconds if the wait returned a hair early in performance.now() terms.
 * With a `sleeper` (wake: "sleeper"), the precise part is a thread sleeping in
 * clock_nanosleep(TIMER_ABSTIME) that notifies this one: the due time is handed over at `at()`.
 * With a `priority`, the thread is SCHED_FIFO from the precise wait through `fn`, and from
 * GUARD_LEAD_MS before the coarse timer is due when its guard thread runs (beat-priority.ts).
 */
export class BeatClock {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private immediate: ReturnType<typeof setImmediate> | null = null;
  /** Total ms spent blocked in the precise phase (cost of precision). */
  preciseMs = 0;

  constructor(
    public guardMs = 2,
    public sleeper: BeatSleeper | null = null,
    public priority: BeatPriority | null = null,
  ) {}

  /** Calls `fn(startMs)` at `dueMs` (performance.now() time) or as soon after as possible. */
  at(dueMs: number, fn: (startMs: number) => void): void {
    this.clearTimers();
    const coarse = dueMs - now() - this.guardMs;
    const req = this.sleeper?.request(dueMs) ?? 0;
    const fire = () => {
      this.timer = null;
      this.immediate = null;
      const t0 = now();
      this.priority?.disarm();
      const rt = this.priority?.raise() ?? false;
      try {
        const rest = dueMs - now();
        if (req !== 0) this.sleeper!.wait(req, dueMs);
        else if (rest > 0) Atomics.wait(futexWord, 0, 0, rest);
        let t = now();
        while (t < dueMs) t = now();
        this.preciseMs += t - t0;
        fn(t);
      } finally {
        this.priority?.leave(rt);
      }
    };
    // Already due (beat 1, a late beat): the next turn of the event loop, not a 0 ms timer, which
    // Bun holds for about 1 ms (beat 1 came 1.1 ms after the heartbeat was ready).
    if (dueMs <= now()) this.immediate = setImmediate(fire);
    else {
      this.timer = setTimeout(fire, coarse > 0 ? coarse : 0);
      const raiseAt = dueMs - this.guardMs - GUARD_LEAD_MS;
      // The guard's wake starts the window when the timer has not: Bun's timer was seen 3-5 ms late
      // under load. A wake read late (the pipe's byte of an earlier beat) is not this beat's.
      this.priority?.armIn(raiseAt - now(), this.guardMs + GUARD_LEAD_MS + GUARD_HOLD_SLACK_MS, () => {
        if (this.timer === null || now() < raiseAt - GUARD_LEAD_MS) return false;
        clearTimeout(this.timer);
        fire();
        return true;
      });
    }
  }

  /** Cancels the pending call; the guard thread ends (the beat thread is lowered if it raised it). */
  cancel(): void {
    this.clearTimers();
    this.priority?.stopGuard();
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }
}
